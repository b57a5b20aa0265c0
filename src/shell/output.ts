/**
 * Output on its way from the PTY to the caller: coalesced into few, larger pieces (one
 * message per line would cost a message per line and overflow slow clients), and capped per
 * cell so that a flood keeps memory bounded while the command runs on.
 */

export interface OutputLimits {
  /** Longest time text waits before it is handed on (ms). */
  coalesceMs: number;
  /**
   * An unfinished last line (no newline yet) that is still growing goes out after this long
   * (ms): a progress line. One that stopped growing is held until the owner says what it is
   * ({@link OutputCoalescer.releaseUnfinishedLine}: nobody waits for input) or takes it as the
   * prompt of a program waiting for input ({@link OutputCoalescer.takeUnfinishedLine}), so a
   * prompt is always the input request's prompt, never shown as output first (whatever the
   * timing: the decision waits for /proc to say, not for a clock).
   */
  partialLineMs: number;
  /** Text handed on at once when this much has gathered (characters). */
  chunkChars: number;
  /** Characters of output a cell may produce; past it output is dropped with one notice. */
  capChars: number;
}

// chunkChars bounds one stream message (iopub's high-water mark counts messages).
export const DEFAULT_LIMITS: OutputLimits = { coalesceMs: 20, partialLineMs: 150, chunkChars: 64 * 1024, capChars: 10 * 1024 * 1024 };

export class OutputCoalescer {
  /** Complete lines waiting to be handed on. */
  private lines = '';
  /** The unfinished last line, and since when it waits. */
  private partial = '';
  private partialSince = 0;
  /** When text was last added to the unfinished line. */
  private partialWrittenAt = 0;
  private timer: NodeJS.Timeout | null = null;
  private total = 0;
  private capped = false;
  /** The text after the last newline seen, handed on or not (what a program shows as its prompt). */
  tail = '';

  constructor(
    private readonly deliver: (text: string) => void,
    private readonly onCap: (capChars: number) => void,
    private readonly limits: OutputLimits = DEFAULT_LIMITS,
  ) {}

  write(text: string): void {
    if (!text) return;
    const nl = text.lastIndexOf('\n');
    this.tail = nl >= 0 ? text.slice(nl + 1) : (this.tail + text).slice(-400);
    if (this.capped) return;
    const room = this.limits.capChars - this.total;
    if (text.length > room) {
      text = text.slice(0, room);
      this.capped = true;
    }
    this.total += text.length;
    const cut = text.lastIndexOf('\n');
    if (cut >= 0) {
      this.lines += this.partial + text.slice(0, cut + 1);
      this.partial = text.slice(cut + 1);
      this.partialSince = Date.now();
    } else {
      if (!this.partial) this.partialSince = Date.now();
      this.partial += text;
    }
    if (this.partial) this.partialWrittenAt = Date.now();
    if (this.capped) {
      this.flush();
      this.onCap(this.limits.capChars);
    } else if (this.lines.length + this.partial.length >= this.limits.chunkChars) {
      this.flush();
    } else {
      this.schedule(this.limits.coalesceMs);
    }
  }

  /** Hand on everything gathered, the unfinished line included. */
  flush(): void {
    this.handOn(true);
  }

  /**
   * Take back the unfinished last line if it was not handed on yet (a program waiting for
   * input showed it as its prompt). Empty when there is none or it was shown already.
   */
  takeUnfinishedLine(): string {
    const text = this.partial;
    this.partial = '';
    return text;
  }

  /** The unfinished last line held back, if any, and since when (ms since the epoch). */
  get heldSince(): number | null {
    return this.partial ? this.partialSince : null;
  }

  /** Hand on the unfinished last line now: nobody waits for input, so it is plain output. */
  releaseUnfinishedLine(): void {
    if (!this.partial) return;
    this.lines += this.partial;
    this.partial = '';
    this.handOn(false);
  }

  private schedule(ms: number): void {
    if (!this.timer) this.timer = setTimeout(() => { this.timer = null; this.handOn(false); }, ms);
  }

  private handOn(everything: boolean): void {
    if (this.timer && everything) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const now = Date.now();
    const heldFor = now - this.partialSince;
    // Still growing: written to within the last coalescing period or two. A prompt stops growing
    // the moment it is written, and stays held however late this timer runs.
    const growing = now - this.partialWrittenAt < 2 * this.limits.coalesceMs;
    const withPartial = everything || (growing && heldFor >= this.limits.partialLineMs);
    const text = this.lines + (withPartial ? this.partial : '');
    this.lines = '';
    if (withPartial) this.partial = '';
    else if (this.partial && growing) this.schedule(Math.max(this.limits.coalesceMs, this.limits.partialLineMs - heldFor));
    if (text) this.deliver(text);
  }
}

/**
 * Output produced while no cell is attached to a terminal (a command left running with
 * `wait: false`): kept for the next cell of that terminal, up to a bound.
 */
export class Backlog {
  private parts: string[] = [];
  private chars = 0;
  private dropped = 0;
  constructor(private readonly capChars: number) {}

  write(text: string): void {
    if (this.chars + text.length > this.capChars) {
      const room = Math.max(0, this.capChars - this.chars);
      this.dropped += text.length - room;
      text = text.slice(0, room);
    }
    if (text) {
      this.parts.push(text);
      this.chars += text.length;
    }
  }

  /** Everything kept, and how many characters did not fit. Empties the backlog. */
  take(): { text: string; dropped: number } {
    const r = { text: this.parts.join(''), dropped: this.dropped };
    this.parts = [];
    this.chars = 0;
    this.dropped = 0;
    return r;
  }
}
