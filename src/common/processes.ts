/**
 * Finding programs and running helper processes: shared by the lab (which tools exist), the
 * introspection helpers (bash -n, man, bash-completion) and the command line.
 */
import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';

/** Where a system's programs live, in the order a root shell searches them. */
export const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * The executable file `name` in the system's directories, then in the kernel's own PATH (absolute
 * entries only: a relative one would depend on the kernel's current directory).
 */
export function which(name: string): string | null {
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

export interface RunResult {
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
export function runProcess(file: string, args: string[], opts: { env: Record<string, string>; cwd?: string; input?: string; timeoutMs: number; maxBytes?: number }): Promise<RunResult> {
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
