// CMPXCHG8B m64: compare EDX:EAX with m64; if equal store ECX:EBX, else load m64 into EDX:EAX.
import { reg32, setReg32, EAX, EBX, ECX, EDX, ZF } from "../../state";
import { eaSeg, eaPlus, eaOff } from "../decode";
import { readV, writeV, probeWriteV } from "../access";
import { getFlags, setFlags } from "../flags";
import { aborted } from "../../fault";

export function cmpxchg8b(): void {
  const lo = readV(eaSeg, eaOff, 4); if (aborted) return;
  const hi = readV(eaSeg, eaPlus(4), 4); if (aborted) return;
  if (!probeWriteV(eaSeg, eaOff, 8)) return; // the destination is always written
  const f = getFlags();
  if (lo == reg32(EAX) && hi == reg32(EDX)) {
    writeV(eaSeg, eaOff, 4, reg32(EBX));
    writeV(eaSeg, eaPlus(4), 4, reg32(ECX));
    setFlags(f | ZF);
  } else {
    writeV(eaSeg, eaOff, 4, lo);
    writeV(eaSeg, eaPlus(4), 4, hi);
    setReg32(EAX, lo); setReg32(EDX, hi);
    setFlags(f & ~ZF);
  }
}
