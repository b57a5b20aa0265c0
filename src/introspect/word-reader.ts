/**
 * One word of the scanner: its parts (characters, quoted strings, expansions) up to a break, and
 * its value after quote removal (null once it holds an expansion).
 */
import { ASSIGNMENT, BREAK, ansiEscape, isStop, stopAt, type QuoteState, type ScanSource, type ScannedWord, type Step, type Stop } from './scan-types.js';


/** One word: its parts (characters, quoted strings, expansions) up to a break. */
export class WordReader {
  private value: string | null = '';
  private i: number;

  constructor(
    private readonly sc: ScanSource,
    private readonly start: number,
    private readonly depth: number,
  ) {
    this.i = start;
  }

  read(): ScannedWord | Stop {
    const { s, to } = this.sc;
    for (;;) {
      if (this.i >= to) return this.stop('none');
      const next = this.part(s[this.i]);
      if (next === null) break;
      if (isStop(next)) return next;
      this.i = next;
    }
    return { start: this.start, end: this.i, raw: s.slice(this.start, this.i), value: this.value };
  }

  private add(t: string): void {
    if (this.value !== null) this.value += t;
  }

  /** The cursor is in this word (not done: the command list around it says its role). */
  private stop(quote: QuoteState, escape = false): Stop {
    return stopAt({ kind: 'word', start: this.start, quote, escape, prefixValue: this.value }, false);
  }

  /** The part at `this.i`: where the next part starts, or null at the end of the word. */
  private part(c: string): Step | null {
    const i = this.i;
    const sc = this.sc;
    if (i === this.start && (c === '<' || c === '>') && sc.peek(i + 1) === '(') {
      this.value = null;
      return sc.list(i + 2, ')', this.depth + 1);
    }
    if (c === '(') {
      // extglob @(…) !(…) …, or an array assignment a=( … ): part of the word.
      const before = sc.s.slice(this.start, i);
      if (/[?*+@!]$/.test(before) || (ASSIGNMENT.test(before) && before.endsWith('='))) {
        const next = sc.balanced(i, this.start, this.depth);
        this.value = null;
        return next;
      }
      return null;
    }
    if (BREAK.has(c)) return null;
    if (c === '\\') return this.backslash(i);
    if (c === "'") return this.singleQuoted(i);
    if (c === '$' && sc.peek(i + 1) === "'") return this.ansiQuoted(i + 2);
    if (c === '"' || (c === '$' && sc.peek(i + 1) === '"')) return this.doubleQuoted(i + (c === '$' ? 2 : 1));
    if (c === '$' || c === '`') return this.expansion(i);
    this.add(c);
    return i + 1;
  }

  private backslash(i: number): Step {
    const { s, to } = this.sc;
    if (i + 1 >= to) return this.stop('none', true);
    if (s[i + 1] === '\n') return i + 2 >= to ? this.stop('none', true) : i + 2;
    this.add(s[i + 1]);
    return i + 2;
  }

  private singleQuoted(i: number): Step {
    const { s, to } = this.sc;
    const close = s.indexOf("'", i + 1);
    if (close < 0 || close >= to) {
      this.add(s.slice(i + 1, to));
      return this.stop('single');
    }
    this.add(s.slice(i + 1, close));
    return close + 1;
  }

  /** `$'…'` from after its opening quote. */
  private ansiQuoted(i: number): Step {
    const { s, to } = this.sc;
    for (;;) {
      if (i >= to) return this.stop('ansi');
      if (s[i] === '\\') {
        if (i + 1 >= to) return this.stop('ansi', true);
        this.add(ansiEscape(s[i + 1]));
        i += 2;
      } else if (s[i] === "'") return i + 1;
      else this.add(s[i++]);
    }
  }

  /** `"…"` (or `$"…"`) from after its opening quote. */
  private doubleQuoted(i: number): Step {
    const { s, to } = this.sc;
    for (;;) {
      if (i >= to) return this.stop('double');
      const d = s[i];
      if (d === '"') return i + 1;
      if (d === '\\') {
        if (i + 1 >= to) return this.stop('double', true);
        if (s[i + 1] === '\n') i += 2;
        else if ('$`"\\'.includes(s[i + 1])) {
          this.add(s[i + 1]);
          i += 2;
        } else {
          this.add('\\');
          i++;
        }
      } else if (d === '$' || d === '`') {
        const next = this.expansion(i);
        if (isStop(next)) return next;
        i = next;
      } else {
        this.add(d);
        i++;
      }
    }
  }

  /** `$…` and backquotes read the same inside double quotes as outside: an expansion makes the
   * word's value unknown; a lone `$` is just a character. */
  private expansion(at: number): Step {
    if (this.sc.s[at] === '`') {
      this.value = null;
      return this.sc.list(at + 1, '`', this.depth + 1);
    }
    const next = this.sc.dollar(at, this.depth);
    if (isStop(next)) return next;
    if (next !== at + 1) this.value = null;
    else this.add('$');
    return next;
  }
}
