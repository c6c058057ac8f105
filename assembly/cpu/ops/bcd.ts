// Decimal adjust: DAA DAS AAA AAS AAM AAD, following the SDM pseudocode.
import { CF, AF, OF, EAX, reg8, setReg8, reg16, setReg16 } from "../../state";
import { getFlags, setFlags, lazyResult } from "../flags";
import { raiseNoCode, DE } from "../../fault";
import { divu64, divQuot, divRem } from "../../portable";

export function daa(): void {
  const f = getFlags();
  const oldAl = reg8(0);
  const oldCf = (f & CF) != 0;
  let al = oldAl, cf = false, af = false;
  if ((al & 0xf) > 9 || (f & AF) != 0) { al = (al + 6) & 0xff; cf = oldCf || oldAl + 6 > 0xff; af = true; }
  if (oldAl > 0x99 || oldCf) { al = (al + 0x60) & 0xff; cf = true; }
  setReg8(0, al);
  // OF is undefined; computed as QEMU does (it leaves it from the add-like result: 0 here).
  lazyResult(1, al, (cf ? CF : 0) | (af ? AF : 0), CF | AF | OF);
}

export function das(): void {
  const f = getFlags();
  const oldAl = reg8(0);
  const oldCf = (f & CF) != 0;
  let al = oldAl, cf = false, af = false;
  if ((al & 0xf) > 9 || (f & AF) != 0) { cf = oldCf || al < 6; al = (al - 6) & 0xff; af = true; }
  if (oldAl > 0x99 || oldCf) { al = (al - 0x60) & 0xff; cf = true; }
  setReg8(0, al);
  lazyResult(1, al, (cf ? CF : 0) | (af ? AF : 0), CF | AF | OF);
}

/** AAA (sub=false) and AAS (sub=true). */
export function aaaAas(sub: bool): void {
  const f = getFlags();
  let ax = reg16(EAX);
  const adjust = (ax & 0xf) > 9 || (f & AF) != 0;
  if (adjust) {
    if (sub) { ax = i32(ax - 6) & 0xffff; ax = ((ax - 0x100) & 0xff00) | (ax & 0xff); }
    else { ax = (ax + 0x106) & 0xffff; }
  }
  ax = (ax & 0xff0f);
  setReg16(EAX, ax);
  // OF, SF, ZF, PF are undefined; like QEMU they are left unchanged.
  setFlags((f & ~(CF | AF)) | (adjust ? CF | AF : 0));
}

export function aam(base: i32): void {
  if (base == 0) { raiseNoCode(DE); return; }
  divu64(0, reg8(0), base);
  const r = divRem & 0xff;
  setReg16(EAX, ((divQuot & 0xff) << 8) | r);
  lazyResult(1, r, 0, CF | AF | OF);
}

export function aad(base: i32): void {
  const al = reg8(0), ah = reg8(4);
  const r = (al + ah * base) & 0xff;
  setReg16(EAX, r);
  lazyResult(1, r, 0, CF | AF | OF);
}
