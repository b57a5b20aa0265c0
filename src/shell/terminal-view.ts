/**
 * A terminal's innermost shell as this machine sees it, for answers about the terminal that do not
 * run anything in it (completion and inspection read files, PATH and variables through it).
 */
import { statSync } from 'node:fs';
import { safeReadFile } from '../common/files.js';

export interface TerminalView {
  /** The shell's PID as this machine numbers it. */
  pid: number;
  /** Host path of the shell's current directory (`/proc/<pid>/cwd`: it follows `cd`). */
  cwd: string;
  /** Host path prefix for absolute paths in the shell's mount namespace ('' = this machine's). */
  root: string;
  /** The shell's environment as it was started (exported variables). */
  env: ReadonlyMap<string, string>;
}

/** The view of the shell with PID `pid` (read through /proc/<pid>; empty where unreadable). */
export function terminalViewOf(pid: number): TerminalView {
  const env = new Map<string, string>();
  // Empty when the shell is gone or not ours to read.
  for (const kv of (safeReadFile(`/proc/${pid}/environ`) ?? '').split('\0')) {
    const eq = kv.indexOf('=');
    if (eq > 0) env.set(kv.slice(0, eq), kv.slice(eq + 1));
  }
  let root = '';
  try {
    statSync(`/proc/${pid}/root/`);
    root = `/proc/${pid}/root`;
  } catch {
    root = '';
  }
  return { pid, cwd: `/proc/${pid}/cwd`, root, env };
}
