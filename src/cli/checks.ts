/**
 * Cell checks: what a code cell of a tutorial notebook must show, kept in the cell's metadata
 * where authors edit them and learners do not look (JupyterLab and Notebook 7 do not display
 * cell metadata, nbconvert does not print it):
 *
 *   "metadata": {"nslab": {"expect": [
 *     {"output": "No such process"},     the output must contain this text
 *     {"output": "/^root +1 +0 /m"},     ... or match this regex (`/regex/flags`, JavaScript)
 *     {"absent": "\"/mnt/view\""},        the output must not contain (or match) it; quotes make
 *                                        a text that starts and ends with / plain text
 *     {"exit": 1}                        the cell's exit status must be 1
 *   ]}}
 *
 * The kernel knows nothing of them: `nslab handouts` and `nslab rerun` (src/cli/handouts.ts)
 * judge every check of every cell that ran against the outputs the run wrote into the notebook,
 * read as the learner reads them: the stdout stream and the text form of pictures (nstree's
 * `text/plain`), in order, without colours; kernel notices on stderr do not count.
 */
import { joinSource } from './normalize.js';
import type { NbOutput } from './normalize.js';

/** One check as written in the metadata. */
export type CheckSpec = { output: string } | { absent: string } | { exit: number };

export interface Check {
  kind: 'output' | 'absent' | 'exit';
  /** As written in the metadata (JSON), for messages. */
  written: string;
  /** For output/absent: does the text hold the pattern? */
  matches?: (text: string) => boolean;
  /** For exit: the status wanted. */
  exit?: number;
}

/** Where the checks live in a cell's metadata: `metadata.nslab.expect`. */
export const CHECKS_KEY = 'nslab';

interface CellLike {
  cell_type: string;
  metadata?: { [k: string]: unknown };
  outputs?: NbOutput[];
  source?: string | string[];
}

/** The checks of a cell, and what is wrong with how they are written ([] when nothing). */
export function cellChecks(cell: CellLike): { checks: Check[]; errors: string[] } {
  const checks: Check[] = [];
  const errors: string[] = [];
  const ours = cell.metadata?.[CHECKS_KEY];
  if (ours === undefined) return { checks, errors };
  if (cell.cell_type !== 'code') return { checks, errors: [`metadata.${CHECKS_KEY} is only for code cells`] };
  if (!isObject(ours)) return { checks, errors: [`metadata.${CHECKS_KEY} must be an object like {"expect": [...]}`] };
  for (const key of Object.keys(ours)) {
    if (key !== 'expect') errors.push(`metadata.${CHECKS_KEY}: unknown key ${JSON.stringify(key)} (known: "expect")`);
  }
  const list = ours.expect;
  if (list === undefined) return { checks, errors };
  if (!Array.isArray(list)) return { checks, errors: [...errors, `metadata.${CHECKS_KEY}.expect must be a list of checks`] };
  list.forEach((spec: unknown, i) => {
    const c = parseCheck(spec);
    if (typeof c === 'string') errors.push(`metadata.${CHECKS_KEY}.expect[${i}] ${JSON.stringify(spec)}: ${c}`);
    else checks.push(c);
  });
  return { checks, errors };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A check from its metadata form, or what is wrong with it. */
export function parseCheck(spec: unknown): Check | string {
  const form = 'a check is {"output": TEXT}, {"absent": TEXT} or {"exit": N}';
  if (!isObject(spec)) return form;
  const keys = Object.keys(spec);
  if (keys.length !== 1) return form;
  const kind = keys[0];
  const value = spec[kind];
  const written = JSON.stringify(spec);
  if (kind === 'exit') {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 255) return 'exit must be an exit status from 0 to 255';
    return { kind, written, exit: value };
  }
  if (kind !== 'output' && kind !== 'absent') return `unknown check ${JSON.stringify(kind)}; ${form}`;
  if (typeof value !== 'string') return `${kind} must be a text or a /regex/flags`;
  const matches = textMatcher(value);
  if (typeof matches === 'string') return matches;
  return { kind, written, matches };
}

/**
 * `TEXT` (substring), `/regex/flags` (a JavaScript regular expression), or `"TEXT"` / `'TEXT'`
 * (substring, quotes removed: for a text that starts and ends with `/`, like `"/mnt/view"`).
 */
function textMatcher(value: string): ((t: string) => boolean) | string {
  if (!value) return 'the text is empty';
  const re = /^\/(.*)\/([a-z]*)$/s.exec(value);
  if (re) {
    try {
      const regex = new RegExp(re[1], re[2]);
      return (t) => {
        regex.lastIndex = 0; // a /g or /y regex would otherwise start where the last test ended
        return regex.test(t);
      };
    } catch (err) {
      return `invalid regular expression ${value}: ${(err as Error).message}`;
    }
  }
  const quoted = /^(["'])(.*)\1$/s.exec(value);
  const text = quoted ? quoted[2] : value;
  return (t) => t.includes(text);
}

/** Colour escape sequences, the only escapes that reach a cell's output (see the stream parser). */
const SGR = /\x1b\[[0-9;:]*m/g;

/**
 * The output of a cell as the learner reads it: the stdout stream and the text form of rich
 * outputs (nstree's picture), in order, colours removed. Kernel notices (stderr) and the error
 * line are not part of what the commands printed.
 */
export function seenOutput(outputs: NbOutput[]): string {
  let text = '';
  for (const o of outputs) {
    if (o.output_type === 'stream' && o.name === 'stdout') text += joinSource(o.text ?? '');
    else if (o.output_type === 'display_data' || o.output_type === 'execute_result') {
      const plain = (o.data)?.['text/plain'];
      if (plain !== undefined) text += joinSource(plain as string | string[]);
    }
  }
  return text.replace(SGR, '');
}

/** What the kernel said of a cell's end (scripts/execute_notebook.py's report). */
export interface CellEnd { status: string; ename: string | null; evalue: string | null }

/**
 * A cell's exit status, from the kernel's reply as the learner sees it: `ok` is 0; the nslab
 * kernel reports a non-zero status as `ExitStatus: exit status N` (or `Interrupted (exit status N)`).
 * null when the reply names none.
 */
export function exitStatus(end: CellEnd): number | null {
  if (end.status === 'ok') return 0;
  const m = /\bexit status (\d+)\b/.exec(end.evalue ?? '');
  return m && (end.ename === 'ExitStatus' || end.ename === 'Interrupted') ? Number(m[1]) : null;
}

/** What failed of these checks, one line each ([] when all hold). */
export function failedChecks(checks: Check[], output: string, exit: number | null): string[] {
  const failed: string[] = [];
  for (const c of checks) {
    if (c.kind === 'exit' && exit !== c.exit) failed.push(`check ${c.written}: expected exit status ${c.exit}, got ${exit === null ? 'none' : exit}`);
    if (c.kind === 'output' && !c.matches!(output)) failed.push(`check ${c.written}: the output does not show it`);
    if (c.kind === 'absent' && c.matches!(output)) failed.push(`check ${c.written}: the output shows it`);
  }
  return failed;
}

/** How many checks a notebook holds. */
export function countChecks(cells: CellLike[]): number {
  return cells.reduce((n, c) => n + cellChecks(c).checks.length, 0);
}

/** Clip a long output for a message. */
export function clip(text: string, max = 2000): string {
  return text.length > max ? text.slice(0, max) + `\n… (${text.length - max} more characters)` : text;
}
