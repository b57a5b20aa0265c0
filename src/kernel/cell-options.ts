/**
 * Cell options: bash comments in the cell's first lines, in the Quarto style, so a cell still
 * runs unchanged in any bash:
 *
 *   #| terminal: 2            run in terminal 2 (a second shell joined to the same lab)
 *   #| wait: false            type the cell and return; the command keeps running there
 *   #| expect-exit: 1         the cell's exit status must be 1
 *   #| expect-output: TEXT    the output must contain TEXT (`/regex/flags` for a regex); may repeat
 *   #| expect-absent: TEXT    the output must not contain TEXT (same forms); may repeat
 *   #| timeout: 30            interrupt the cell after 30 seconds
 *
 * Unknown or malformed options are an error before anything runs.
 */

export interface TextMatcher {
  /** As written in the cell, for messages. */
  source: string;
  test(text: string): boolean;
}

export interface CellOptions {
  terminal: number;
  wait: boolean;
  expectExit: number | null;
  expectOutput: TextMatcher[];
  expectAbsent: TextMatcher[];
  timeoutSeconds: number | null;
}

export interface ParsedCell {
  options: CellOptions;
  /** The code with the option lines removed. */
  code: string;
  /** Problems with the options; non-empty means the cell must not run. */
  errors: string[];
}

export const MAX_TERMINALS = 9;
export const MAX_TIMEOUT_SECONDS = 2147483;
const OPTION_LINE = /^\s*#\|(.*)$/;

export function defaultOptions(): CellOptions {
  return { terminal: 1, wait: true, expectExit: null, expectOutput: [], expectAbsent: [], timeoutSeconds: null };
}

/** `defaultTerminal`: where the cell runs unless it says `#| terminal: N` (a subshell's own terminal). */
export function parseCell(source: string, defaultTerminal = 1): ParsedCell {
  const options = { ...defaultOptions(), terminal: defaultTerminal };
  const errors: string[] = [];
  const lines = source.split('\n');
  let i = 0;
  for (; i < lines.length; i++) {
    const m = OPTION_LINE.exec(lines[i]);
    if (!m) break;
    const body = m[1].trim();
    const where = `line ${i + 1} (\`${lines[i].trim()}\`)`;
    const colon = body.indexOf(':');
    if (colon <= 0) {
      errors.push(`${where}: a cell option is written \`#| name: value\``);
      continue;
    }
    const name = body.slice(0, colon).trim();
    const value = body.slice(colon + 1).trim();
    const problem = applyOption(options, name, value);
    if (problem) errors.push(`${where}: ${problem}`);
  }
  return { options, code: lines.slice(i).join('\n'), errors };
}

function applyOption(o: CellOptions, name: string, value: string): string | null {
  switch (name) {
    case 'terminal': {
      const n = wholeNumber(value);
      if (n === null || n < 1 || n > MAX_TERMINALS) return `terminal must be a number from 1 to ${MAX_TERMINALS}, not \`${value}\``;
      o.terminal = n;
      return null;
    }
    case 'wait':
      if (value !== 'true' && value !== 'false') return `wait must be true or false, not \`${value}\``;
      o.wait = value === 'true';
      return null;
    case 'expect-exit': {
      const n = wholeNumber(value);
      if (n === null || n > 255) return `expect-exit must be an exit status from 0 to 255, not \`${value}\``;
      o.expectExit = n;
      return null;
    }
    case 'expect-output':
    case 'expect-absent': {
      const matcher = textMatcher(value);
      if (typeof matcher === 'string') return matcher;
      (name === 'expect-output' ? o.expectOutput : o.expectAbsent).push(matcher);
      return null;
    }
    case 'timeout': {
      const n = Number(value);
      if (!value || !Number.isFinite(n) || n <= 0) return `timeout must be a number of seconds, not \`${value}\``;
      // Timers take at most 2^31-1 ms (Node fires a longer one at once): 24 days is "never".
      o.timeoutSeconds = Math.min(n, MAX_TIMEOUT_SECONDS);
      return null;
    }
    default:
      return `unknown cell option \`${name}\` (known: terminal, wait, expect-exit, expect-output, expect-absent, timeout)`;
  }
}

function wholeNumber(v: string): number | null {
  return /^\d+$/.test(v) ? Number(v) : null;
}

/** `TEXT` (substring; surrounding quotes are removed) or `/regex/flags`. */
function textMatcher(value: string): TextMatcher | string {
  if (!value) return 'expected text is empty';
  const re = /^\/(.*)\/([a-z]*)$/s.exec(value);
  if (re) {
    try {
      const regex = new RegExp(re[1], re[2]);
      return { source: value, test: (t) => regex.test(t) };
    } catch (err) {
      return `invalid regular expression ${value}: ${(err as Error).message}`;
    }
  }
  const quoted = /^(["'])(.*)\1$/s.exec(value);
  const text = quoted ? quoted[2] : value;
  return { source: JSON.stringify(text), test: (t) => t.includes(text) };
}

/** Check a finished cell against its expectations; returns what did not hold. */
export function checkExpectations(o: CellOptions, output: string, exitCode: number | null): string[] {
  // Expectations read the text as the learner sees it: colours (SGR, e.g. from `ls --color`)
  // are not part of it, or `/\bpid\b/` would not match a coloured `pid`.
  output = output.replace(SGR, '');
  const failed: string[] = [];
  if (o.expectExit !== null && exitCode !== o.expectExit) {
    failed.push(`expected exit status ${o.expectExit}, got ${exitCode === null ? 'none' : exitCode}`);
  }
  for (const m of o.expectOutput) if (!m.test(output)) failed.push(`expected the output to contain ${m.source}`);
  for (const m of o.expectAbsent) if (m.test(output)) failed.push(`expected the output not to contain ${m.source}`);
  return failed;
}

/** Colour escape sequences, the only escapes that reach a cell's output (see the stream parser). */
const SGR = /\x1b\[[0-9;:]*m/g;

export function hasExpectations(o: CellOptions): boolean {
  return o.expectExit !== null || o.expectOutput.length > 0 || o.expectAbsent.length > 0;
}
