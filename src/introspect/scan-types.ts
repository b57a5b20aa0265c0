/**
 * What the scanner (scanner.ts) says about the cursor, and the pieces its readers share: a step
 * of the scan returns where the next step starts, or a `Stop` when it reached the cursor.
 */

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


/** The scan reached the cursor: what is there. */
export interface Stop {
  readonly stop: true;
  ctx: Partial<CursorContext> & { kind: CursorContext['kind'] };
  /** The enclosing command list has filled in role, words and depth. */
  done: boolean;
}

/** A scanning step: the index where the next step starts, or the stop at the cursor. */
export type Step = number | Stop;

export interface ScannedWord {
  start: number;
  end: number;
  raw: string;
  value: string | null;
}

export const isStop = (r: Step | ScannedWord): r is Stop => typeof r === 'object' && 'stop' in r;
export const stopAt = (ctx: Stop['ctx'], done: boolean): Stop => ({ stop: true, ctx, done });
/** A stop that the enclosing command list leaves as it is (not in a word of its own). */
export const stopInside = (kind: CursorContext['kind'], start: number, depth: number, words: ShellWord[] = []): Stop =>
  stopAt({ kind, start, quote: 'none', escape: false, depth, words, role: 'argument', prefixValue: null }, true);


export const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*(\[[^\]]*\])?\+?=/;
export const OPERATORS = [';;&', '<<<', '&>>', '<<-', ';;', ';&', '&&', '||', '|&', '>>', '<<', '<>', '>|', '&>', '<&', '>&', ';', '&', '|', '(', ')', '<', '>'];
/** Characters that end an unquoted word. */
export const BREAK = new Set([' ', '\t', '\n', ';', '&', '|', '(', ')', '<', '>']);

export type Expect = 'command' | 'argument' | 'for-name' | 'for-in' | 'for-list' | 'function-name' | 'case-word' | 'case-in' | 'pattern' | 'cond';

export interface Heredoc {
  delim: string;
  strip: boolean;
}


/** The text and the cursor, and the readers of the parts that nest (Scanner in scanner.ts). */
export interface ScanSource {
  readonly s: string;
  /** The cursor: the scan stops here. */
  readonly to: number;
  peek(k: number): string | undefined;
  list(i: number, closer: string, depth: number): Step;
  word(i: number, depth: number): ScannedWord | Stop;
  heredocBodies(i: number, heredocs: Heredoc[], depth: number): Step;
  dollar(i: number, depth: number): Step;
  arithmetic(i: number, depth: number, closer?: string): Step;
  balanced(i: number, start: number, depth: number): Step;
}


export function ansiEscape(c: string): string {
  return ({ n: '\n', t: '\t', r: '\r', a: '\x07', b: '\b', e: '\x1b', E: '\x1b', f: '\f', v: '\v' } as Record<string, string>)[c] ?? c;
}

