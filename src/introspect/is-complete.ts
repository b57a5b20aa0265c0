/**
 * is_complete: `bash -n` (parse, execute nothing) reads the cell from stdin; the scanner adds what
 * bash -n accepts but a person has not finished (a trailing backslash) and the indentation of the
 * next line.
 */
import { BASH } from './documentation.js';
import { MAX_INTROSPECT_CHARS } from './cursor.js';
import { scanContext, type CursorContext } from './scanner.js';
import { trimEnd } from './words.js';
import { SYSTEM_PATH, runProcess } from '../common/processes.js';

export type Completeness = { status: 'complete' | 'invalid' | 'unknown' } | { status: 'incomplete'; indent: string };

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
