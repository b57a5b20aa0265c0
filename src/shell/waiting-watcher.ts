/**
 * The /proc watcher: while a command runs, the byte stream cannot tell whether a program without
 * markers waits at the terminal (`read`, `cat`, python3, a shell that lost its markers). After
 * output has been quiet for a while, this looks in /proc whether a process of the terminal blocks
 * reading it (procfs.ts, findTerminalReader), confirms it a moment later (a prompt's marker may
 * still be in flight), asks `stty` for the terminal's modes, and reports it. ShellSession tells
 * the command tracker, which decides what the program needs.
 */
import { findTerminalReader, terminalModes, type Terminal, type TerminalModes, type Waiter } from './procfs.js';

/** How long after a first sighting the waiting program is looked for again. */
const CONFIRM_WAIT_MS = 25;
/** Longest pause between looks while a command runs on quietly. */
const MAX_LOOK_INTERVAL_MS = 400;

export interface WatcherHooks {
  /** `program` waits at the terminal, whose modes are `modes`. */
  found(program: Waiter, modes: TerminalModes | null): void;
  /** A look found nobody reading the terminal. */
  nobodyReads(): void;
  /** A count that changes whenever the shell answers (a marker came): a look from before is stale. */
  answers(): number;
}

export class WaitingWatcher {
  private timer: NodeJS.Timeout | null = null;
  private watching = false;

  /** `pid`: the PTY's process, whose descendants are looked at. */
  constructor(
    private readonly pid: number,
    private readonly tty: Terminal,
    private readonly quietMs: number,
    private readonly hooks: WatcherHooks,
  ) {}

  /** A command runs: look after each quiet spell until stopped. */
  start(): void {
    this.watching = true;
    this.arm();
  }

  stop(): void {
    this.watching = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Output came: the next look waits for the next quiet spell. */
  outputCame(): void {
    if (this.watching) this.arm();
  }

  private arm(delay = this.quietMs): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.look(delay), delay);
  }

  private look(lastDelay: number): void {
    this.timer = null;
    if (!this.watching) return;
    const before = this.hooks.answers();
    const w = findTerminalReader(this.pid, this.tty);
    if (!w) {
      this.hooks.nobodyReads();
      // Long-running commands: look less often the longer they run.
      this.arm(Math.min(lastDelay * 2, MAX_LOOK_INTERVAL_MS));
      return;
    }
    // The marker of a prompt may still be in flight: confirm after a moment.
    this.timer = setTimeout(() => {
      this.timer = null;
      if (!this.watching || this.hooks.answers() !== before) return;
      const again = findTerminalReader(this.pid, this.tty);
      if (again && again.pid === w.pid) void this.report(again, before);
      else this.arm();
    }, CONFIRM_WAIT_MS);
  }

  /**
   * Report `program` with the terminal's modes (stty), unless something came meanwhile: an
   * answer of the shell, or output, which armed a newer look.
   */
  private async report(program: Waiter, before: number): Promise<void> {
    const modes = await terminalModes(this.tty.path);
    if (this.watching && this.hooks.answers() === before && this.timer === null) this.hooks.found(program, modes);
  }
}
