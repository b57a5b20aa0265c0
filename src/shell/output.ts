/**
 * Output on its way from the PTY to the caller: coalesced into few, larger pieces (one
 * message per line would cost a message per line and overflow slow clients), and capped per
 * cell so that a flood keeps memory bounded while the command runs on.
 */

export interface OutputLimits {
  /** Longest time text waits before it is handed on (ms). */
  coalesceMs: number;
  /** Text handed on at once when this much has gathered (characters). */
  chunkChars: number;
  /** Characters of output a cell may produce; past it output is dropped with one notice. */
  capChars: number;
}

export const DEFAULT_LIMITS: OutputLimits = { coalesceMs: 20, chunkChars: 256 * 1024, capChars: 10 * 1024 * 1024 };

export class OutputCoalescer {
  private pending: string[] = [];
  private pendingChars = 0;
  private timer: NodeJS.Timeout | null = null;
  private total = 0;
  private capped = false;
  /** The text after the last newline seen (what a program shows as its prompt). */
  tail = '';

  constructor(
    private readonly deliver: (text: string) => void,
    private readonly onCap: (capChars: number) => void,
    private readonly limits: OutputLimits = DEFAULT_LIMITS,
  ) {}

  get droppedAny(): boolean { return this.capped; }

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
    if (text) {
      this.pending.push(text);
      this.pendingChars += text.length;
    }
    if (this.capped) {
      this.flush();
      this.onCap(this.limits.capChars);
    } else if (this.pendingChars >= this.limits.chunkChars) {
      this.flush();
    } else if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), this.limits.coalesceMs);
    }
  }

  flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (!this.pending.length) return;
    const text = this.pending.join('');
    this.pending = [];
    this.pendingChars = 0;
    this.deliver(text);
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
