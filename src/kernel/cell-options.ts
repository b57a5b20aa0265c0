/**
 * Cell options: bash comments in the cell's first lines, in the Quarto style, so a cell still
 * runs unchanged in any bash. They change what happens, so the learner sees them; a comment
 * after the value (` # …`, as in bash) says so in words:
 *
 *   #| terminal: 2            run in terminal 2 (a second shell joined to the same lab)
 *   #| wait: false            type the cell and return; the command keeps running there
 *   #| timeout: 30            interrupt the cell after 30 seconds
 *
 *   #| terminal: 2  # 2 つ目のターミナルで実行
 *
 * Unknown or malformed options are an error before anything runs. What a cell must show (its
 * checks) is not a cell option: it lives in the cell's metadata and is judged by the notebook
 * runner (src/cli/checks.ts), not by the kernel.
 */

export interface CellOptions {
  terminal: number;
  wait: boolean;
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
/** A trailing bash comment: `#` after white space, to the end of the line. */
const TRAILING_COMMENT = /\s+#.*$/;

export function defaultOptions(): CellOptions {
  return { terminal: 1, wait: true, timeoutSeconds: null };
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
    const value = body.slice(colon + 1).replace(TRAILING_COMMENT, '').trim();
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
    case 'expect-exit':
    case 'expect-output':
    case 'expect-absent':
      return `\`${name}\` is no longer a cell option: a check lives in the cell's metadata, {"nslab": {"expect": [...]}}, where the notebook runner (npm run handouts / rerun) judges it; see the README, "Checks"`;
    case 'timeout': {
      const n = Number(value);
      if (!value || !Number.isFinite(n) || n <= 0) return `timeout must be a number of seconds, not \`${value}\``;
      // Timers take at most 2^31-1 ms (Node fires a longer one at once): 24 days is "never".
      o.timeoutSeconds = Math.min(n, MAX_TIMEOUT_SECONDS);
      return null;
    }
    default:
      return `unknown cell option \`${name}\` (known: terminal, wait, timeout)`;
  }
}

function wholeNumber(v: string): number | null {
  return /^\d+$/.test(v) ? Number(v) : null;
}
