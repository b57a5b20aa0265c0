/**
 * Completion, inspection and is_complete for bash cells — as the terminal's shell sees things, and
 * without ever running the cell's text.
 *
 * Where the answers come from
 *   - A small shell scanner (pure TypeScript, below) finds what the cursor is on: a command word,
 *     an argument of which command (through `sudo`, `env`, `unshare …`, `nsenter …`), an option,
 *     a redirection target, a variable, a comment or a here-document.
 *   - Commands, files and variables are read directly, never by running anything: the PATH
 *     directories, the current directory and the environment of the terminal's innermost shell,
 *     through /proc/<pid>/{cwd,root,environ} (the engine hands over /proc/<pid>/cwd), so that
 *     completion inside the lab and inside nested namespaces lists what that shell would list.
 *   - Options and option arguments come from bash-completion where it has a completion for the
 *     command, run in a separate, fresh bash (see BASH_COMPLETION_HELPER for what it is allowed to
 *     see), else from the command's man page, else from `--help` for a few well-known tools.
 *   - Inspection shows bash's `help` for builtins and keywords, a summary of the man page
 *     (NAME, SYNOPSIS, the start of DESCRIPTION; translated pages when the locale asks for them),
 *     or `--help`; on an option, that option's own entry.
 *   - is_complete asks `bash -n` (parse, execute nothing) and the scanner (for a trailing
 *     backslash, which bash -n accepts, and for the indentation of the next line).
 *
 * The text is only ever data: no helper gets it as code. `bash -n` parses it from stdin; the
 * bash-completion helper gets words as positional parameters, and only words made of plain
 * characters (letters, digits, `-_.,:=+@%/~`), so nothing a completion function does with them
 * (`compgen -W`, `eval` in bash-completion's quoting helpers, unquoted expansion) can expand into
 * a command substitution — bash-completion 2.11's _quote_readline_by_ref evals a word that starts
 * with a quote, so `cat '$(cmd)` + Tab runs cmd even in a real terminal; such words never reach
 * the helper. man and `help` get a validated name after `--`.
 *
 * Cursor positions: Jupyter counts code points (protocol 5.2); they are converted at the API.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { posix } from 'node:path';

// =================================================================================================
// Public API

export type Completeness = { status: 'complete' | 'invalid' | 'unknown' } | { status: 'incomplete'; indent: string };

/**
 * The terminal whose point of view completion and inspection take: the host path of its shell's
 * current directory, as `ShellEngine.cwdOf()` gives it (`/proc/<pid>/cwd`; the PID is taken from
 * it to read that shell's environment and root), or an object naming the PID directly.
 * Without it, the kernel's own directory and environment are used.
 */
export type TerminalWhere = string | { cwd?: string; pid?: number } | undefined;

export interface Completion {
  matches: string[];
  /** Code points, as the protocol counts them. */
  start: number;
  end: number;
}

/**
 * Larger cells are not analysed: scanning megabytes blocks the kernel's event loop (heartbeat
 * included) for seconds, and nobody presses Tab in a 256 KB cell. Their answers are empty.
 */
export const MAX_INTROSPECT_CHARS = 256 * 1024;

/** is_complete: `bash -n` (which executes nothing) plus the scanner. */
export async function checkComplete(code: string): Promise<Completeness> {
  if (!code.trim()) return { status: 'complete' };
  if (code.length > MAX_INTROSPECT_CHARS) return { status: 'unknown' };
  const r = await runProcess(BASH, ['--norc', '--noprofile', '-O', 'extglob', '-n'], {
    env: { PATH: SYSTEM_PATH, LC_ALL: 'C' },
    input: code.endsWith('\n') ? code : code + '\n',
    timeoutMs: 3000,
  });
  try {
    return classifySyntax(code, r.status, r.stderr);
  } catch (err) {
    // Absurd nesting (thousands of `$(`) exhausts the scanner's stack: say so, don't fail.
    if (err instanceof RangeError) return { status: 'unknown' };
    throw err;
  }
}

/** Completion candidates for the word at `cursor` (code points). */
export async function complete(code: string, cursor: number, where?: TerminalWhere): Promise<Completion> {
  if (code.length > MAX_INTROSPECT_CHARS) return { matches: [], start: cursor, end: cursor };
  const at = unitsFromCodePoints(code, cursor);
  const view = terminalView(where);
  let r: Range;
  try {
    r = await completeAt(code, at, view);
  } catch {
    r = { matches: [], start: at, end: at };
  }
  const matches = [...new Set(r.matches)].slice(0, MAX_MATCHES);
  return { matches, start: codePointsFromUnits(code, r.start), end: codePointsFromUnits(code, r.end) };
}

/** Help for what is under (or just before) `cursor` (code points), as plain text; null if none. */
export async function inspect(code: string, cursor: number, where?: TerminalWhere): Promise<string | null> {
  if (code.length > MAX_INTROSPECT_CHARS) return null;
  const at = unitsFromCodePoints(code, cursor);
  try {
    const text = await inspectAt(code, at, terminalView(where));
    return text ? tidy(text) : null;
  } catch {
    return null;
  }
}

// =================================================================================================
// Cursor positions: code points (Jupyter) ⇄ UTF-16 units (JavaScript)

const SURROGATE = /[\uD800-\uDFFF]/;

export function unitsFromCodePoints(s: string, cp: number): number {
  if (!SURROGATE.test(s)) return Math.max(0, Math.min(cp, s.length));
  let units = 0;
  for (let n = 0; n < cp && units < s.length; n++) units += s.codePointAt(units)! > 0xffff ? 2 : 1;
  return units;
}

export function codePointsFromUnits(s: string, units: number): number {
  if (!SURROGATE.test(s)) return units;
  let n = 0;
  for (let i = 0; i < units && i < s.length; n++) i += s.codePointAt(i)! > 0xffff ? 2 : 1;
  return n;
}

// =================================================================================================
// The scanner: what is at the cursor?

export type QuoteState = 'none' | 'single' | 'double' | 'ansi';

/** What a word is in its simple command. */
export type Role =
  | 'command' // the command word
  | 'argument'
  | 'assignment' // NAME=value before the command word
  | 'redirect' // target of > < >> …
  | 'heredoc-delimiter'
  | 'name' // for NAME / function NAME
  | 'pattern' // a case pattern
  | 'cond' // inside [[ … ]]
  | 'for-list'; // for x in WORDS

export interface ShellWord {
  start: number;
  end: number;
  raw: string;
  /** After quote removal; null when it has an expansion ($…, `…`, <(…)). */
  value: string | null;
  role: Role;
}

export interface CursorContext {
  /** `word`: in a word (possibly empty, at the cursor) of a simple command; the others are inside
   * `${…}`, arithmetic, a comment or a here-document body. */
  kind: 'word' | 'parameter' | 'arithmetic' | 'comment' | 'heredoc';
  role: Role;
  /** Earlier words of the simple command (commands, arguments, assignments; no redirections). */
  words: ShellWord[];
  /** Start of the word at the cursor (for `parameter`: the `$` of `${`). */
  start: number;
  /** Quoting in effect at the cursor. */
  quote: QuoteState;
  /** The text just before the cursor is an unfinished backslash or a line continuation. */
  escape: boolean;
  /** Open compound commands around the cursor (do…done, then…fi, {…}, (…), case, $(…)). */
  depth: number;
  /** The word from `start` to the cursor after quote removal; null if it has expansions. */
  prefixValue: string | null;
}

class AtCursor {
  constructor(
    public ctx: Partial<CursorContext> & { kind: CursorContext['kind'] },
    /** The enclosing command list has filled in role, words and depth. */
    public done: boolean,
  ) {}
}

const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*(\[[^\]]*\])?\+?=/;
const OPERATORS = [';;&', '<<<', '&>>', '<<-', ';;', ';&', '&&', '||', '|&', '>>', '<<', '<>', '>|', '&>', '<&', '>&', ';', '&', '|', '(', ')', '<', '>'];
const BREAK = new Set([' ', '\t', '\n', ';', '&', '|', '(', ')', '<', '>']);

type Expect = 'command' | 'argument' | 'for-name' | 'for-in' | 'for-list' | 'function-name' | 'case-word' | 'case-in' | 'pattern' | 'cond';

/**
 * A bash scanner that follows the grammar far enough to know, at `to`, which command a word
 * belongs to and what it is. It reads `s` from 0 and stops at `to` by throwing AtCursor.
 */
class Scanner {
  constructor(
    private readonly s: string,
    private readonly to: number,
  ) {}

  private peek(k: number): string | undefined {
    return k < this.to ? this.s[k] : undefined;
  }

  /** A command list from `i` up to `closer` (`)` for $( and <(, a backquote, or '' for the top). */
  list(i: number, closer: string, depth: number): number {
    const s = this.s;
    let words: ShellWord[] = [];
    let expect: Expect = 'command';
    let redirect: null | 'file' | 'heredoc' = null;
    let heredocStrip = false;
    const heredocs: { delim: string; strip: boolean }[] = [];
    const open: string[] = [];
    const depthNow = () => depth + open.length;
    const pop = (kind: string) => {
      const k = open.lastIndexOf(kind);
      if (k >= 0) open.splice(k);
    };
    const top = () => open[open.length - 1];
    const endCommand = () => {
      words = [];
      redirect = null;
      if (expect !== 'pattern' && expect !== 'case-in' && expect !== 'case-word') expect = 'command';
    };
    const role = (rawPrefix: string): Role => {
      if (redirect === 'heredoc') return 'heredoc-delimiter';
      if (redirect === 'file') return 'redirect';
      switch (expect) {
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
    };
    const fill = (e: unknown) => {
      if (e instanceof AtCursor && !e.done) {
        e.ctx.role = role(this.s.slice(e.ctx.start ?? this.to, this.to));
        e.ctx.words = words;
        e.ctx.depth = depthNow();
        e.done = true;
      }
      return e;
    };

    for (;;) {
      let continued = false;
      while (i < this.to) {
        if (s[i] === ' ' || s[i] === '\t') i++;
        else if (s[i] === '\\' && s[i + 1] === '\n' && i + 1 < this.to) {
          i += 2;
          continued = true;
        } else break;
      }
      if (i >= this.to) {
        throw fill(new AtCursor({ kind: 'word', start: this.to, quote: 'none', escape: continued, prefixValue: '' }, false));
      }
      const c = s[i];
      if (c === '\n') {
        i = this.heredocBodies(i + 1, heredocs, depthNow());
        if (expect === 'for-in' || expect === 'for-list' || expect === 'function-name' || expect === 'for-name') expect = 'command';
        if (expect !== 'pattern' && expect !== 'case-in' && expect !== 'case-word' && expect !== 'cond') endCommand();
        continue;
      }
      if (c === '#') {
        const nl = s.indexOf('\n', i);
        if (nl < 0 || nl >= this.to) throw new AtCursor({ kind: 'comment', start: i, quote: 'none', escape: false, depth: depthNow(), words, role: 'argument', prefixValue: null }, true);
        i = nl;
        continue;
      }
      if (closer && c === closer && (closer === '`' || (expect !== 'pattern' && !open.includes('(')))) {
        return i + 1;
      }
      const procSubst = (c === '<' || c === '>') && this.peek(i + 1) === '(';
      const op = procSubst ? null : OPERATORS.find((o) => s.startsWith(o, i) && i + o.length <= this.to);
      if (op) {
        if (expect === 'cond' && op !== ';' && op !== ';;') {
          i += op.length;
          continue;
        }
        if (expect === 'pattern' && (op === '|' || op === '(')) {
          i += op.length;
          continue;
        }
        i += op.length;
        switch (op) {
          case ';;':
          case ';&':
          case ';;&':
            words = [];
            redirect = null;
            if (top() === 'pat') {
              open.pop();
              expect = 'pattern';
            } else expect = 'command';
            break;
          case ';':
          case '&':
          case '&&':
          case '||':
          case '|':
          case '|&':
            endCommand();
            if (expect === 'pattern' || expect === 'case-in' || expect === 'case-word') expect = 'command';
            break;
          case '(': {
            const fnParens = /^[ \t]*\)/.exec(s.slice(i, this.to));
            if (fnParens && words.length === 1 && words[0].role === 'command') {
              i += fnParens[0].length;
              words = [];
              expect = 'command';
            } else if (expect === 'for-name' && s[i] === '(') {
              i = this.arithmetic(i + 1, depthNow());
              expect = 'argument';
            } else if (expect === 'command' && words.every((w) => w.role === 'assignment') && s[i] === '(') {
              i = this.arithmetic(i + 1, depthNow());
              words = [];
              expect = 'argument';
            } else {
              open.push('(');
              words = [];
              expect = 'command';
            }
            break;
          }
          case ')':
            if (expect === 'pattern') {
              open.push('pat');
              words = [];
              expect = 'command';
            } else {
              pop('(');
              words = [];
              expect = 'argument';
            }
            break;
          case '<<':
          case '<<-':
            redirect = 'heredoc';
            heredocStrip = op === '<<-';
            break;
          default:
            redirect = 'file';
        }
        continue;
      }

      // A word.
      let w: { start: number; end: number; raw: string; value: string | null };
      try {
        w = this.word(i, depthNow());
      } catch (e) {
        throw fill(e);
      }
      if (w.end === i) {
        i++; // nothing a word could start with (never expected; keeps the scanner moving)
        continue;
      }
      i = w.end;
      // `2>file`, `{fd}>file`: the number is part of the redirection.
      if ((s[i] === '<' || s[i] === '>') && /^(\d+|\{[A-Za-z_]\w*\})$/.test(w.raw)) continue;
      const reserved = w.value !== null && w.value === w.raw ? w.value : null;
      if (redirect) {
        if (redirect === 'heredoc') heredocs.push({ delim: w.raw.replace(/["'\\]/g, ''), strip: heredocStrip });
        redirect = null;
        continue;
      }
      switch (expect) {
        case 'command':
          if (reserved !== null && words.length === 0) {
            if (['if', 'while', 'until', '!', 'coproc', 'else'].includes(reserved)) continue;
            if (reserved === 'then' || reserved === 'do' || reserved === '{') {
              open.push(reserved);
              continue;
            }
            if (reserved === 'elif') {
              pop('then');
              continue;
            }
            const closes: Record<string, string> = { fi: 'then', done: 'do', '}': '{' };
            if (reserved in closes) {
              pop(closes[reserved]);
              expect = 'argument';
              continue;
            }
            if (reserved === 'esac') {
              pop('case');
              expect = 'argument';
              continue;
            }
            if (reserved === 'for' || reserved === 'select') {
              expect = 'for-name';
              continue;
            }
            if (reserved === 'case') {
              expect = 'case-word';
              continue;
            }
            if (reserved === '[[') {
              expect = 'cond';
              continue;
            }
            if (reserved === 'function') {
              expect = 'function-name';
              continue;
            }
          }
          if (ASSIGNMENT.test(w.raw)) {
            words.push({ ...w, role: 'assignment' });
            continue;
          }
          words.push({ ...w, role: 'command' });
          expect = 'argument';
          continue;
        case 'for-name':
          expect = 'for-in';
          continue;
        case 'for-in':
          if (reserved === 'in') expect = 'for-list';
          else if (reserved === 'do') {
            open.push('do');
            expect = 'command';
          } else expect = 'argument';
          continue;
        case 'for-list':
          continue;
        case 'function-name':
          expect = 'command';
          continue;
        case 'case-word':
          expect = 'case-in';
          continue;
        case 'case-in':
          if (reserved === 'in') {
            open.push('case');
            expect = 'pattern';
          } else expect = 'argument';
          continue;
        case 'pattern':
          if (reserved === 'esac') {
            if (top() === 'pat') open.pop();
            pop('case');
            expect = 'argument';
          }
          continue;
        case 'cond':
          if (reserved === ']]') expect = 'argument';
          continue;
        default:
          words.push({ ...w, role: 'argument' });
      }
    }
  }

  /** Here-document bodies after a newline; returns where the next command starts. */
  private heredocBodies(i: number, heredocs: { delim: string; strip: boolean }[], depth: number): number {
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
        if (this.to <= lineEnd || nl < 0) {
          throw new AtCursor({ kind: 'heredoc', start: this.to, quote: 'none', escape: false, depth, words: [], role: 'argument', prefixValue: null }, true);
        }
        i = nl + 1;
      }
    }
    return i;
  }

  /** One word from `i`; throws AtCursor (not done) when the cursor is in it or at its end. */
  private word(i: number, depth: number): { start: number; end: number; raw: string; value: string | null } {
    const s = this.s;
    const start = i;
    let value: string | null = '';
    const add = (t: string) => {
      if (value !== null) value += t;
    };
    const stop = (quote: QuoteState, escape = false): never => {
      throw new AtCursor({ kind: 'word', start, quote, escape, prefixValue: value }, false);
    };
    // `$…` and backquotes read the same inside double quotes as outside: an expansion makes
    // the word's value unknown; a lone `$` is just a character.
    const expansion = (at: number): number => {
      if (s[at] === '`') {
        value = null;
        return this.list(at + 1, '`', depth + 1);
      }
      const j = this.dollar(at, depth);
      if (j !== at + 1) value = null;
      else add('$');
      return j;
    };
    for (;;) {
      if (i >= this.to) stop('none');
      const c = s[i];
      if (i === start && (c === '<' || c === '>') && this.peek(i + 1) === '(') {
        value = null;
        i = this.list(i + 2, ')', depth + 1);
        continue;
      }
      if (c === '(') {
        // extglob @(…) !(…) …, or an array assignment a=( … ): part of the word.
        const before = s.slice(start, i);
        if (/[?*+@!]$/.test(before) || (ASSIGNMENT.test(before) && before.endsWith('='))) {
          i = this.balanced(i, start, depth);
          value = null;
          continue;
        }
        break;
      }
      if (BREAK.has(c)) break;
      if (c === '\\') {
        if (i + 1 >= this.to) stop('none', true);
        if (s[i + 1] === '\n') {
          i += 2;
          if (i >= this.to) stop('none', true);
          continue;
        }
        add(s[i + 1]);
        i += 2;
        continue;
      }
      if (c === "'") {
        const close = s.indexOf("'", i + 1);
        if (close < 0 || close >= this.to) {
          add(s.slice(i + 1, this.to));
          stop('single');
        }
        add(s.slice(i + 1, close));
        i = close + 1;
        continue;
      }
      if (c === '$' && this.peek(i + 1) === "'") {
        i += 2;
        for (;;) {
          if (i >= this.to) stop('ansi');
          if (s[i] === '\\') {
            if (i + 1 >= this.to) stop('ansi', true);
            add(ansiEscape(s[i + 1]));
            i += 2;
          } else if (s[i] === "'") {
            i++;
            break;
          } else add(s[i++]);
        }
        continue;
      }
      if (c === '"' || (c === '$' && this.peek(i + 1) === '"')) {
        i += c === '$' ? 2 : 1;
        for (;;) {
          if (i >= this.to) stop('double');
          const d = s[i];
          if (d === '"') {
            i++;
            break;
          }
          if (d === '\\') {
            if (i + 1 >= this.to) stop('double', true);
            if (s[i + 1] === '\n') i += 2;
            else if ('$`"\\'.includes(s[i + 1])) {
              add(s[i + 1]);
              i += 2;
            } else {
              add('\\');
              i++;
            }
            continue;
          }
          if (d === '$' || d === '`') {
            i = expansion(i);
            continue;
          }
          add(d);
          i++;
        }
        continue;
      }
      if (c === '$' || c === '`') {
        i = expansion(i);
        continue;
      }
      add(c);
      i++;
    }
    return { start, end: i, raw: s.slice(start, i), value };
  }

  /** An expansion starting with `$` at `i`; returns the index after it (i + 1 for a lone `$`). */
  private dollar(i: number, depth: number): number {
    const s = this.s;
    const n = this.peek(i + 1);
    if (n === '(' && this.peek(i + 2) === '(') return this.arithmetic(i + 3, depth);
    if (n === '(') return this.list(i + 2, ')', depth + 1);
    if (n === '[') return this.arithmetic(i + 2, depth, ']');
    if (n === '{') {
      let j = i + 2;
      let level = 1;
      for (;;) {
        if (j >= this.to) throw new AtCursor({ kind: 'parameter', start: i, quote: 'none', escape: false, depth, words: [], role: 'argument', prefixValue: null }, true);
        const c = s[j];
        if (c === '\\') j += 2;
        else if (c === '}') {
          j++;
          if (--level === 0) return j;
        } else if (c === '$' && s[j + 1] === '{') {
          level++;
          j += 2;
        } else if (c === '$' && s[j + 1] === '(') j = this.dollar(j, depth);
        else if (c === "'") {
          const close = s.indexOf("'", j + 1);
          if (close < 0 || close >= this.to) j = this.to;
          else j = close + 1;
        } else j++;
      }
    }
    if (n !== undefined && /[A-Za-z_]/.test(n)) {
      let j = i + 1;
      while (j < this.to && /\w/.test(s[j])) j++;
      return j;
    }
    if (n !== undefined && /[0-9?$#@*!-]/.test(n) && i + 1 < this.to) return i + 2;
    return i + 1;
  }

  /** Arithmetic up to the matching `))` (or `]`); the cursor inside gives kind `arithmetic`. */
  private arithmetic(i: number, depth: number, closer = '))'): number {
    const s = this.s;
    let level = 0;
    for (;;) {
      if (i >= this.to) {
        const ident = /[A-Za-z_]\w*$/.exec(s.slice(Math.max(0, i - 200), i));
        throw new AtCursor({ kind: 'arithmetic', start: i - (ident ? ident[0].length : 0), quote: 'none', escape: false, depth, words: [], role: 'argument', prefixValue: null }, true);
      }
      if (s[i] === '$' && (s[i + 1] === '(' || s[i + 1] === '{')) {
        i = this.dollar(i, depth);
        continue;
      }
      if (s[i] === '(') level++;
      else if (s[i] === ')' && level > 0) level--;
      else if (level === 0 && s.startsWith(closer, i)) return i + closer.length;
      i++;
    }
  }

  /** `(` … `)` inside a word (extglob, array assignment). */
  private balanced(i: number, start: number, depth: number): number {
    const s = this.s;
    let level = 0;
    for (;;) {
      if (i >= this.to) throw new AtCursor({ kind: 'word', start, quote: 'none', escape: false, prefixValue: null }, false);
      const c = s[i];
      if (c === '\\') i += 2;
      else if (c === "'") {
        const close = s.indexOf("'", i + 1);
        i = close < 0 || close >= this.to ? this.to : close + 1;
      } else if (c === '$' && s[i + 1] !== "'" && s[i + 1] !== '"') i = this.dollar(i, depth);
      else {
        if (c === '(') level++;
        else if (c === ')' && --level === 0) return i + 1;
        i++;
      }
    }
  }
}

function ansiEscape(c: string): string {
  return ({ n: '\n', t: '\t', r: '\r', a: '\x07', b: '\b', e: '\x1b', E: '\x1b', f: '\f', v: '\v' } as Record<string, string>)[c] ?? c;
}

/** What is at `cursor` (UTF-16 index) in `code`. */
export function scanContext(code: string, cursor: number): CursorContext {
  try {
    new Scanner(code, Math.max(0, Math.min(cursor, code.length))).list(0, '', 0);
  } catch (e) {
    if (e instanceof AtCursor) {
      const c = e.ctx;
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
    throw e;
  }
  /* c8 ignore next */
  return { kind: 'word', role: 'command', words: [], start: cursor, quote: 'none', escape: false, depth: 0, prefixValue: '' };
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

// =================================================================================================
// is_complete

/** bash -n's verdict (status, stderr) plus the scanner → the is_complete reply. */
export function classifySyntax(code: string, status: number | null, stderr: string): Completeness {
  // As bash reads it: the last line ends with a newline (which ends its last word).
  const text = code.endsWith('\n') ? code : code + '\n';
  const end = scanContext(text, text.length);
  const eof = /unexpected end of file|unexpected EOF while looking for matching|delimited by end-of-file/.test(stderr);
  if (eof || (status === 0 && end.escape)) return { status: 'incomplete', indent: continuationIndent(code, end) };
  if (status === 0) return { status: 'complete' };
  if (status === null) return { status: 'unknown' };
  return { status: 'invalid' };
}

/** Indentation for the next line: two spaces per open compound command, none inside a string
 * or a here-document (where spaces would become part of the text), one more step after `\`, `|`,
 * `&&` or `||`. */
export function continuationIndent(code: string, end: CursorContext = scanContext(code + '\n', code.length + 1)): string {
  if (end.kind === 'heredoc' || end.quote !== 'none') return '';
  const base = '  '.repeat(Math.min(end.depth, 20));
  const trimmed = trimEnd(code, ' \t');
  const joins = end.escape || /(\|\||&&|\|)\s*$/.test(trimmed);
  return joins ? base + '  ' : base;
}

// =================================================================================================
// The terminal's point of view

interface TerminalView {
  /** Host path of the shell's current directory. */
  cwd: string;
  /** Host path prefix for absolute paths in the shell's mount namespace ('' = this machine's). */
  root: string;
  /** Environment of the shell (exported variables, as it was started), or the kernel's. */
  env: Map<string, string>;
  pid: number | null;
}

function terminalView(where: TerminalWhere): TerminalView {
  let cwd: string | undefined;
  let pid: number | null = null;
  if (typeof where === 'string') cwd = where;
  else if (where) {
    cwd = where.cwd;
    pid = where.pid ?? null;
  }
  if (pid === null && cwd) {
    const m = /^\/proc\/(\d+)\/cwd\/?$/.exec(cwd);
    if (m) pid = Number(m[1]);
  }
  let env: Map<string, string> | null = null;
  let root = '';
  if (pid !== null) {
    try {
      env = new Map();
      for (const kv of readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')) {
        const eq = kv.indexOf('=');
        if (eq > 0) env.set(kv.slice(0, eq), kv.slice(eq + 1));
      }
    } catch {
      env = null;
    }
    try {
      statSync(`/proc/${pid}/root/`);
      root = `/proc/${pid}/root`;
    } catch {
      root = '';
    }
    cwd ??= `/proc/${pid}/cwd`;
  }
  if (!env) {
    env = new Map();
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env.set(k, v);
  }
  return { cwd: cwd ?? process.cwd(), root, env, pid };
}

/** The host path of `p`, a path as the terminal's shell names it. */
function hostPath(view: TerminalView, p: string): string {
  if (p.startsWith('/')) return view.root + posix.normalize(p);
  return p === '' ? view.cwd : `${view.cwd}/${p}`;
}

function pathDirs(view: TerminalView): string[] {
  const path = view.env.get('PATH') ?? process.env.PATH ?? SYSTEM_PATH;
  return [...new Set(path.split(':').filter((d) => d.startsWith('/')))];
}

function language(view: TerminalView): string {
  for (const k of ['LC_ALL', 'LC_MESSAGES', 'LANG']) {
    const v = view.env.get(k) || process.env[k];
    if (v) return v;
  }
  return 'C';
}

// =================================================================================================
// Completion

interface Range {
  matches: string[];
  start: number;
  end: number;
}

const MAX_MATCHES = 1000;

const KEYWORDS = ['if', 'then', 'else', 'elif', 'fi', 'case', 'esac', 'for', 'select', 'while', 'until', 'do', 'done', 'in', 'function', 'time', '{', '}', '!', '[[', ']]', 'coproc'];
const BUILTINS = [
  '.', ':', '[', 'alias', 'bg', 'bind', 'break', 'builtin', 'caller', 'cd', 'command', 'compgen', 'complete', 'compopt', 'continue', 'declare', 'dirs',
  'disown', 'echo', 'enable', 'eval', 'exec', 'exit', 'export', 'false', 'fc', 'fg', 'getopts', 'hash', 'help', 'history', 'jobs', 'kill', 'let',
  'local', 'logout', 'mapfile', 'popd', 'printf', 'pushd', 'pwd', 'read', 'readarray', 'readonly', 'return', 'set', 'shift', 'shopt', 'source',
  'suspend', 'test', 'times', 'trap', 'true', 'type', 'typeset', 'ulimit', 'umask', 'unalias', 'unset', 'wait',
];
const BUILTIN_SET = new Set([...KEYWORDS, ...BUILTINS]);
/** Variables every interactive bash has, beside the environment. */
const SHELL_VARIABLES = [
  'BASH', 'BASHOPTS', 'BASHPID', 'BASH_ALIASES', 'BASH_ARGC', 'BASH_ARGV', 'BASH_ARGV0', 'BASH_CMDS', 'BASH_COMMAND', 'BASH_LINENO', 'BASH_REMATCH',
  'BASH_SOURCE', 'BASH_SUBSHELL', 'BASH_VERSINFO', 'BASH_VERSION', 'COLUMNS', 'COMP_WORDBREAKS', 'DIRSTACK', 'EPOCHREALTIME', 'EPOCHSECONDS', 'EUID',
  'FUNCNAME', 'GROUPS', 'HISTCMD', 'HISTCONTROL', 'HISTFILE', 'HISTFILESIZE', 'HISTSIZE', 'HOSTNAME', 'HOSTTYPE', 'IFS', 'LINENO', 'LINES', 'MACHTYPE',
  'OLDPWD', 'OPTARG', 'OPTERR', 'OPTIND', 'OSTYPE', 'PIPESTATUS', 'PPID', 'PS1', 'PS2', 'PS4', 'PWD', 'RANDOM', 'REPLY', 'SECONDS', 'SHELL',
  'SHELLOPTS', 'SHLVL', 'SRANDOM', 'UID',
];

const CELL_OPTIONS: Record<string, string> = {
  terminal: 'terminal: N — run the cell in terminal N (1 = the lab\'s first shell; 2, 3, … are shells joined to the same lab, like docker exec).',
  wait: 'wait: false — type the cell and return at once; the command keeps running in its terminal.',
  timeout: 'timeout: S — interrupt the cell after S seconds.',
};

async function completeAt(code: string, cursor: number, view: TerminalView): Promise<Range> {
  const none: Range = { matches: [], start: cursor, end: cursor };
  const option = cellOptionAt(code, cursor);
  if (option) {
    const names = Object.keys(CELL_OPTIONS).filter((n) => n.startsWith(option.prefix));
    return { matches: names.map((n) => `${n}: `), start: option.start, end: option.end };
  }
  const ctx = scanContext(code, cursor);
  if (ctx.kind === 'comment' || ctx.kind === 'heredoc') return none;
  if (ctx.kind === 'parameter') {
    const m = /^\$\{([A-Za-z_]\w*)?$/.exec(code.slice(ctx.start, cursor));
    if (!m) return none;
    let end = cursor;
    while (end < code.length && /\w/.test(code[end])) end++;
    const close = code[end] === '}';
    if (close) end++;
    return { matches: variableNames(view, code, cursor, m[1] ?? '').map((n) => `\${${n}}`), start: ctx.start, end };
  }
  if (ctx.kind === 'arithmetic') {
    const prefix = code.slice(ctx.start, cursor);
    let end = cursor;
    while (end < code.length && /\w/.test(code[end])) end++;
    return { matches: variableNames(view, code, cursor, prefix), start: ctx.start, end };
  }

  const prefix = code.slice(ctx.start, cursor);
  const end = wordEnd(code, cursor, ctx.quote);

  // $NAME at the end of the word (not in single quotes, the $ not escaped).
  const v = /\$([A-Za-z_]\w*)?$/.exec(prefix);
  if (v && ctx.quote !== 'single' && ctx.quote !== 'ansi' && !/(^|[^\\])(\\\\)*\\$/.test(prefix.slice(0, v.index))) {
    let vEnd = cursor;
    while (vEnd < code.length && /\w/.test(code[vEnd])) vEnd++;
    return { matches: variableNames(view, code, cursor, v[1] ?? '').map((n) => `$${n}`), start: ctx.start + v.index, end: vEnd };
  }

  switch (ctx.role) {
    case 'command':
      if (prefix.includes('/')) return completeFiles(view, ctx, code, cursor, end, 'commands');
      return completeCommands(view, ctx, code, cursor, end);
    case 'assignment': {
      // The value: files, after the `=` (or the last `:` of a PATH-like list).
      const eq = prefix.indexOf('=');
      const valueStart = ctx.start + Math.max(eq, prefix.lastIndexOf(':')) + 1;
      if (code[valueStart] === '(') return none;
      return completeFiles(view, { ...ctx, start: valueStart }, code, cursor, end, 'files');
    }
    case 'redirect':
    case 'cond':
    case 'for-list':
      return completeFiles(view, ctx, code, cursor, end, 'files');
    case 'argument':
      return completeArgument(view, ctx, code, cursor, end);
    default:
      return none;
  }
}

/** The cell option line (`#| name: value`, among the cell's first lines) that holds `pos`. */
export function cellOptionLine(code: string, pos: number): { name: string; nameStart: number } | null {
  const lineStart = code.lastIndexOf('\n', pos - 1) + 1;
  if (code.slice(0, lineStart).split('\n').slice(0, -1).some((l) => !/^\s*#\|/.test(l))) return null;
  const m = /^(\s*#\|\s*)([\w-]*)/.exec(code.slice(lineStart));
  return m ? { name: m[2], nameStart: lineStart + m[1].length } : null;
}

/** `#| na` with the cursor in the option's name: what to complete. */
function cellOptionAt(code: string, cursor: number): { prefix: string; start: number; end: number } | null {
  const line = cellOptionLine(code, cursor);
  if (!line || cursor < line.nameStart || cursor > line.nameStart + line.name.length) return null;
  let end = line.nameStart + line.name.length;
  if (code[end] === ':') end++;
  if (code[end] === ' ') end++;
  return { prefix: code.slice(line.nameStart, cursor), start: line.nameStart, end };
}

function variableNames(view: TerminalView, code: string, cursor: number, prefix: string): string[] {
  const names = new Set<string>([...view.env.keys(), ...SHELL_VARIABLES, ...cellVariables(code.slice(0, cursor)).keys()]);
  return [...names].filter((n) => n.startsWith(prefix) && /^[A-Za-z_]\w*$/.test(n)).sort();
}

/** Variables the cell sets before the cursor; values only when they are plain literals. */
export function cellVariables(code: string): Map<string, string | null> {
  const out = new Map<string, string | null>();
  for (const m of code.matchAll(/(?:^|[\s;&|(])(?:(?:export|local|readonly|declare|typeset)\s+(?:-\w+\s+)*)?([A-Za-z_]\w*)\+?=/g)) {
    const from = m.index + m[0].length;
    const raw = code.slice(from, wordEnd(code, from));
    out.set(m[1], expandWord(raw, new Map(), null)?.value ?? null);
  }
  for (const m of code.matchAll(/\b(?:for|select)\s+([A-Za-z_]\w*)/g)) out.set(m[1], null);
  for (const m of code.matchAll(/\bread\s+([^;&|\n]*)/g)) {
    const words = m[1].trim().split(/\s+/);
    for (let k = 0; k < words.length; k++) {
      const w = words[k];
      if (w.startsWith('-')) {
        // -a -d -i -n -N -p -t -u take a value (attached or the next word).
        if (/^-[ersa-zA-Z]*[adinNptu]$/.test(w)) k++;
        if (/^-[ersa-zA-Z]*a$/.test(w)) out.set(words[k] ?? '', null);
      } else if (/^[A-Za-z_]\w*$/.test(w)) out.set(w, null);
      else break;
    }
  }
  out.delete('');
  return out;
}

// ---- commands -----------------------------------------------------------------------------------

interface DirListing {
  mtimeMs: number;
  executables: string[];
}
const dirCache = new Map<string, DirListing>();

function executablesIn(dir: string): string[] {
  let mtimeMs: number;
  try {
    mtimeMs = statSync(dir).mtimeMs;
  } catch {
    return [];
  }
  const cached = dirCache.get(dir);
  if (cached && cached.mtimeMs === mtimeMs) return cached.executables;
  const executables: string[] = [];
  try {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) continue;
      try {
        const st = statSync(`${dir}/${e.name}`);
        if (st.isFile() && st.mode & 0o111) executables.push(e.name);
      } catch {
        /* a dangling link */
      }
    }
  } catch {
    return [];
  }
  if (dirCache.size > 200) dirCache.clear();
  dirCache.set(dir, { mtimeMs, executables });
  return executables;
}

/** Aliases the terminal's shell defines in ~/.bashrc and ~/.bash_aliases (read, not run). */
function aliases(view: TerminalView): Map<string, string> {
  const out = new Map<string, string>();
  const home = view.env.get('HOME');
  if (!home) return out;
  for (const f of ['.bashrc', '.bash_aliases']) {
    let text: string;
    try {
      text = readFileSync(hostPath(view, `${home}/${f}`), 'utf8');
    } catch {
      continue;
    }
    for (const m of text.matchAll(/^[ \t]*alias[ \t]+([\w.:+-]+)=(?:'([^']*)'|"([^"]*)"|(\S*))/gm)) out.set(m[1], m[2] ?? m[3] ?? m[4] ?? '');
  }
  return out;
}

function cellFunctions(code: string): string[] {
  const out: string[] = [];
  for (const m of code.matchAll(/(?:^|[\s;&|(])(?:function\s+([\w.:-]+)|([\w.:-]+)\s*\(\s*\))/g)) out.push(m[1] ?? m[2]);
  return out;
}

function completeCommands(view: TerminalView, ctx: CursorContext, code: string, cursor: number, end: number): Range {
  const value = ctx.prefixValue;
  if (value === null) return { matches: [], start: ctx.start, end };
  const names = new Set<string>();
  const add = (n: string) => {
    if (n.startsWith(value)) names.add(n);
  };
  for (const n of BUILTIN_SET) add(n);
  for (const n of aliases(view).keys()) add(n);
  for (const n of cellFunctions(code.slice(0, cursor))) add(n);
  for (const dir of pathDirs(view)) for (const n of executablesIn(hostPath(view, dir))) add(n);
  const matches = [...names].sort().map((n) => OPENERS[ctx.quote] + requote(n, ctx.quote, true));
  return { matches, start: ctx.start, end };
}

// ---- files --------------------------------------------------------------------------------------

/** Expands what a word's text means literally: quotes, `~`, `$NAME` of known variables. */
export function expandWord(raw: string, vars: Map<string, string | null>, home?: string | null): { value: string; quote: QuoteState } | null {
  let i = 0;
  let value = '';
  let quote: QuoteState = 'none';
  const tilde = /^~([A-Za-z0-9_.-]*)(?=\/|$)/.exec(raw);
  if (tilde) {
    if (tilde[1] !== '' || !home) return null;
    value = home;
    i = 1;
  }
  const variable = (j: number): number | null => {
    const m = /^\$(?:([A-Za-z_]\w*)|\{([A-Za-z_]\w*)\})/.exec(raw.slice(j));
    if (!m) return null;
    const v = vars.get(m[1] ?? m[2]);
    if (v === undefined || v === null) return null;
    value += v;
    return j + m[0].length;
  };
  while (i < raw.length) {
    const c = raw[i];
    if (quote === 'single') {
      if (c === "'") quote = 'none';
      else value += c;
      i++;
    } else if (quote === 'ansi') {
      if (c === "'") quote = 'none';
      else if (c === '\\' && i + 1 < raw.length) {
        value += ansiEscape(raw[i + 1]);
        i++;
      } else value += c;
      i++;
    } else if (quote === 'double') {
      if (c === '"') {
        quote = 'none';
        i++;
      } else if (c === '\\' && '$`"\\'.includes(raw[i + 1] ?? '')) {
        value += raw[i + 1];
        i += 2;
      } else if (c === '$') {
        const j = variable(i);
        if (j === null) return null;
        i = j;
      } else if (c === '`') return null;
      else {
        value += c;
        i++;
      }
    } else {
      if (c === '\\') {
        if (i + 1 < raw.length && raw[i + 1] !== '\n') value += raw[i + 1];
        i += 2;
      } else if (c === "'") {
        quote = 'single';
        i++;
      } else if (c === '"') {
        quote = 'double';
        i++;
      } else if (c === '$' && raw[i + 1] === "'") {
        quote = 'ansi';
        i += 2;
      } else if (c === '$' && raw[i + 1] === '"') {
        quote = 'double';
        i += 2;
      } else if (c === '$') {
        const j = variable(i);
        if (j === null) return null;
        i = j;
      } else if (c === '`' || ((c === '<' || c === '>') && raw[i + 1] === '(')) return null;
      else {
        value += c;
        i++;
      }
    }
  }
  return { value, quote };
}

const OPENERS: Record<QuoteState, string> = { none: '', single: "'", double: '"', ansi: "$'" };

/** `name` written so that bash reads it back literally, in the quoting the word is in. */
export function requote(name: string, quote: QuoteState, close: boolean): string {
  switch (quote) {
    case 'single':
      return name.replace(/'/g, "'\\''") + (close ? "'" : '');
    case 'double':
      return name.replace(/(["$`\\])/g, '\\$1') + (close ? '"' : '');
    case 'ansi':
      return name.replace(/(['\\])/g, '\\$1') + (close ? "'" : '');
    default:
      return name.replace(/([\s"'\\$`;&|()<>*?[\]{}!#^~=])/g, (_m, c: string, off: number) => (c === '=' || (c === '~' && off > 0) ? c : '\\' + c));
  }
}

function completeFiles(view: TerminalView, ctx: CursorContext, code: string, cursor: number, end: number, what: 'files' | 'commands' | 'dirs'): Range {
  const none: Range = { matches: [], start: ctx.start, end };
  const raw = code.slice(ctx.start, cursor);
  const vars = new Map<string, string | null>([...view.env, ...cellVariables(code.slice(0, cursor))]);
  const home = view.env.get('HOME') ?? null;

  // ~user
  const user = /^~([A-Za-z0-9_.-]*)$/.exec(raw);
  if (user) {
    const users = passwdHomes(view);
    const matches = [...users.keys()].filter((u) => u.startsWith(user[1])).sort().map((u) => `~${u}/`);
    return { matches, start: ctx.start, end };
  }

  const slash = raw.lastIndexOf('/');
  const rawDir = raw.slice(0, slash + 1);
  const full = expandWord(raw, vars, home);
  const dir = expandWord(rawDir, vars, home);
  if (!full || !dir || !full.value.startsWith(dir.value)) return none;
  const base = full.value.slice(dir.value.length);
  if (base.includes('/')) return none;
  const dirHost = dir.value === '' ? view.cwd : dir.value.startsWith('/') ? hostPath(view, dir.value) : hostPath(view, trimEnd(dir.value, '/') || '.');
  let entries: { name: string; isDir: boolean; exec: boolean }[] = [];
  try {
    for (const e of readdirSync(dirHost, { withFileTypes: true })) {
      if (!e.name.startsWith(base)) continue;
      if (e.name.startsWith('.') && !base.startsWith('.')) continue;
      let isDir = e.isDirectory();
      let exec = false;
      if (e.isSymbolicLink() || what === 'commands') {
        try {
          const st = statSync(`${dirHost}/${e.name}`);
          isDir = st.isDirectory();
          exec = st.isFile() && (st.mode & 0o111) !== 0;
        } catch {
          /* dangling */
        }
      }
      entries.push({ name: e.name, isDir, exec });
    }
  } catch {
    return none;
  }
  if (what === 'commands') entries = entries.filter((e) => e.isDir || e.exec);
  if (what === 'dirs') entries = entries.filter((e) => e.isDir);
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  // A quote opened in the name's own part is written again; one opened before the last `/` is in rawDir.
  const opener = dir.quote === full.quote ? '' : OPENERS[full.quote];
  const matches = entries.map((e) => rawDir + opener + requote(e.name, full.quote, !e.isDir) + (e.isDir ? '/' : ''));
  return { matches, start: ctx.start, end };
}

function passwdHomes(view: TerminalView): Map<string, string> {
  const out = new Map<string, string>();
  try {
    for (const line of readFileSync(hostPath(view, '/etc/passwd'), 'utf8').split('\n')) {
      const f = line.split(':');
      if (f.length >= 6 && f[0]) out.set(f[0], f[5]);
    }
  } catch {
    /* none */
  }
  return out;
}

// ---- arguments ----------------------------------------------------------------------------------

interface Wrapper {
  /** Options that take the next word as their argument. */
  args?: string[];
  /** Words before the command (chroot NEWROOT, timeout DURATION). */
  positionals?: number;
  /** NAME=VALUE words before the command (env). */
  assignments?: boolean;
}

/** Commands that run another command given in their arguments. */
const WRAPPERS: Record<string, Wrapper> = {
  sudo: { args: ['-u', '-g', '-h', '-p', '-C', '-D', '-R', '-r', '-t', '-T', '-U', '--user', '--group', '--host', '--prompt', '--close-from', '--chdir', '--chroot', '--role', '--type', '--command-timeout', '--other-user'] },
  doas: { args: ['-u', '-C'] },
  env: { args: ['-u', '-C', '-S', '--unset', '--chdir', '--split-string'], assignments: true },
  nohup: {},
  setsid: {},
  exec: { args: ['-a'] },
  command: {},
  builtin: {},
  time: { args: ['-f', '-o', '--format', '--output'] },
  nice: { args: ['-n', '--adjustment'] },
  ionice: { args: ['-c', '-n', '-p', '-P', '-u', '--class', '--classdata', '--pid', '--pgid', '--uid'] },
  chroot: { args: ['--userspec', '--groups'], positionals: 1 },
  timeout: { args: ['-k', '-s', '--kill-after', '--signal'], positionals: 1 },
  taskset: { positionals: 1 },
  chrt: { positionals: 1 },
  stdbuf: { args: ['-i', '-o', '-e', '--input', '--output', '--error'] },
  unshare: {
    args: ['-S', '-G', '-R', '-w', '-l', '--setuid', '--setgid', '--root', '--wd', '--load-interp', '--propagation', '--setgroups', '--monotonic', '--boottime', '--map-user', '--map-group', '--map-users', '--map-groups'],
  },
  nsenter: { args: ['-t', '-S', '-G', '--target', '--setuid', '--setgid', '--env'] },
  setpriv: {
    args: ['--ruid', '--euid', '--reuid', '--rgid', '--egid', '--regid', '--groups', '--inh-caps', '--ambient-caps', '--bounding-set', '--securebits', '--pdeathsig', '--selinux-label', '--apparmor-profile', '--landlock-access', '--landlock-rule'],
  },
  prlimit: { args: ['-p', '--pid'] },
  strace: { args: ['-e', '-o', '-p', '-s', '-u', '-E', '-I', '-a', '-b', '-O', '-P', '-S', '-X'] },
  ltrace: { args: ['-e', '-o', '-p', '-s', '-u', '-a', '-n', '-l'] },
  watch: { args: ['-n', '--interval', '-q', '--equexit'] },
  xargs: { args: ['-a', '-d', '-E', '-I', '-L', '-n', '-P', '-s', '--arg-file', '--delimiter', '--max-lines', '--max-args', '--max-procs', '--max-chars', '--process-slot-var'] },
  flock: { args: ['-w', '-E', '--timeout', '--conflict-exit-code'], positionals: 1 },
  tini: { args: ['-p', '-e'] },
};

function takesArgument(spec: Wrapper, w: string): boolean {
  const args = spec.args ?? [];
  if (w.startsWith('--')) return !w.includes('=') && args.includes(w);
  for (let k = 1; k < w.length; k++) if (args.includes(`-${w[k]}`)) return k === w.length - 1;
  return false;
}

/**
 * Which command the word at `current` belongs to, looking through wrappers (`sudo`, `env`,
 * `unshare --pid --fork`, `nsenter -t 1 -m`, `ip netns exec NAME` …): the index of that command
 * in `argv`, and whether the word at `current` is itself in command position.
 */
export function resolveCommand(argv: (string | null)[], current: number): { index: number; position: 'command' | 'argument' } {
  let ci = 0;
  for (;;) {
    if (current === ci) return { index: ci, position: 'command' };
    const name = (argv[ci] ?? '').replace(/^.*\//, '');
    let j = ci + 1;
    let spec = WRAPPERS[name];
    let positionals = spec?.positionals ?? 0;
    if (!spec && name === 'ip' && argv[ci + 1] === 'netns' && argv[ci + 2] === 'exec') {
      spec = {};
      j = ci + 3;
      positionals = 1;
      if (current < j) return { index: ci, position: 'argument' };
    }
    if (!spec) return { index: ci, position: 'argument' };
    let optionsDone = false;
    while (j < current) {
      const w = argv[j] ?? '';
      if (!optionsDone && w === '--') optionsDone = true;
      else if (!optionsDone && w.startsWith('-') && w !== '-') {
        if (takesArgument(spec, w)) j++;
      } else if (spec.assignments && /^[A-Za-z_]\w*=/.test(w)) {
        /* env NAME=VALUE */
      } else if (positionals > 0) positionals--;
      else break;
      j++;
    }
    if (j > current) return { index: ci, position: 'argument' };
    if (j === current) {
      const w = argv[current] ?? '';
      if ((!optionsDone && w.startsWith('-')) || positionals > 0 || (spec.assignments && w.includes('='))) return { index: ci, position: 'argument' };
      return { index: current, position: 'command' };
    }
    ci = j;
  }
}

/** The command words of the simple command, with the word at the cursor last. */
function commandLine(ctx: CursorContext, current: { raw: string; value: string | null }): { raws: string[]; argv: (string | null)[] } {
  const ws = ctx.words.filter((w) => w.role === 'command' || w.role === 'argument');
  return { raws: [...ws.map((w) => w.raw), current.raw], argv: [...ws.map((w) => w.value), current.value] };
}

const PLAIN = /^[A-Za-z0-9_@%+=:,./~-]*$/;
const COMMAND_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.+-]*$/;
/** Commands whose bash-completion runs project files (Makefiles, ./configure …): never used. */
// Their completion functions run project files (Makefiles, configure) or a program a repository
// configures (git runs core.fsmonitor from .git/config), or expand command output as code
// (`ip netns exec` feeds namespace names to compgen -W).
const DENIED_COMPLETIONS = new Set(['make', 'gmake', 'gnumake', 'pmake', 'colormake', 'bmake', 'configure', 'git', 'ip']);

/**
 * COMP_WORDS for bash-completion, or null when the words may not be handed to it: every word
 * must be plain (no quotes, `$`, backquotes, globs, spaces — so nothing a completion function
 * does with it can expand), the command a bare name, and the current word not a path.
 */
export function completionWords(raws: string[]): { words: string[]; cword: number; line: string; curOffset: number } | null {
  if (!raws.length || !COMMAND_NAME.test(raws[0]) || DENIED_COMPLETIONS.has(raws[0])) return null;
  if (!raws.every((w) => PLAIN.test(w))) return null;
  const cur = raws[raws.length - 1];
  if (cur.includes('/') || cur.startsWith('~')) return null;
  const words: string[] = [raws[0]];
  const line: string[] = [raws[0]];
  let curOffset = 0;
  raws.slice(1).forEach((w, k) => {
    if (k === raws.length - 2) {
      // What the replies replace: the text after the last break character, as readline does.
      const value = w.split(/[=:]/).pop()!;
      curOffset = w.length - value.length;
      // `--opt=val` is handed over as `--opt val`, so that functions which only look at the
      // previous word (most util-linux ones) complete the option's argument.
      const opt = /^(--?[A-Za-z0-9][\w-]*)=/.exec(w);
      if (opt && opt[0].length === curOffset) {
        words.push(opt[1], value);
        line.push(opt[1], value);
        return;
      }
    }
    // bash splits COMP_WORDS at the COMP_WORDBREAKS characters = and :
    const parts = w.split(/([=:]+)/).filter((p) => p !== '');
    words.push(...(parts.length ? parts : ['']));
    line.push(w);
  });
  return { words, cword: words.length - 1, line: line.join(' '), curOffset };
}

async function completeArgument(view: TerminalView, ctx: CursorContext, code: string, cursor: number, end: number): Promise<Range> {
  const raw = code.slice(ctx.start, cursor);
  const { raws, argv } = commandLine(ctx, { raw, value: ctx.prefixValue });
  const current = argv.length - 1;
  const { index, position } = resolveCommand(argv, current);
  if (position === 'command') {
    if (raw.includes('/')) return completeFiles(view, ctx, code, cursor, end, 'commands');
    return completeCommands(view, ctx, code, cursor, end);
  }
  const command = argv[index];
  const words = completionWords(raws.slice(index));
  if (words && command) {
    const r = await bashCompletion(view, command, words);
    if (r && r.replies.length) {
      const start = ctx.start + words.curOffset;
      // Hidden files only when asked for with a leading dot, as for nslab's own file names.
      const cur = raw.slice(words.curOffset);
      const replies = r.filenames && !cur.startsWith('.') ? r.replies.filter((m) => !/(^|\/)\.[^/]*$/.test(m)) : r.replies;
      const matches = replies.map((m) => {
        if (!r.filenames) return m;
        let isDir = false;
        try {
          isDir = statSync(hostPath(view, m)).isDirectory();
        } catch {
          /* not a file */
        }
        return requote(m, 'none', true) + (isDir && !m.endsWith('/') ? '/' : '');
      });
      return { matches: [...new Set(matches)].sort(), start, end: Math.max(end, start) };
    }
    if (r && !r.fallback && !raw.startsWith('-')) return { matches: [], start: ctx.start, end };
  }
  const value = ctx.prefixValue;
  if (value !== null && value.startsWith('-') && command && COMMAND_NAME.test(command)) {
    const docs = await commandDocs(command, view);
    const eq = value.indexOf('=');
    if (docs && eq < 0) {
      const names = new Set<string>();
      for (const e of docs.options) for (const n of e.names) if (n.startsWith(value)) names.add(n);
      return { matches: [...names].sort(), start: ctx.start, end };
    }
  }
  // `--file=/et`, `if=/de`: the file name after the `=` (readline breaks words there too).
  const eq = /^[^'"\\$`]*=/.exec(raw);
  if (eq) return completeFiles(view, { ...ctx, start: ctx.start + eq[0].length }, code, cursor, end, 'files');
  return completeFiles(view, ctx, code, cursor, end, 'files');
}

// ---- bash-completion ----------------------------------------------------------------------------

const BASH_COMPLETION = '/usr/share/bash-completion/bash_completion';

/**
 * Runs a command's bash-completion function in a fresh, non-interactive bash. Arguments (all
 * data): $1 command name, $2 COMP_CWORD, $3 the /proc of the terminal's shell, $4 COMP_LINE,
 * then the words. The environment is fixed (no BASH_ENV, no user completion files, a system
 * PATH); the current directory is the terminal's. Replaced before the function runs:
 *   - _command_offset (used by sudo, xargs, watch … to complete *another* command's words):
 *     answers nothing, so a completion can only be the one chosen here;
 *   - _pids, _pgids, _pnames: read the terminal's /proc, so `kill <Tab>` offers the lab's PIDs;
 *   - compopt: records the options (filenames, default …) instead of failing outside readline.
 * Functions that run project files (make, configure) are refused.
 */
const BASH_COMPLETION_HELPER = String.raw`
nslab_cmd=$1 nslab_cword=$2 nslab_proc=$3 COMP_LINE=$4
shift 4
COMP_WORDS=("$@") COMP_CWORD=$nslab_cword COMP_POINT=${'$'}{#COMP_LINE} COMP_TYPE=9 COMP_KEY=9
. /usr/share/bash-completion/bash_completion >/dev/null 2>&1 </dev/null || exit 3
_command_offset() { COMPREPLY=(); return 0; }
_pids() {
  local p; COMPREPLY=()
  for p in "$nslab_proc"/[0-9]*; do p=${'$'}{p##*/}; [[ $p == "$cur"* ]] && COMPREPLY+=("$p"); done
}
_pgids() {
  local p s; local -A seen; COMPREPLY=()
  for p in "$nslab_proc"/[0-9]*/stat; do
    read -r s <"$p" 2>/dev/null || continue; s=${'$'}{s##*) }; s=${'$'}{s#* * }; s=${'$'}{s%% *}
    [[ $s == "$cur"* && -z ${'$'}{seen[$s]} ]] && seen[$s]=1 && COMPREPLY+=("$s")
  done
}
_pnames() {
  local p s; local -A seen; COMPREPLY=()
  for p in "$nslab_proc"/[0-9]*/comm; do
    read -r s <"$p" 2>/dev/null || continue
    [[ $s == "$cur"* && -z ${'$'}{seen[$s]} ]] && seen[$s]=1 && COMPREPLY+=("$s")
  done
}
nslab_flags=
compopt() { local a; for a in "$@"; do nslab_flags+=" $a"; done; return 0; }
set -f
nslab_spec=$(complete -p -- "$nslab_cmd" 2>/dev/null) || { __load_completion "$nslab_cmd" >/dev/null 2>&1 </dev/null; nslab_spec=$(complete -p -- "$nslab_cmd" 2>/dev/null); } || exit 4
[[ $nslab_spec =~ \ -F\ ([^ ]+) ]] || exit 4
nslab_fn=${'$'}{BASH_REMATCH[1]}
case $nslab_fn in _make|_configure|_command|_root_command) exit 5 ;; esac
for nslab_w in $nslab_spec; do case $nslab_w in default|bashdefault|dirnames|filenames|plusdirs) nslab_flags+=" $nslab_w" ;; esac; done
set +f
"$nslab_fn" "$nslab_cmd" "${'$'}{COMP_WORDS[COMP_CWORD]}" "${'$'}{COMP_WORDS[COMP_CWORD-1]}" </dev/null >/dev/null 2>&1
nslab_status=$?
printf '%s\0' "$nslab_status $nslab_flags" "${'$'}{COMPREPLY[@]}"
`;

interface BashCompletionResult {
  replies: string[];
  filenames: boolean;
  /** No completion for this command, or it asks for bash's default (files). */
  fallback: boolean;
}

async function bashCompletion(view: TerminalView, command: string, w: { words: string[]; cword: number; line: string }): Promise<BashCompletionResult | null> {
  if (!existsSync(BASH_COMPLETION)) return null;
  const proc = `${view.root}/proc`;
  const home = view.env.get('HOME');
  const r = await runProcess(BASH, ['--norc', '--noprofile', '-c', BASH_COMPLETION_HELPER, 'nslab-complete', command, String(w.cword), proc, w.line, ...w.words], {
    cwd: view.cwd,
    env: {
      PATH: SYSTEM_PATH,
      LANG: 'C.UTF-8',
      HOME: home ? hostPath(view, home) : '/nonexistent',
      XDG_DATA_DIRS: '/usr/local/share:/usr/share',
      BASH_COMPLETION_USER_DIR: '/nonexistent',
      BASH_COMPLETION_USER_FILE: '/dev/null',
      BASH_COMPLETION_COMPAT_DIR: '/nonexistent',
    },
    timeoutMs: 2000,
  });
  if (r.status === 4) return { replies: [], filenames: false, fallback: true };
  if (r.status !== 0) return null;
  const [head, ...replies] = r.stdout.split('\0');
  const flags = (head ?? '').split(' ');
  return {
    replies: replies.filter((x) => x !== ''),
    filenames: flags.includes('filenames'),
    fallback: flags[0] === '124' || flags.some((f) => f === 'default' || f === 'bashdefault' || f === 'filenames' || f === 'dirnames'),
  };
}

// =================================================================================================
// Documentation: man pages, --help, bash's help

export interface OptionEntry {
  names: string[];
  /** The option takes the next word as its argument (`-t PID`, `--propagation MODE`). */
  takesArgument: boolean;
  /** The entry as the page shows it: its heading line and description, dedented. */
  lines: string[];
}

interface Docs {
  /** man page (plain text) or --help output. */
  text: string;
  source: 'man' | 'help';
  options: OptionEntry[];
}

/**
 * Commands whose `--help` nslab may run to read their options: well-known tools that only print
 * help for it. Anything else is read from its man page only — a program the user names is never
 * run just because the cursor is on it (a script may ignore `--help` and do its job).
 */
const SAFE_HELP = new Set([
  'unshare', 'nsenter', 'mount', 'umount', 'findmnt', 'lsns', 'setpriv', 'chroot', 'ps', 'pgrep', 'pkill', 'kill', 'ls', 'cat', 'echo',
  'sleep', 'ip', 'ping', 'hostname', 'id', 'ipcs', 'ipcmk', 'ipcrm', 'mkdir', 'touch', 'grep', 'sed', 'head', 'tail', 'wc', 'sort', 'uniq',
  'cut', 'tr', 'env', 'stat', 'readlink', 'pstree', 'killall', 'fuser', 'free', 'uptime', 'date', 'uname', 'df', 'du', 'cp', 'mv', 'ln',
  'rm', 'rmdir', 'chmod', 'chown', 'whoami', 'nproc', 'lsblk', 'prlimit', 'timeout', 'nice', 'nohup', 'setsid', 'stdbuf', 'taskset', 'chrt',
]);
/** Where `--help` alone is only a pointer to more help. */
const HELP_ARGS: Record<string, string[]> = { ps: ['--help', 'all'] };

const docsCache = new Map<string, Promise<Docs | null>>();

function commandDocs(command: string, view: TerminalView): Promise<Docs | null> {
  if (!COMMAND_NAME.test(command)) return Promise.resolve(null);
  const lang = manLanguage(language(view));
  const key = `${command}\0${lang}`;
  let p = docsCache.get(key);
  if (!p) {
    p = loadDocs(command, lang);
    if (docsCache.size > 300) docsCache.clear();
    docsCache.set(key, p);
    // A failure (timeout) is not remembered.
    p.then((d) => {
      if (!d) docsCache.delete(key);
    });
  }
  return p;
}

/** The language for man's -L ('' = the default pages). */
export function manLanguage(lang: string): string {
  const m = /^([a-z]{2,3})(_[A-Z]{2})?/.exec(lang);
  if (!m || m[1] === 'en') return '';
  return m[0];
}

/**
 * The width man formats pages to. Jupyter does not tell a kernel how wide the help panel is, so
 * pages are formatted unwrapped — one line per paragraph, whatever its length (groff fills a
 * paragraph up to the width; examples and tables keep their lines) — and the panel wraps them
 * to its own width. At 80 columns the text came hard-wrapped and wrapped raggedly again in a
 * narrower panel. 4000: longer than any paragraph of the pages the tutorial uses (bash's longest
 * is under 3000 characters); trailing padding is trimmed.
 */
export const MAN_WIDTH = 4000;

async function loadDocs(command: string, lang: string): Promise<Docs | null> {
  if (MAN) {
    const args = ['--nj', '--nh', '-S', '1:8:6', ...(lang ? ['-L', lang] : []), '-P', 'cat', '--', command];
    const r = await runProcess(MAN, args, {
      env: { PATH: SYSTEM_PATH, LANG: 'C.UTF-8', MANWIDTH: String(MAN_WIDTH), MANPAGER: 'cat', PAGER: 'cat', GROFF_NO_SGR: '1' },
      timeoutMs: 5000,
    });
    const text = plainText(r.stdout);
    // A formatted page starts with its header, NAME(SECTION); anything else (a stub `man` of a
    // minimised image) is not a page.
    if (r.status === 0 && /^\s*\S+\(\w+\)/.test(text)) return { text, source: 'man', options: parseOptionEntries(text) };
  }
  if (SAFE_HELP.has(command)) {
    const file = SYSTEM_PATH.split(':').map((d) => `${d}/${command}`).find((f) => existsSync(f));
    if (file) {
      const r = await runProcess(file, HELP_ARGS[command] ?? ['--help'], { env: { PATH: SYSTEM_PATH, LANG: 'C.UTF-8', COLUMNS: '80' }, timeoutMs: 3000 });
      const text = plainText(r.stdout || r.stderr);
      if (text.trim()) return { text, source: 'help', options: parseOptionEntries(text) };
    }
  }
  return null;
}

/** Plain text from man/--help output: no overstrike (x\bx, _\bx), no colours, ASCII hyphens. */
export function plainText(s: string): string {
  return s
    .replace(/.\x08/g, '')
    .replace(/\x1b\[[0-9;]*[A-Za-z]/g, '')
    .replace(/[\u2010\u2011\u2212]/g, '-')
    .replace(/\r/g, '')
    .split('\n')
    .map((l) => trimEnd(l, ' \t'))
    .join('\n');
}

const indentOf = (l: string) => /^ */.exec(l)![0].length;

/**
 * Option entries of a man page or --help text: a line indented I that starts with `-`, then its
 * description — the rest of that line after two spaces, and the following lines indented more
 * than I (blank lines included when more of the description follows).
 */
export function parseOptionEntries(text: string): OptionEntry[] {
  const lines = text.split('\n');
  const out: OptionEntry[] = [];
  for (let k = 0; k < lines.length; k++) {
    const line = lines[k];
    const m = /^( {1,24})(-{1,2}[A-Za-z0-9?#@][^\s]*.*)$/.exec(line);
    if (!m) continue;
    const indent = m[1].length;
    const body = m[2];
    const gap = /\s{2,}/.exec(body);
    const spec = gap ? body.slice(0, gap.index) : body;
    // Continuation lines are indented deeper than the heading — as deep as the description
    // column when the description starts on the heading's line (`ps --help`'s ` f, --forest`
    // under `-f` is an entry of its own, not a continuation).
    const minIndent = gap ? Math.max(indent + 1, indent + gap.index + gap[0].length - 1) : indent + 1;
    let j = k + 1;
    const block = [line];
    while (j < lines.length) {
      const l = lines[j];
      if (l.trim() === '') {
        let n = j + 1;
        while (n < lines.length && lines[n].trim() === '') n++;
        if (n < lines.length && indentOf(lines[n]) >= minIndent) {
          for (; j < n; j++) block.push('');
          continue;
        }
        break;
      }
      if (indentOf(l) < minIndent) break;
      block.push(l);
      j++;
    }
    // A heading needs a description: on its line after a gap, or on the next lines.
    if (!gap && block.length === 1) continue;
    const names: string[] = [];
    for (const n of spec.matchAll(/(?:^|[\s,|/])(--?[A-Za-z0-9?#@][\w-]*)(?=$|[\s,=[<|/])/g)) names.push(n[1]);
    if (!names.length) continue;
    const lastName = names[names.length - 1];
    const after = spec.slice(spec.lastIndexOf(lastName) + lastName.length);
    const takesArgument = /^=/.test(after) || /^ +[^-\s[]/.test(after) || /^ +\[?<?[a-z]/i.test(after) && !/^ *\[=/.test(after);
    out.push({ names, takesArgument, lines: dedent(block) });
    if (block.length > 1) k = j - 1;
  }
  return out;
}

/** Lines shifted left by the indentation of the first one (never cutting into text). */
function dedent(lines: string[]): string[] {
  const first = lines.find((l) => l.trim());
  const ind = first === undefined ? 0 : indentOf(first);
  return lines.map((l) => l.slice(Math.min(ind, indentOf(l))).replace(/\s+$/, ''));
}

interface ManSection {
  title: string;
  lines: string[];
}

/** Sections of a formatted man page (headings start in column 0; header and footer dropped). */
export function manSections(text: string): ManSection[] {
  const lines = text.split('\n');
  while (lines.length && !lines[0].trim()) lines.shift();
  while (lines.length && !lines[lines.length - 1].trim()) lines.pop();
  if (lines.length && /\(\w+\)\s*$/.test(lines[0])) lines.shift();
  if (lines.length && /\(\w+\)\s*$/.test(lines[lines.length - 1])) lines.pop();
  const out: ManSection[] = [];
  for (const l of lines) {
    if (/^\S/.test(l)) out.push({ title: l.trim(), lines: [] });
    else if (out.length) out[out.length - 1].lines.push(l);
  }
  return out;
}

/** NAME, SYNOPSIS and the start of DESCRIPTION of a man page (any language: by position). */
export function manSummary(text: string): string {
  const sections = manSections(text);
  if (!sections.length) return '';
  const find = (re: RegExp, fallback: number) => sections.find((s) => re.test(s.title)) ?? sections[fallback];
  const name = find(/^(NAME|名前|名称)$/i, 0);
  const synopsis = find(/^(SYNOPSIS|書式|概要|形式)$/i, 1);
  const description = find(/^(DESCRIPTION|説明|解説)$/i, 2);
  const out: string[] = [];
  const body = (s: ManSection, max: number) => {
    const ls = dedent(trimBlank(s.lines));
    const cut = ls.length > max;
    return [...ls.slice(0, max).map((l) => '  ' + l), ...(cut ? ['  …'] : [])];
  };
  if (name) out.push(...body(name, 4).map((l) => l.trim()), '');
  if (synopsis && synopsis !== name) out.push(synopsis.title, ...body(synopsis, 10), '');
  if (description && description !== name && description !== synopsis) {
    // The first paragraphs: whole ones (a paragraph is one line when the page is unwrapped),
    // about 600 characters or 12 lines, whichever comes first.
    const ls = dedent(trimBlank(description.lines));
    const keep: string[] = [];
    let chars = 0;
    for (const l of ls) {
      if (!l.trim() && (keep.length >= 4 || chars >= 600)) break;
      keep.push(l);
      chars += l.length;
      if (keep.length >= 12) break;
    }
    out.push(description.title, ...trimBlank(keep).map((l) => (l ? '  ' + l : '')));
    if (keep.length < ls.length) out.push('  …');
  }
  return out.join('\n').trim();
}

function trimBlank(lines: string[]): string[] {
  let a = 0;
  let b = lines.length;
  while (a < b && !lines[a].trim()) a++;
  while (b > a && !lines[b - 1].trim()) b--;
  return lines.slice(a, b);
}

/** The entries for `option` (`--mount-proc`, `--mount-proc=/x`, or a cluster `-ef`). */
export function optionEntries(options: OptionEntry[], option: string): OptionEntry[] {
  const name = option.replace(/=.*$/, '');
  const exact = options.find((e) => e.names.includes(name));
  if (exact) return [exact];
  if (/^-[A-Za-z0-9]{2,}$/.test(name)) {
    const each = [...name.slice(1)].map((ch) => options.find((e) => e.names.includes(`-${ch}`)));
    if (each.every((e) => e)) return [...new Set(each as OptionEntry[])];
  }
  return [];
}

const helpCache = new Map<string, Promise<string>>();

function builtinHelp(name: string): Promise<string> {
  let p = helpCache.get(name);
  if (!p) {
    p = runProcess(BASH, ['--norc', '--noprofile', '-c', 'help -- "$1"', 'nslab-help', name], { env: { PATH: SYSTEM_PATH, LANG: 'C.UTF-8' }, timeoutMs: 3000 }).then((r) => r.stdout);
    helpCache.set(name, p);
  }
  return p;
}

function findInPath(view: TerminalView, name: string): string | null {
  for (const dir of pathDirs(view)) {
    try {
      const st = statSync(hostPath(view, `${dir}/${name}`));
      if (st.isFile() && st.mode & 0o111) return `${dir}/${name}`;
    } catch {
      /* not here */
    }
  }
  return null;
}

async function commandHelp(name: string, view: TerminalView, code: string, cursor: number): Promise<string | null> {
  if (KEYWORDS.includes(name) || BUILTINS.includes(name)) {
    let help = (await builtinHelp(name)).trim();
    if (help) {
      const lines = help.split('\n');
      if (lines.length > 45) help = `${lines.slice(0, 40).join('\n')}\n    … (help ${name})`;
      const file = findInPath(view, name);
      return file ? `${help}\n\n(${name} is a shell ${KEYWORDS.includes(name) ? 'keyword' : 'builtin'}; there is also ${file}: see man ${name})` : help;
    }
  }
  const alias = aliases(view).get(name);
  if (alias !== undefined) return `${name}: an alias for \`${alias}\` (in ~/.bashrc)`;
  if (cellFunctions(code.slice(0, cursor)).includes(name)) return `${name}: a shell function defined in this cell`;
  if (!COMMAND_NAME.test(name)) return null;
  const file = findInPath(view, name);
  const docs = await commandDocs(name, view);
  if (docs?.source === 'man') {
    const summary = manSummary(docs.text);
    if (summary) return `${summary}\n\n(man ${name}${file ? `; ${file}` : ''})`;
  }
  if (docs?.source === 'help') {
    const lines = trimBlank(docs.text.split('\n'));
    return `${lines.slice(0, 40).join('\n')}${lines.length > 40 ? '\n…' : ''}\n\n(${name} ${(HELP_ARGS[name] ?? ['--help']).join(' ')}${file ? `; ${file}` : ''})`;
  }
  return file ? `${name}: ${file} (no manual page is installed for it)` : null;
}

async function optionHelp(command: string, option: string, view: TerminalView): Promise<string | null> {
  const docs = await commandDocs(command, view);
  if (!docs) return null;
  const entries = optionEntries(docs.options, option);
  if (!entries.length) return null;
  const source = docs.source === 'man' ? `man ${command}` : `${command} ${(HELP_ARGS[command] ?? ['--help']).join(' ')}`;
  return `${command} ${option}\n\n${entries.map((e) => e.lines.join('\n')).join('\n\n')}\n\n(${source})`;
}

// =================================================================================================
// Inspection

async function inspectAt(code: string, cursor: number, view: TerminalView): Promise<string | null> {
  const option = cellOptionLine(code, cursor);
  if (option) return CELL_OPTIONS[option.name] ? `#| ${CELL_OPTIONS[option.name]}` : null;

  const ctx = scanContext(code, cursor);
  if (ctx.kind === 'parameter' || ctx.kind === 'arithmetic') {
    const m = /^\$?\{?([A-Za-z_]\w*)/.exec(code.slice(ctx.start));
    return m ? variableHelp(m[1], view, code, cursor) : null;
  }
  if (ctx.kind !== 'word') return null;
  // The whole word under the cursor (when the cursor is at a word's start, that word).
  const raw = code.slice(ctx.start, wordEnd(code, cursor, ctx.quote));

  // $NAME / ${NAME} under the cursor.
  for (const m of raw.matchAll(/\$\{?([A-Za-z_]\w*)\}?/g)) {
    const a = ctx.start + m.index!;
    if (cursor >= a && cursor <= a + m[0].length && ctx.quote !== 'single') return variableHelp(m[1], view, code, cursor);
  }

  const value = expandWord(raw, new Map(), null)?.value ?? null;
  if (raw === '') {
    // Between words: the command the last word belongs to.
    const { argv } = commandLine(ctx, { raw: '', value: '' });
    if (argv.length < 2) return null;
    const { index } = resolveCommand(argv.slice(0, -1), argv.length - 2);
    const command = argv[index];
    return command ? commandHelp(command, view, code, cursor) : null;
  }
  if (ctx.role === 'command') return value ? commandHelp(value, view, code, cursor) : null;
  if (ctx.role === 'assignment') {
    const m = /^([A-Za-z_]\w*)/.exec(raw);
    return m ? variableHelp(m[1], view, code, cursor) : null;
  }
  if (ctx.role !== 'argument') return null;
  const { argv } = commandLine(ctx, { raw, value });
  const { index, position } = resolveCommand(argv, argv.length - 1);
  if (position === 'command') return value ? commandHelp(value, view, code, cursor) : null;
  const command = argv[index];
  if (!command) return null;
  if (value?.startsWith('-') && value !== '-' && value !== '--') {
    const help = await optionHelp(command, value, view);
    if (help) return help;
  }
  // The argument of an option (`--propagation private`): that option's entry.
  const prev = argv[argv.length - 2];
  if (argv.length - 2 > index && prev?.startsWith('-') && !prev.includes('=')) {
    const docs = await commandDocs(command, view);
    const entry = docs && optionEntries(docs.options, prev)[0];
    if (entry?.takesArgument) return optionHelp(command, prev, view);
  }
  return commandHelp(command, view, code, cursor);
}

function variableHelp(name: string, view: TerminalView, code: string, cursor: number): string | null {
  const cell = cellVariables(code.slice(0, cursor));
  if (cell.has(name)) {
    const v = cell.get(name);
    return v === null || v === undefined ? `${name}: a variable set in this cell` : `${name}=${v}   (set in this cell)`;
  }
  const v = view.env.get(name);
  if (v !== undefined) return `${name}=${v.length > 2000 ? v.slice(0, 2000) + '…' : v}\n\n(exported to the terminal's shell when it started)`;
  if (SHELL_VARIABLES.includes(name)) return `${name}: a variable bash sets (see man bash, "Shell Variables")`;
  return null;
}

/** Tabs expanded, trailing blanks off, runs of blank lines cut to one. */
function tidy(text: string): string {
  return text
    .split('\n')
    .map((l) => expandTabs(l).replace(/\s+$/, ''))
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

function expandTabs(line: string): string {
  if (!line.includes('\t')) return line;
  let out = '';
  for (const ch of line) out += ch === '\t' ? ' '.repeat(8 - (out.length % 8)) : ch;
  return out;
}

// =================================================================================================
// Processes

const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

function which(name: string): string | null {
  for (const d of [...SYSTEM_PATH.split(':'), ...(process.env.PATH ?? '').split(':')]) {
    if (!d.startsWith('/')) continue;
    try {
      const st = statSync(`${d}/${name}`);
      if (st.isFile() && st.mode & 0o111) return `${d}/${name}`;
    } catch {
      /* next */
    }
  }
  return null;
}

const BASH = which('bash') ?? '/bin/bash';
let MAN = which('man');

/** Tests: behave as on a machine with another `man` (null: none, as in minimised images). */
export function setManProgramForTests(path: string | null | undefined): void {
  MAN = path === undefined ? which('man') : path;
  docsCache.clear();
}

interface RunResult {
  stdout: string;
  stderr: string;
  /** null: killed (timeout) or could not start. */
  status: number | null;
}

/**
 * Runs a helper in its own process group, with a fixed environment and stdin from `input` (or
 * /dev/null); at the timeout, or when it prints too much, the group is killed (by its PGID,
 * which is the helper's PID: only what nslab started).
 */
function runProcess(file: string, args: string[], opts: { env: Record<string, string>; cwd?: string; input?: string; timeoutMs: number; maxBytes?: number }): Promise<RunResult> {
  const maxBytes = opts.maxBytes ?? 4 * 1024 * 1024;
  return new Promise((resolve) => {
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(file, args, { cwd: opts.cwd, env: opts.env, stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], detached: true });
    } catch {
      resolve({ stdout: '', stderr: '', status: null });
      return;
    }
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let size = 0;
    let killed = false;
    const killGroup = () => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    };
    const timer = setTimeout(() => {
      killed = true;
      killGroup();
    }, opts.timeoutMs);
    child.stdout!.on('data', (d: Buffer) => {
      size += d.length;
      if (size <= maxBytes) out.push(d);
      else {
        killed = true;
        killGroup();
      }
    });
    child.stderr!.on('data', (d: Buffer) => {
      if (err.length < 64) err.push(d);
    });
    child.on('error', () => {
      clearTimeout(timer);
      resolve({ stdout: '', stderr: '', status: null });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      killGroup(); // stragglers a helper left behind
      resolve({ stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), status: killed ? null : code });
    });
    if (opts.input !== undefined) {
      child.stdin!.on('error', () => undefined);
      child.stdin!.end(opts.input);
    }
  });
}

/**
 * `text` without the trailing characters in `chars`. A loop, not a regex: `/[ \t]+$/` retries
 * from every position of a long run and takes quadratic time on hostile input.
 */
export function trimEnd(text: string, chars: string): string {
  let end = text.length;
  while (end > 0 && chars.includes(text[end - 1])) end--;
  return text.slice(0, end);
}
