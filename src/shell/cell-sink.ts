/**
 * Where a running cell's output goes: the caller's CellIO, behind the output coalescer and the
 * per-cell cap (for text and, separately, for rich output). One per cell, made by
 * ShellSession.run from the io it is given.
 */
import { OutputCoalescer, type OutputLimits } from './output.js';
import type { DisplayBundle } from './types.js';

export interface CellIO {
  /** Program output, cleaned and coalesced, in order. */
  onOutput(text: string): void;
  /** What nslab itself has to say about the cell (shown apart from program output). */
  onNotice(text: string): void;
  /**
   * A program waits for a line of terminal input. Resolve with the line, or null when it cannot
   * be asked for (the program then gets end-of-file).
   */
  requestInput?(prompt: string, password: boolean): Promise<string | null>;
  /**
   * Rich output a program asked for (`nstree`), in order with the text around it. Without this,
   * the bundle's text/plain is shown as output.
   */
  onDisplay?(bundle: DisplayBundle): void;
}

export class CellSink {
  /** The cell's text output, coalesced and capped. */
  readonly out: OutputCoalescer;
  /** Characters of rich output this cell showed: bounded by the same cap as its text. */
  private displayChars = 0;

  constructor(readonly io: CellIO, private readonly limits: OutputLimits) {
    this.out = new OutputCoalescer((text) => io.onOutput(text), (cap) =>
      io.onNotice(`nslab: this cell's output passed ${formatChars(cap)}; the rest is not shown (the command keeps running).\n`),
      limits,
    );
  }

  notice(text: string): void {
    this.io.onNotice(text);
  }

  /**
   * Rich output goes out after the text before it (the coalescer is flushed first), so a
   * picture stays where the program printed it.
   */
  display(bundle: DisplayBundle): void {
    this.out.flush();
    const size = Object.values(bundle.data).reduce((n, v) => n + v.length, 0);
    const overCap = this.displayChars + size > this.limits.capChars;
    const firstOver = overCap && this.displayChars <= this.limits.capChars;
    this.displayChars += size;
    if (overCap) {
      if (firstOver) this.io.onNotice(`nslab: this cell's rich output passed ${formatChars(this.limits.capChars)}; the rest is not shown.\n`);
    } else if (this.io.onDisplay) this.io.onDisplay(bundle);
    else this.out.write(withFinalNewline(displayText(bundle)));
  }

  /** A display marker that could not be read: said in order with the text around it. */
  displayInvalid(reason: string): void {
    this.out.flush();
    this.io.onNotice(`nslab: a program sent rich output that could not be shown (${reason}).\n`);
  }
}

/** What a rich output shows as plain text (a command left running keeps only this). */
export function displayText(bundle: DisplayBundle): string {
  return bundle.data['text/plain'] ?? '';
}

export function formatChars(n: number): string {
  return n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(n % (1024 * 1024) ? 1 : 0)} MB` : n >= 1024 ? `${Math.round(n / 1024)} KB` : `${n} characters`;
}

export function withFinalNewline(text: string): string {
  return text === '' || text.endsWith('\n') ? text : text + '\n';
}
