/**
 * A terminal's innermost shell as this machine sees it, for answers about the terminal that do not
 * run anything in it (completion and inspection read files, PATH and variables through it).
 */
import { readFileSync, statSync } from 'node:fs';

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
  try {
    for (const kv of readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')) {
      const eq = kv.indexOf('=');
      if (eq > 0) env.set(kv.slice(0, eq), kv.slice(eq + 1));
    }
  } catch {
    /* gone, or not ours to read */
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
