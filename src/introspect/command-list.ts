/**
 * One command list of the scanner: which grammar position comes next (a command word, an
 * argument, a `for` name, a case pattern, …), what is open (then…fi, do…done, {…}, (…), case),
 * and the words of the simple command so far — which is what the cursor's word is given.
 */
import {
  ASSIGNMENT,
  OPERATORS,
  isStop,
  stopAt,
  stopInside,
  type Expect,
  type Heredoc,
  type Role,
  type ScanSource,
  type ScannedWord,
  type ShellWord,
  type Step,
  type Stop,
} from './scan-types.js';


/** The state of one command list: which grammar position comes next, and what is open. */
export class CommandList {
  private words: ShellWord[] = [];
  private expect: Expect = 'command';
  private redirect: null | 'file' | 'heredoc' = null;
  private heredocStrip = false;
  private readonly heredocs: Heredoc[] = [];
  private readonly open: string[] = [];

  constructor(
    private readonly sc: ScanSource,
    private readonly closer: string,
    private readonly depth: number,
  ) {}

  scan(i: number): Step {
    const { s, to } = this.sc;
    for (;;) {
      let continued = false;
      while (i < to) {
        if (s[i] === ' ' || s[i] === '\t') i++;
        else if (s[i] === '\\' && s[i + 1] === '\n' && i + 1 < to) {
          i += 2;
          continued = true;
        } else break;
      }
      if (i >= to) return this.fill(stopAt({ kind: 'word', start: to, quote: 'none', escape: continued, prefixValue: '' }, false));
      const c = s[i];
      let next: Step;
      if (c === '\n') next = this.newline(i);
      else if (c === '#') next = this.comment(i);
      else if (this.closer && c === this.closer && (this.closer === '`' || (this.expect !== 'pattern' && !this.open.includes('(')))) return i + 1;
      else {
        const procSubst = (c === '<' || c === '>') && this.sc.peek(i + 1) === '(';
        const op = procSubst ? null : OPERATORS.find((o) => s.startsWith(o, i) && i + o.length <= to);
        next = op ? this.operator(op, i) : this.nextWord(i);
      }
      if (isStop(next)) return next;
      i = next;
    }
  }

  private get depthNow(): number {
    return this.depth + this.open.length;
  }

  private pop(kind: string): void {
    const k = this.open.lastIndexOf(kind);
    if (k >= 0) this.open.splice(k);
  }

  private top(): string | undefined {
    return this.open[this.open.length - 1];
  }

  private inCase(): boolean {
    return this.expect === 'pattern' || this.expect === 'case-in' || this.expect === 'case-word';
  }

  private endCommand(): void {
    this.words = [];
    this.redirect = null;
    if (!this.inCase()) this.expect = 'command';
  }

  private role(rawPrefix: string): Role {
    if (this.redirect === 'heredoc') return 'heredoc-delimiter';
    if (this.redirect === 'file') return 'redirect';
    switch (this.expect) {
      case 'command':
        return ASSIGNMENT.test(rawPrefix) ? 'assignment' : 'command';
      case 'for-name':
      case 'function-name':
        return 'name';
      case 'pattern':
        return 'pattern';
      case 'cond':
        return 'cond';
      case 'for-list':
        return 'for-list';
      default:
        return 'argument';
    }
  }

  /** The innermost command list around the cursor says what the word there is. */
  private fill(stop: Stop): Stop {
    if (!stop.done) {
      stop.ctx.role = this.role(this.sc.s.slice(stop.ctx.start ?? this.sc.to, this.sc.to));
      stop.ctx.words = this.words;
      stop.ctx.depth = this.depthNow;
      stop.done = true;
    }
    return stop;
  }

  private newline(i: number): Step {
    const next = this.sc.heredocBodies(i + 1, this.heredocs, this.depthNow);
    if (isStop(next)) return next;
    if (this.expect === 'for-in' || this.expect === 'for-list' || this.expect === 'function-name' || this.expect === 'for-name') this.expect = 'command';
    if (!this.inCase() && this.expect !== 'cond') this.endCommand();
    return next;
  }

  private comment(i: number): Step {
    const nl = this.sc.s.indexOf('\n', i);
    if (nl < 0 || nl >= this.sc.to) return stopInside('comment', i, this.depthNow, this.words);
    return nl;
  }

  private operator(op: string, i: number): Step {
    if (this.expect === 'cond' && op !== ';' && op !== ';;') return i + op.length;
    if (this.expect === 'pattern' && (op === '|' || op === '(')) return i + op.length;
    i += op.length;
    switch (op) {
      case ';;':
      case ';&':
      case ';;&':
        this.words = [];
        this.redirect = null;
        if (this.top() === 'pat') {
          this.open.pop();
          this.expect = 'pattern';
        } else this.expect = 'command';
        break;
      case ';':
      case '&':
      case '&&':
      case '||':
      case '|':
      case '|&':
        this.endCommand();
        if (this.inCase()) this.expect = 'command';
        break;
      case '(':
        return this.openParen(i);
      case ')':
        if (this.expect === 'pattern') {
          this.open.push('pat');
          this.words = [];
          this.expect = 'command';
        } else {
          this.pop('(');
          this.words = [];
          this.expect = 'argument';
        }
        break;
      case '<<':
      case '<<-':
        this.redirect = 'heredoc';
        this.heredocStrip = op === '<<-';
        break;
      default:
        this.redirect = 'file';
    }
    return i;
  }

  /** After `(`: a function's `()`, `for ((…))`, `((…))`, or a subshell. */
  private openParen(i: number): Step {
    const s = this.sc.s;
    const fnParens = /^[ \t]*\)/.exec(s.slice(i, this.sc.to));
    if (fnParens && this.words.length === 1 && this.words[0].role === 'command') {
      this.words = [];
      this.expect = 'command';
      return i + fnParens[0].length;
    }
    if (this.expect === 'for-name' && s[i] === '(') {
      this.expect = 'argument';
      return this.sc.arithmetic(i + 1, this.depthNow);
    }
    if (this.expect === 'command' && this.words.every((w) => w.role === 'assignment') && s[i] === '(') {
      const next = this.sc.arithmetic(i + 1, this.depthNow);
      this.words = [];
      this.expect = 'argument';
      return next;
    }
    this.open.push('(');
    this.words = [];
    this.expect = 'command';
    return i;
  }

  private nextWord(i: number): Step {
    const w = this.sc.word(i, this.depthNow);
    if (isStop(w)) return this.fill(w);
    if (w.end === i) return i + 1; // nothing a word could start with (never expected; keeps the scanner moving)
    const s = this.sc.s;
    // `2>file`, `{fd}>file`: the number is part of the redirection.
    if ((s[w.end] === '<' || s[w.end] === '>') && /^(\d+|\{[A-Za-z_]\w*\})$/.test(w.raw)) return w.end;
    this.afterWord(w);
    return w.end;
  }

  private afterWord(w: ScannedWord): void {
    const reserved = w.value !== null && w.value === w.raw ? w.value : null;
    if (this.redirect) {
      if (this.redirect === 'heredoc') this.heredocs.push({ delim: w.raw.replace(/["'\\]/g, ''), strip: this.heredocStrip });
      this.redirect = null;
      return;
    }
    switch (this.expect) {
      case 'command':
        if (reserved !== null && this.words.length === 0 && this.reservedWord(reserved)) return;
        if (ASSIGNMENT.test(w.raw)) {
          this.words.push({ ...w, role: 'assignment' });
          return;
        }
        this.words.push({ ...w, role: 'command' });
        this.expect = 'argument';
        return;
      case 'for-name':
        this.expect = 'for-in';
        return;
      case 'for-in':
        if (reserved === 'in') this.expect = 'for-list';
        else if (reserved === 'do') {
          this.open.push('do');
          this.expect = 'command';
        } else this.expect = 'argument';
        return;
      case 'for-list':
        return;
      case 'function-name':
        this.expect = 'command';
        return;
      case 'case-word':
        this.expect = 'case-in';
        return;
      case 'case-in':
        if (reserved === 'in') {
          this.open.push('case');
          this.expect = 'pattern';
        } else this.expect = 'argument';
        return;
      case 'pattern':
        if (reserved === 'esac') {
          if (this.top() === 'pat') this.open.pop();
          this.pop('case');
          this.expect = 'argument';
        }
        return;
      case 'cond':
        if (reserved === ']]') this.expect = 'argument';
        return;
      default:
        this.words.push({ ...w, role: 'argument' });
    }
  }

  /** A reserved word in command position: true when it was one that opens or closes something. */
  private reservedWord(reserved: string): boolean {
    if (['if', 'while', 'until', '!', 'coproc', 'else'].includes(reserved)) return true;
    if (reserved === 'then' || reserved === 'do' || reserved === '{') {
      this.open.push(reserved);
      return true;
    }
    if (reserved === 'elif') {
      this.pop('then');
      return true;
    }
    const closes: Record<string, string> = { fi: 'then', done: 'do', '}': '{', esac: 'case' };
    if (reserved in closes) {
      this.pop(closes[reserved]);
      this.expect = 'argument';
      return true;
    }
    const next: Record<string, Expect> = { for: 'for-name', select: 'for-name', case: 'case-word', '[[': 'cond', function: 'function-name' };
    if (reserved in next) {
      this.expect = next[reserved];
      return true;
    }
    return false;
  }
}
