/**
 * The scanner: what is at the cursor? A bash scanner that follows the grammar far enough to know,
 * at the cursor, which command a word belongs to and what it is. It reads the cell from the start
 * and stops at the cursor: every step returns either where the next one starts or a `Stop` that
 * says what the cursor is in; the innermost command list around the cursor fills in the word's
 * role, the earlier words of its command and the nesting depth.
 *
 * Positions here are UTF-16 indexes (JavaScript's); the API converts (see cursor.ts).
 */
import { CommandList } from './command-list.js';
import { WordReader } from './word-reader.js';
import { BREAK, isStop, stopAt, stopInside, type CursorContext, type Heredoc, type QuoteState, type ScanSource, type ScannedWord, type Step, type Stop } from './scan-types.js';

export { ansiEscape, type CursorContext, type QuoteState, type Role, type ShellWord } from './scan-types.js';

/** The text and the cursor, and the readers of the parts that nest (expansions, arithmetic). */
class Scanner implements ScanSource {
  constructor(
    readonly s: string,
    readonly to: number,
  ) {}

  peek(k: number): string | undefined {
    return k < this.to ? this.s[k] : undefined;
  }

  /** A command list from `i` up to `closer` (`)` for $( and <(, a backquote, or '' for the top). */
  list(i: number, closer: string, depth: number): Step {
    return new CommandList(this, closer, depth).scan(i);
  }

  word(i: number, depth: number): ScannedWord | Stop {
    return new WordReader(this, i, depth).read();
  }

  /** Here-document bodies after a newline; returns where the next command starts. */
  heredocBodies(i: number, heredocs: Heredoc[], depth: number): Step {
    const s = this.s;
    while (heredocs.length) {
      const h = heredocs.shift()!;
      for (;;) {
        const nl = s.indexOf('\n', i);
        const lineEnd = nl < 0 ? s.length : nl;
        const line = s.slice(i, lineEnd);
        if ((h.strip ? line.replace(/^\t+/, '') : line) === h.delim && (lineEnd < this.to || (nl < 0 && this.to >= s.length))) {
          i = nl < 0 ? s.length : nl + 1;
          break;
        }
        if (this.to <= lineEnd || nl < 0) return stopInside('heredoc', this.to, depth);
        i = nl + 1;
      }
    }
    return i;
  }

  /** An expansion starting with `$` at `i`; returns the index after it (i + 1 for a lone `$`). */
  dollar(i: number, depth: number): Step {
    const n = this.peek(i + 1);
    if (n === '(' && this.peek(i + 2) === '(') return this.arithmetic(i + 3, depth);
    if (n === '(') return this.list(i + 2, ')', depth + 1);
    if (n === '[') return this.arithmetic(i + 2, depth, ']');
    if (n === '{') return this.parameter(i, depth);
    if (n !== undefined && /[A-Za-z_]/.test(n)) {
      let j = i + 1;
      while (j < this.to && /\w/.test(this.s[j])) j++;
      return j;
    }
    if (n !== undefined && /[0-9?$#@*!-]/.test(n) && i + 1 < this.to) return i + 2;
    return i + 1;
  }

  /** `${…}` from its `$` at `i`; the cursor inside gives kind `parameter`. */
  private parameter(i: number, depth: number): Step {
    const s = this.s;
    let j = i + 2;
    let level = 1;
    for (;;) {
      if (j >= this.to) return stopInside('parameter', i, depth);
      const c = s[j];
      if (c === '\\') j += 2;
      else if (c === '}') {
        j++;
        if (--level === 0) return j;
      } else if (c === '$' && s[j + 1] === '{') {
        level++;
        j += 2;
      } else if (c === '$' && s[j + 1] === '(') {
        const r = this.dollar(j, depth);
        if (isStop(r)) return r;
        j = r;
      } else if (c === "'") {
        const close = s.indexOf("'", j + 1);
        j = close < 0 || close >= this.to ? this.to : close + 1;
      } else j++;
    }
  }

  /** Arithmetic up to the matching `))` (or `]`); the cursor inside gives kind `arithmetic`. */
  arithmetic(i: number, depth: number, closer = '))'): Step {
    const s = this.s;
    let level = 0;
    for (;;) {
      if (i >= this.to) {
        const ident = /[A-Za-z_]\w*$/.exec(s.slice(Math.max(0, i - 200), i));
        return stopInside('arithmetic', i - (ident ? ident[0].length : 0), depth);
      }
      if (s[i] === '$' && (s[i + 1] === '(' || s[i + 1] === '{')) {
        const r = this.dollar(i, depth);
        if (isStop(r)) return r;
        i = r;
        continue;
      }
      if (s[i] === '(') level++;
      else if (s[i] === ')' && level > 0) level--;
      else if (level === 0 && s.startsWith(closer, i)) return i + closer.length;
      i++;
    }
  }

  /** `(` … `)` inside a word (extglob, array assignment). */
  balanced(i: number, start: number, depth: number): Step {
    const s = this.s;
    let level = 0;
    for (;;) {
      if (i >= this.to) return stopAt({ kind: 'word', start, quote: 'none', escape: false, prefixValue: null }, false);
      const c = s[i];
      if (c === '\\') i += 2;
      else if (c === "'") {
        const close = s.indexOf("'", i + 1);
        i = close < 0 || close >= this.to ? this.to : close + 1;
      } else if (c === '$' && s[i + 1] !== "'" && s[i + 1] !== '"') {
        const r = this.dollar(i, depth);
        if (isStop(r)) return r;
        i = r;
      } else {
        if (c === '(') level++;
        else if (c === ')' && --level === 0) return i + 1;
        i++;
      }
    }
  }
}

/** What is at `cursor` (UTF-16 index) in `code`. */
export function scanContext(code: string, cursor: number): CursorContext {
  const end = new Scanner(code, Math.max(0, Math.min(cursor, code.length))).list(0, '', 0);
  // The top-level list has no closer: it always ends at the cursor.
  if (!isStop(end)) return { kind: 'word', role: 'command', words: [], start: cursor, quote: 'none', escape: false, depth: 0, prefixValue: '' };
  const c = end.ctx;
  return {
    kind: c.kind,
    role: c.role ?? 'argument',
    words: c.words ?? [],
    start: c.start ?? cursor,
    quote: c.quote ?? 'none',
    escape: c.escape ?? false,
    depth: c.depth ?? 0,
    prefixValue: c.prefixValue === undefined ? null : c.prefixValue,
  };
}

/** Where the word that contains `cursor` ends (its quotes closed, if it closes them on this line). */
export function wordEnd(code: string, cursor: number, quote: QuoteState = 'none'): number {
  let i = cursor;
  let q = quote;
  while (i < code.length) {
    const c = code[i];
    if (q === 'none') {
      if (BREAK.has(c)) break;
      if (c === '\\') i += 2;
      else {
        if (c === "'") q = 'single';
        else if (c === '"') q = 'double';
        else if (c === '$' && code[i + 1] === "'") {
          q = 'ansi';
          i++;
        }
        i++;
      }
    } else {
      if (c === '\n') break;
      if (c === '\\' && q !== 'single') i += 2;
      else {
        if ((c === "'" && q !== 'double') || (c === '"' && q === 'double')) q = 'none';
        i++;
      }
    }
  }
  return Math.min(i, code.length);
}

/** Simple compatibility helper: the word around `cursor` and its bounds (UTF-16). */
export function wordAt(code: string, cursor: number): { start: number; end: number; word: string } {
  const ctx = scanContext(code, cursor);
  const end = ctx.kind === 'word' ? wordEnd(code, cursor, ctx.quote) : cursor;
  return { start: ctx.start, end, word: code.slice(ctx.start, end) };
}

