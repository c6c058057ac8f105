/**
 * The recorded past of a deterministic machine, for the GDB stub's reverse execution (GDB's `reverse-stepi`,
 * `reverse-continue`; QEMU's record/replay, rr): snapshots of the whole machine taken now and then
 * (checkpoints), and a log of what reached the guest from outside its own instructions — host input (a network card's
 * frames among it: src/net/link.ts logs the back end's replies inside a transmit by that transmit), GDB's
 * single steps (which hold interrupts back), GDB's writes to registers and memory — each at the retired-instruction
 * count it happened at. With a deterministic clock everything else the guest does is a function of its state, so
 * the machine at any instruction since the history began is a checkpoint's snapshot run forward with the log's
 * events applied at their counts.
 *
 * A position is a count and how many of the events logged at it have been applied: GDB's step inside a REP string
 * instruction stops after one iteration and retires nothing (the instruction's chunk of iterations retires once,
 * stepped or not, so counts stay the guest's own), so several steps can share a count.
 *
 * Going forward again from a point in the past starts a new branch: the log and checkpoints after it are dropped —
 * GDB's steps and writes there are forgotten — but the host input that came later is given again, each at the first
 * stop between run slices at or after the instruction it first came at (as QEMU's replay gives the recorded input
 * back; what is typed meanwhile comes too).
 *
 * @module
 */

/** The machine as the history needs it (src/machine/pc.ts's {@link Pc.rewindable}). */
export interface RewindableMachine {
  /** The retired-instruction count: the position in the guest's history. */
  retired(): number;
  /** The whole machine (Pc.saveSnapshot); throws, saying why, when it cannot be saved. */
  save(): Uint8Array;
  /** Back to a saved state (Pc.loadSnapshot). */
  load(bytes: Uint8Array): void;
  /** Hold the guest's output to the host back (true) while history is replayed, or let it out (false). */
  mute(on: boolean): void;
  /** Host input as it reaches the guest: `listener` gets the means to deliver the same input again (null: stop telling). */
  observeInput(listener: ((redeliver: () => void) => void) | null): void;
}

/** What GDB had each vCPU do when it resumed the guest: continue, step one instruction, or stay where it is (null). */
export type VcpuActions = readonly ("c" | "s" | null)[];

/** Something from outside the guest's instructions, at the count it happened at. */
export interface HistoryEvent {
  at: number;
  /** "resume": GDB resumed a multiprocessor guest with some vCPUs held or stepped — which changes who runs when. */
  kind: "input" | "step" | "write" | "resume";
  /** Applies it again in a replay ("step" and "resume" events are the stub's to apply). */
  apply: () => void;
  /** A step: whether it retired the instruction (false: it stopped after an iteration inside a REP instruction). */
  moved?: boolean;
  /** A step's or a resume's actions, vCPU by vCPU. */
  actions?: VcpuActions;
}

interface Checkpoint {
  at: number;
  /** How many events of the log came before it (its state includes theirs). */
  events: number;
  bytes: Uint8Array;
  /** How long saving it took (ms): the next one waits ten times that. */
  costMs: number;
}

/** The memory the checkpoints may take; past it, every second one (the first kept) goes. */
const CHECKPOINT_BUDGET_BYTES = 768 * 1048576;
/** Instructions between checkpoints at least (a replay runs at most about this far, unless saving is slow). */
const CHECKPOINT_EVERY = 2_000_000;

export class ExecutionHistory {
  private readonly checkpoints: Checkpoint[] = [];
  private readonly events: HistoryEvent[] = [];
  /** True while a replay runs: what happens then is history already, not new events. */
  private replaying = false;
  private lastCheckpointWallMs = 0;

  /** Starts with a checkpoint of the machine as it is now; throws (saying why) if it cannot be saved. */
  constructor(readonly machine: RewindableMachine) {
    this.checkpoint();
    machine.observeInput((redeliver) => this.record("input", redeliver));
  }

  /** Where the history begins (reverse execution stops there). */
  get beginning(): number { return this.checkpoints[0]!.at; }

  /** Stop recording (GDB left): the checkpoints' memory goes. */
  close(): void {
    this.machine.observeInput(null);
    this.checkpoints.length = 0;
    this.events.length = 0;
    this.laterInput.length = 0;
  }

  /** Log an event at the current count (nothing while replaying: that event is in the log already). */
  record(kind: HistoryEvent["kind"], apply: () => void): HistoryEvent | null {
    if (this.replaying) return null;
    const now = this.machine.retired();
    this.truncateAfter(now); // (an event in the past starts a new branch there)
    const e: HistoryEvent = { at: now, kind, apply };
    this.events.push(e);
    return e;
  }

  /**
   * The guest is about to run on from here, at the end of the history or at a point in its past (a new branch: what
   * was recorded after it goes, its host input to be given again), and gives input due by now.
   */
  goingForward(): void {
    const now = this.machine.retired();
    this.truncateAfter(now);
    while (this.laterInput.length > 0 && this.laterInput[0]!.at <= now) this.laterInput.shift()!.apply(); // (logged anew)
  }

  /** Whether a checkpoint is due here: far enough from the last, in instructions and in the time saving it took. */
  checkpointDue(): boolean {
    const now = this.machine.retired(), last = this.checkpoints[this.checkpoints.length - 1]!;
    if (last.at === now && last.events === this.events.length) return false;
    return now - last.at >= CHECKPOINT_EVERY && performance.now() - this.lastCheckpointWallMs >= 10 * last.costMs;
  }

  /** Drop what the history holds after `at` (a new branch starts there). */
  private truncateAfter(at: number): void {
    let keep = this.events.length;
    while (keep > 0 && this.events[keep - 1]!.at > at) keep--;
    // (Events at `at` itself stay: the replay that brought the guest here stops before applying them — see replayTo.)
    if (this.landedBefore !== null && this.landedBefore < keep) keep = this.landedBefore;
    this.landedBefore = null;
    const input = this.events.splice(keep).filter((e) => e.kind === "input");
    if (input.length > 0) this.laterInput = [...input, ...this.laterInput].sort((a, b) => a.at - b.at); // (a stable sort)
    while (this.checkpoints.length > 1) {
      const c = this.checkpoints[this.checkpoints.length - 1]!;
      if (c.at <= at && c.events <= keep) break;
      this.checkpoints.pop();
    }
  }
  /** After a replay: how many events it applied (the rest are the future of the point it reached). */
  private landedBefore: number | null = null;
  /** Host input of a branch left for the past, to be given again when the guest gets there (by count). */
  private laterInput: HistoryEvent[] = [];

  /** A checkpoint of the machine as it is now (throws, saying why, if it cannot be saved). */
  checkpoint(): void {
    const t0 = performance.now();
    const bytes = this.machine.save();
    const costMs = performance.now() - t0;
    this.lastCheckpointWallMs = performance.now();
    this.checkpoints.push({ at: this.machine.retired(), events: this.events.length, bytes, costMs });
    let total = this.checkpoints.reduce((n, c) => n + c.bytes.length, 0);
    while (total > CHECKPOINT_BUDGET_BYTES && this.checkpoints.length > 2) {
      for (let i = this.checkpoints.length - 2; i >= 1; i -= 2) total -= this.checkpoints.splice(i, 1)[0]!.bytes.length;
    }
  }

  /**
   * Where one step back from here lands: before the last GDB step logged at this count (one iteration of a REP
   * instruction back); else, at the count before, before its last step if that step retired the instruction, after
   * it if the step stopped inside the instruction (whose last iterations then ran as one, in a continue); else
   * where the instruction before began.
   */
  stepBack(): { at: number; eventsAt: number } {
    const now = this.machine.retired(), applied = Math.min(this.landedBefore ?? this.events.length, this.events.length);
    const lastStep = (at: number) => {
      const first = this.firstAt(at);
      for (let i = applied - 1; i >= first; i--) if (this.events[i]!.at === at && this.events[i]!.kind === "step") return { i, first };
      return null;
    };
    const here = lastStep(now);
    if (here) return { at: now, eventsAt: here.i - here.first };
    const before = lastStep(now - 1);
    if (before) return { at: now - 1, eventsAt: before.i - before.first + (this.events[before.i]!.moved === false ? 1 : 0) };
    return { at: now - 1, eventsAt: 0 };
  }

  /**
   * Put the machine in the state it had when instruction `target` retired (`target` ≥ the beginning), from the last
   * checkpoint at or before `from` (default: `target`; an older one for a scan of the stretch after it): `loaded`
   * is told once the checkpoint is back, `runTo(count)` runs the guest until the count is reached, `step(e, limit)`
   * applies a single step or resume of GDB's (the stub's: its handlers know what the replay needs), not past `limit`
   * (on a multiprocessor, where other vCPUs run during a step, `target` may be inside one). Of the events logged at `target`
   * itself the first `eventsAt` are applied (default none: the guest is where it was when instruction `target`
   * retired, before anything else).
   */
  replayTo(target: number, how: { loaded(): void; runTo(count: number): void; step(e: HistoryEvent, limit: number): void }, from = target, eventsAt = 0): void {
    const land = this.firstAt(target) + eventsAt;
    const cp = this.checkpointBefore(from, land);
    this.replaying = true;
    this.machine.mute(true);
    try {
      this.machine.load(cp.bytes);
      how.loaded();
      let i = cp.events;
      for (; i < land; i++) {
        const e = this.events[i]!;
        how.runTo(e.at);
        if (e.kind === "step" || e.kind === "resume") how.step(e, target); else e.apply();
      }
      how.runTo(target);
      this.landedBefore = i;
    } finally {
      this.machine.mute(false);
      this.replaying = false;
    }
  }

  /** The index of the first event logged at `count` or later (the log's length when there is none). */
  private firstAt(count: number): number {
    const i = this.events.findIndex((e) => e.at >= count);
    return i < 0 ? this.events.length : i;
  }

  /** The last checkpoint at or before `at` that holds no more than the first `events` events of the log. */
  checkpointBefore(at: number, events = Infinity): Checkpoint {
    let best = this.checkpoints[0]!;
    for (const c of this.checkpoints) if (c.at <= at && c.events <= events) best = c;
    return best;
  }

  /** The checkpoints' counts, oldest first (a reverse-continue scans the stretches between them, newest first). */
  checkpointCounts(): number[] { return this.checkpoints.map((c) => c.at); }
}
