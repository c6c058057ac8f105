/**
 * The PC's 8042-compatible PS/2 keyboard controller at 0x60 (data) and
 * 0x64 (status / command), with a PS/2 keyboard on the first port (IRQ 1)
 * and optionally a PS/2 mouse on the auxiliary port (IRQ 12).
 *
 * What a guest sees:
 *
 * - Status register (read 0x64): OBF (bit 0), IBF (bit 1, always 0: commands
 *   complete instantly), SYS (bit 2, the command byte's system flag), A2
 *   (bit 3: last write went to 0x64), INH (bit 4 = 1: keyboard not
 *   inhibited), AUXB (bit 5: the output buffer holds auxiliary-port data),
 *   TIMEOUT (bit 6: a byte sent to an absent auxiliary device).
 * - Command byte (0x20 read / 0x60 write, also the first of 32 internal RAM
 *   bytes 0x20-0x3F / 0x60-0x7F): KBD interrupt (0), AUX interrupt (1),
 *   SYS (2), KBD disabled (4), AUX disabled (5), XLATE (6).
 * - Commands: 0xA4 (no password: 0xF1), 0xA7/0xA8 AUX disable/enable,
 *   0xA9 AUX interface test (0x00), 0xAA self-test (0x55, sets SYS),
 *   0xAB KBD interface test (0x00), 0xAD/0xAE KBD disable/enable, 0xD0/0xD1
 *   read/write the output port (bit 0 = 0 resets the CPU, bit 1 = A20),
 *   0xD2/0xD3 write the KBD/AUX output buffer (as if the device sent the
 *   byte — Linux's AUX loopback probe), 0xD4 send the next byte to the AUX
 *   device, 0xDD/0xDF A20 off/on, 0xE0 test inputs (0x00), 0xF0-0xFF pulse
 *   output-port bits (bit 0 low = CPU reset, hence 0xFE).
 * - One output buffer shared by controller replies, the keyboard and the
 *   mouse, in that priority; a device's bytes wait in its own queue while
 *   its port is disabled. IRQ 1 / IRQ 12 are "OBF with KBD / AUX data and
 *   that port's interrupt enabled", so reading 0x60 lowers the line and
 *   loading the next byte raises it again (a fresh edge for the PIC).
 * - XLATE: keyboard bytes pass through the 8042's scan-code translation
 *   (set 2 → set 1, with the 0xF0 break prefix folded into bit 7).
 *
 * Choices: sending a byte to a device re-enables its port (as QEMU does);
 * without a mouse, every byte sent with 0xD4 is answered by 0xFE on the AUX
 * channel with the TIMEOUT status bit, as a controller with nothing on the
 * port does; the power-on command byte is what a PC BIOS leaves
 * (0x65: KBD interrupt, SYS, AUX disabled, XLATE) and the output port 0xCF
 * (not in reset, A20 on — the core's power-on A20 state).
 *
 * @module
 */
import { type AccessSize, type PortDevice, readBytewise, writeBytewise } from "../vmm/bus.js";
import { saveFields, restoreFields, type State } from "../vmm/snapshot.js";

/** Options of an {@link I8042}. */
export interface I8042Options {
  /** Drive IRQ 1 (keyboard) or IRQ 12 (mouse). */
  setIrq?(irq: 1 | 12, level: boolean): void;
  /** The guest asked for a CPU reset (output port bit 0 pulsed low, e.g. command 0xFE). */
  onReset?(): void;
  /** Output port A20 gate changed. */
  setA20?(enabled: boolean): void;
  /** Attach a PS/2 mouse to the auxiliary port (default true). */
  mouse?: boolean;
  /** Initial command byte (default 0x65). */
  commandByte?: number;
}

// Status register
const ST_OBF = 0x01;
const ST_SYS = 0x04;
const ST_A2 = 0x08;
const ST_INH = 0x10;
const ST_AUXB = 0x20;
const ST_TIMEOUT = 0x40;
// Command byte
const CB_KBD_INT = 0x01;
const CB_AUX_INT = 0x02;
const CB_SYS = 0x04;
const CB_KBD_DISABLE = 0x10;
const CB_AUX_DISABLE = 0x20;
const CB_XLATE = 0x40;
// Output port
const OP_RESET = 0x01;
const OP_A20 = 0x02;
const OP_KBD_OBF = 0x10;
const OP_AUX_OBF = 0x20;

// PS/2 device replies
const ACK = 0xfa;
const RESEND = 0xfe;
const BAT_OK = 0xaa;

/**
 * The 8042 translation of scan-code set 2 bytes 0x00-0x7F to set 1 (IBM
 * keyboard translation table); 0x83 (F7) → 0x41 and 0x84 (SysRq) → 0x54,
 * all other bytes ≥ 0x80 pass through unchanged.
 */
const XLATE_TABLE = [
  0xff, 0x43, 0x41, 0x3f, 0x3d, 0x3b, 0x3c, 0x58, 0x64, 0x44, 0x42, 0x40, 0x3e, 0x0f, 0x29, 0x59,
  0x65, 0x38, 0x2a, 0x70, 0x1d, 0x10, 0x02, 0x5a, 0x66, 0x71, 0x2c, 0x1f, 0x1e, 0x11, 0x03, 0x5b,
  0x67, 0x2e, 0x2d, 0x20, 0x12, 0x05, 0x04, 0x5c, 0x68, 0x39, 0x2f, 0x21, 0x14, 0x13, 0x06, 0x5d,
  0x69, 0x31, 0x30, 0x23, 0x22, 0x15, 0x07, 0x5e, 0x6a, 0x72, 0x32, 0x24, 0x16, 0x08, 0x09, 0x5f,
  0x6b, 0x33, 0x25, 0x17, 0x18, 0x0b, 0x0a, 0x60, 0x6c, 0x34, 0x35, 0x26, 0x27, 0x19, 0x0c, 0x61,
  0x6d, 0x73, 0x28, 0x74, 0x1a, 0x0d, 0x62, 0x6e, 0x3a, 0x36, 0x1c, 0x1b, 0x75, 0x2b, 0x63, 0x76,
  0x55, 0x56, 0x77, 0x78, 0x79, 0x7a, 0x0e, 0x7b, 0x7c, 0x4f, 0x7d, 0x4b, 0x47, 0x7e, 0x7f, 0x6f,
  0x52, 0x53, 0x50, 0x4c, 0x4d, 0x48, 0x01, 0x45, 0x57, 0x4e, 0x51, 0x4a, 0x37, 0x49, 0x46, 0x54,
] as const;

/** Translate one set-2 byte (not the 0xF0 prefix) to set 1. */
export function translateSet2(b: number): number {
  if (b < 0x80) return XLATE_TABLE[b]!;
  if (b === 0x83) return 0x41;
  if (b === 0x84) return 0x54;
  return b;
}

/** A PS/2 device behind one port of the controller: bytes in, bytes queued out. */
interface Ps2Device {
  readonly queue: number[];
  receive(b: number): void;
}

const QUEUE_LIMIT = 64;

/** PS/2 MF2 keyboard: the command set Linux's atkbd uses. */
export class Ps2Keyboard implements Ps2Device {
  readonly queue: number[] = [];
  scanning = true;
  scanSet = 2;
  leds = 0;
  private pendingCommand = 0;
  private last = 0;

  constructor(private readonly changed: () => void) {}

  /** Told of host key events as they arrive (a recorded history's log: src/debug/history.ts). */
  inputTap: (bytes: number[]) => void = () => {};

  /** Host key events, as scan-code set 2 bytes (e.g. 0x1C, or 0xF0 0x1C for "A" released). */
  sendScancodes(bytes: readonly number[]): void {
    this.inputTap([...bytes]);
    if (!this.scanning) return;
    for (const b of bytes) if (this.queue.length < QUEUE_LIMIT) this.queue.push(b & 0xff);
    this.changed();
  }

  private reply(...bytes: number[]): void {
    for (const b of bytes) this.queue.push(b);
    this.last = bytes[bytes.length - 1]!;
  }

  receive(b: number): void {
    const cmd = this.pendingCommand;
    if (cmd !== 0 && (b & 0x80) === 0) {
      this.pendingCommand = 0;
      if (cmd === 0xed) this.leds = b & 7;
      if (cmd === 0xf0) {
        if (b === 0) this.reply(ACK, this.scanSet);
        else if (b <= 3) {
          this.scanSet = b;
          this.reply(ACK);
        } else this.reply(RESEND);
        return;
      }
      this.reply(ACK);
      return;
    }
    this.pendingCommand = 0; // a command instead of an argument aborts the previous one
    switch (b) {
      case 0xed: // set LEDs
      case 0xf0: // get/set scan-code set
      case 0xf3: // typematic rate/delay
        this.pendingCommand = b;
        this.queue.length = 0;
        this.reply(ACK);
        break;
      case 0xee: // echo
        this.reply(0xee);
        break;
      case 0xf2: // identify: MF2 keyboard
        this.reply(ACK, 0xab, 0x83);
        break;
      case 0xf4: // enable scanning
        this.queue.length = 0;
        this.scanning = true;
        this.reply(ACK);
        break;
      case 0xf5: // disable and set defaults
        this.queue.length = 0;
        this.scanning = false;
        this.scanSet = 2;
        this.reply(ACK);
        break;
      case 0xf6: // set defaults
        this.queue.length = 0;
        this.scanSet = 2;
        this.reply(ACK);
        break;
      case 0xf7: case 0xf8: case 0xf9: case 0xfa: case 0xfb: case 0xfc: case 0xfd:
        this.reply(ACK); // set-3 key types: accepted
        break;
      case 0xfe: // resend
        this.queue.push(this.last);
        break;
      case 0xff: // reset and self-test (BAT)
        this.queue.length = 0;
        this.scanning = true;
        this.scanSet = 2;
        this.leds = 0;
        this.reply(ACK, BAT_OK);
        break;
      default:
        this.reply(RESEND);
    }
  }
}

/** A minimal PS/2 mouse (standard 3-byte protocol, ID 0x00). */
export class Ps2Mouse implements Ps2Device {
  readonly queue: number[] = [];
  reporting = false;
  sampleRate = 100;
  resolution = 2;
  scaling21 = false;
  remote = false;
  wrap = false;
  buttons = 0;
  private pendingCommand = 0;
  private last = 0;

  constructor(private readonly changed: () => void) {}

  private reply(...bytes: number[]): void {
    for (const b of bytes) this.queue.push(b);
    this.last = bytes[bytes.length - 1]!;
  }

  private packet(dx: number, dy: number): number[] {
    const clamp = (v: number) => Math.max(-256, Math.min(255, v));
    const x = clamp(dx), y = clamp(dy);
    const b0 = 0x08 | (this.buttons & 7) | (x < 0 ? 0x10 : 0) | (y < 0 ? 0x20 : 0) |
      (dx !== x ? 0x40 : 0) | (dy !== y ? 0x80 : 0);
    return [b0, x & 0xff, y & 0xff];
  }

  /** Host mouse motion (dy > 0 is up) and button state (bit 0 left, 1 right, 2 middle). */
  move(dx: number, dy: number, buttons: number): void {
    this.buttons = buttons & 7;
    if (!this.reporting || this.remote || this.queue.length + 3 > QUEUE_LIMIT) return;
    this.queue.push(...this.packet(dx, dy));
    this.changed();
  }

  private defaults(): void {
    this.sampleRate = 100;
    this.resolution = 2;
    this.scaling21 = false;
    this.reporting = false;
  }

  receive(b: number): void {
    if (this.wrap && b !== 0xec && b !== 0xff) {
      this.reply(b);
      return;
    }
    const cmd = this.pendingCommand;
    if (cmd !== 0) {
      this.pendingCommand = 0;
      if (cmd === 0xf3) this.sampleRate = b;
      else this.resolution = b & 3;
      this.reply(ACK);
      return;
    }
    switch (b) {
      case 0xe6: this.scaling21 = false; this.reply(ACK); break;
      case 0xe7: this.scaling21 = true; this.reply(ACK); break;
      case 0xe8: // set resolution
      case 0xf3: // set sample rate
        this.pendingCommand = b;
        this.reply(ACK);
        break;
      case 0xe9: // status request
        this.reply(ACK,
          (this.remote ? 0x40 : 0) | (this.reporting ? 0x20 : 0) | (this.scaling21 ? 0x10 : 0) |
            (this.buttons & 1 ? 0x04 : 0) | (this.buttons & 4 ? 0x02 : 0) | (this.buttons & 2 ? 0x01 : 0),
          this.resolution, this.sampleRate);
        break;
      case 0xea: this.remote = false; this.reply(ACK); break;
      case 0xeb: this.reply(ACK, ...this.packet(0, 0)); break;
      case 0xec: this.wrap = false; this.reply(ACK); break;
      case 0xee: this.wrap = true; this.reply(ACK); break;
      case 0xf0: this.remote = true; this.reply(ACK); break;
      case 0xf2: this.reply(ACK, 0x00); break;
      case 0xf4: this.reporting = true; this.reply(ACK); break;
      case 0xf5: this.reporting = false; this.reply(ACK); break;
      case 0xf6: this.defaults(); this.reply(ACK); break;
      case 0xfe: this.queue.push(this.last); break;
      case 0xff:
        this.queue.length = 0;
        this.defaults();
        this.remote = false;
        this.wrap = false;
        this.reply(ACK, BAT_OK, 0x00);
        break;
      default:
        this.reply(RESEND);
    }
  }
}

/** A byte the controller itself queued (replies, 0xD2/0xD3 writes). */
interface ControllerByte {
  value: number;
  aux: boolean;
  timeout?: boolean;
}

/**
 * The keyboard controller. Register {@link data} at 0x60 and
 * {@link command} at 0x64 (length 1 each; 0x61 is system control port B).
 */
export class I8042 {
  static readonly DATA_PORT = 0x60;
  static readonly COMMAND_PORT = 0x64;

  /** Port 0x60. */
  readonly data: PortDevice;
  /** Port 0x64 (read: status, write: command). */
  readonly command: PortDevice;
  readonly keyboard: Ps2Keyboard;
  /** The mouse, when one is attached. */
  readonly mouse: Ps2Mouse | null;

  private readonly opts: I8042Options;
  /** Internal RAM; byte 0 is the command byte. */
  private readonly ramBytes = new Uint8Array(32);
  private outputPort = 0xcf;
  private lastWasCommand = false;
  /** Command waiting for its data byte on 0x60 (0 = none). */
  private pendingCommand = 0;
  private readonly replies: ControllerByte[] = [];

  private obf = false;
  private obData = 0;
  private obAux = false;
  private obTimeout = false;
  /** Translation saw a set-2 0xF0 break prefix. */
  private breakPrefix = false;
  private irq1 = false;
  private irq12 = false;

  save(): State {
    return { ...saveFields(this), keyboard: saveFields(this.keyboard), mouse: this.mouse ? saveFields(this.mouse) : null };
  }

  restore(state: State): void {
    const { keyboard, mouse, ...fields } = state;
    restoreFields(this, fields);
    restoreFields(this.keyboard, keyboard as State);
    if (this.mouse && mouse) restoreFields(this.mouse, mouse as State);
  }

  constructor(opts: I8042Options = {}) {
    this.opts = opts;
    this.ramBytes[0] = (opts.commandByte ?? 0x65) & 0xff;
    const changed = () => this.refill();
    this.keyboard = new Ps2Keyboard(changed);
    this.mouse = opts.mouse === false ? null : new Ps2Mouse(changed);
    this.data = {
      name: "i8042-data",
      read: (o: number, size: AccessSize) => readBytewise(() => this.readData(), o, size),
      write: (o: number, size: AccessSize, v: number) => writeBytewise((_o, b) => this.writeData(b), o, size, v),
    };
    this.command = {
      name: "i8042-command",
      read: (o: number, size: AccessSize) => readBytewise(() => this.status(), o, size),
      write: (o: number, size: AccessSize, v: number) => writeBytewise((_o, b) => this.writeCommand(b), o, size, v),
    };
  }

  /** The command byte (internal RAM byte 0). */
  get commandByte(): number {
    return this.ramBytes[0]!;
  }

  /** Output port A20 state. */
  get a20(): boolean {
    return (this.outputPort & OP_A20) !== 0;
  }

  status(): number {
    return (
      (this.obf ? ST_OBF : 0) |
      (this.commandByte & CB_SYS ? ST_SYS : 0) |
      (this.lastWasCommand ? ST_A2 : 0) |
      ST_INH |
      (this.obf && this.obAux ? ST_AUXB : 0) |
      (this.obf && this.obTimeout ? ST_TIMEOUT : 0)
    );
  }

  private readData(): number {
    const v = this.obData;
    if (this.obf) {
      this.obf = false;
      this.obTimeout = false;
      this.updateIrq();
      this.refill();
    }
    return v;
  }

  /** Load the next byte into an empty output buffer: controller, keyboard, then mouse. */
  private refill(): void {
    if (!this.obf) {
      const cb = this.commandByte;
      const reply = this.replies.shift();
      if (reply) {
        this.load(reply.value, reply.aux, reply.timeout ?? false);
      } else if (!(cb & CB_KBD_DISABLE) && this.keyboard.queue.length > 0) {
        let b = this.keyboard.queue.shift()!;
        if (cb & CB_XLATE) {
          while (b === 0xf0 && this.keyboard.queue.length > 0) {
            this.breakPrefix = true;
            b = this.keyboard.queue.shift()!;
          }
          if (b === 0xf0) this.breakPrefix = true; // prefix with nothing after it yet
          else {
            b = translateSet2(b) | (this.breakPrefix ? 0x80 : 0);
            this.breakPrefix = false;
            this.load(b, false, false);
          }
        } else this.load(b, false, false);
      } else if (this.mouse && !(cb & CB_AUX_DISABLE) && this.mouse.queue.length > 0) {
        this.load(this.mouse.queue.shift()!, true, false);
      }
    }
    this.updateIrq();
  }

  private load(v: number, aux: boolean, timeout: boolean): void {
    this.obf = true;
    this.obData = v & 0xff;
    this.obAux = aux;
    this.obTimeout = timeout;
  }

  private updateIrq(): void {
    const cb = this.commandByte;
    const irq1 = this.obf && !this.obAux && (cb & CB_KBD_INT) !== 0;
    const irq12 = this.obf && this.obAux && (cb & CB_AUX_INT) !== 0;
    if (irq1 !== this.irq1) {
      this.irq1 = irq1;
      this.opts.setIrq?.(1, irq1);
    }
    if (irq12 !== this.irq12) {
      this.irq12 = irq12;
      this.opts.setIrq?.(12, irq12);
    }
  }

  private reply(value: number, aux = false, timeout = false): void {
    this.replies.push({ value, aux, timeout });
    this.refill();
  }

  private setCommandByte(v: number): void {
    this.ramBytes[0] = v & 0xff;
    this.refill();
  }

  private writeOutputPort(v: number): void {
    const old = this.outputPort;
    this.outputPort = v | 0x0c; // bits 2-3 are not connected on a PC (read 1)
    if ((old ^ v) & OP_A20) this.opts.setA20?.((v & OP_A20) !== 0);
    if (!(v & OP_RESET)) {
      this.outputPort |= OP_RESET; // the reset line is pulsed, not held
      this.opts.onReset?.();
    }
  }

  private writeData(b: number): void {
    this.lastWasCommand = false;
    const cmd = this.pendingCommand;
    this.pendingCommand = 0;
    if (cmd >= 0x60 && cmd <= 0x7f) {
      if (cmd === 0x60) this.setCommandByte(b);
      else this.ramBytes[cmd & 0x1f] = b;
      return;
    }
    switch (cmd) {
      case 0xd1:
        this.writeOutputPort(b);
        return;
      case 0xd2:
        this.reply(b, false);
        return;
      case 0xd3:
        this.reply(b, true);
        return;
      case 0xd4:
        this.ramBytes[0] = this.commandByte & ~CB_AUX_DISABLE;
        if (this.mouse) this.mouse.receive(b);
        else this.replies.push({ value: RESEND, aux: true, timeout: true });
        this.refill();
        return;
    }
    // No controller command pending: the byte goes to the keyboard.
    this.ramBytes[0] = this.commandByte & ~CB_KBD_DISABLE;
    this.keyboard.receive(b);
    this.refill();
  }

  private writeCommand(c: number): void {
    this.lastWasCommand = true;
    this.pendingCommand = 0;
    if (c >= 0x20 && c <= 0x3f) {
      this.reply(this.ramBytes[c & 0x1f]!);
      return;
    }
    if ((c >= 0x60 && c <= 0x7f) || c === 0xd1 || c === 0xd2 || c === 0xd3 || c === 0xd4) {
      this.pendingCommand = c;
      return;
    }
    switch (c) {
      case 0xa4: // password installed?
        this.reply(0xf1);
        return;
      case 0xa7:
        this.setCommandByte(this.commandByte | CB_AUX_DISABLE);
        return;
      case 0xa8:
        this.setCommandByte(this.commandByte & ~CB_AUX_DISABLE);
        return;
      case 0xa9: // auxiliary interface test: no error
      case 0xab: // keyboard interface test: no error
        this.reply(0x00);
        return;
      case 0xaa: // controller self-test
        this.ramBytes[0] = this.commandByte | CB_SYS;
        this.reply(0x55);
        return;
      case 0xad:
        this.setCommandByte(this.commandByte | CB_KBD_DISABLE);
        return;
      case 0xae:
        this.setCommandByte(this.commandByte & ~CB_KBD_DISABLE);
        return;
      case 0xd0: {
        const p = (this.outputPort & ~(OP_KBD_OBF | OP_AUX_OBF)) |
          (this.obf && !this.obAux ? OP_KBD_OBF : 0) | (this.obf && this.obAux ? OP_AUX_OBF : 0);
        this.reply(p);
        return;
      }
      case 0xdd:
        this.writeOutputPort(this.outputPort & ~OP_A20);
        return;
      case 0xdf:
        this.writeOutputPort(this.outputPort | OP_A20);
        return;
      case 0xe0: // test inputs
        this.reply(0x00);
        return;
    }
    if (c >= 0xf0) {
      // Pulse output-port bits 0-3 whose command bit is 0; bit 0 is the CPU reset line.
      if (!(c & 1)) this.opts.onReset?.();
      return;
    }
    // Other commands (0xA1 version, 0xC0 input port, ...) are ignored.
  }
}
