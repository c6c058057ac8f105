/**
 * virtio-console with one port (Virtual I/O Device (VIRTIO) Version 1.2,
 * §5.3; no MULTIPORT): queue 0 receives (the driver posts empty buffers the
 * device fills with input), queue 1 transmits (the driver's output). Linux
 * makes the port its hvc0 terminal as soon as the driver binds.
 *
 * Input the host sends before the guest has posted buffers waits in the
 * device (up to 64 KiB, then the oldest bytes are dropped, as a full UART
 * FIFO would).
 *
 * @module
 */
import { QueueDevice, type VirtioDevice, VIRTIO_ID_CONSOLE } from "./device.js";

const RECEIVEQ = 0, TRANSMITQ = 1;
const MAX_PENDING = 64 * 1024;

export class VirtioConsole extends QueueDevice implements VirtioDevice {
  readonly name = "virtio-console";
  readonly deviceId = VIRTIO_ID_CONSOLE;
  readonly pciClass = 0x078000; // simple communication controller, other (QEMU's virtio-serial-pci)
  readonly features = 0n;
  readonly queueSizes = [128, 128];
  readonly configSize = 12; // cols, rows, max_nr_ports, emerg_wr (none offered: all read 0)
  private pending: number[] = [];

  constructor(private readonly onOutput: (bytes: Uint8Array) => void) {
    super();
  }

  readConfig(): number { return 0; }
  writeConfig(): void {}

  protected override activated(): void {
    this.deliver();
  }

  /** Told of host input as it arrives (a recorded history's log: src/debug/history.ts). */
  inputTap: (bytes: number[]) => void = () => {};

  /** Host input for the guest (the terminal's keystrokes). */
  receive(bytes: ArrayLike<number>): void {
    this.inputTap(Array.from(bytes));
    for (let i = 0; i < bytes.length; i++) this.pending.push(bytes[i]! & 0xff);
    if (this.pending.length > MAX_PENDING) this.pending.splice(0, this.pending.length - MAX_PENDING);
    this.deliver();
  }

  /** Bytes of input it can still hold (the host console's flow control). */
  get receiveSpace(): number {
    return MAX_PENDING - this.pending.length;
  }

  /** Bytes of input waiting for receive buffers. */
  get pendingInput(): number {
    return this.pending.length;
  }

  notify(index: number): void {
    if (index === RECEIVEQ) this.deliver();
    else if (index === TRANSMITQ) this.transmit();
  }

  private transmit(): void {
    this.drain(TRANSMITQ, (q, chain) => {
      const data = q.read(chain);
      if (data.length > 0) this.onOutput(data);
      return 0;
    });
  }

  private deliver(): void {
    if (this.pending.length === 0) return;
    this.drain(RECEIVEQ, (q, chain) => q.write(chain, 0, Uint8Array.from(this.pending.splice(0, chain.writableBytes))), () => this.pending.length > 0);
  }
}
