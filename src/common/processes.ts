/**
 * Finding programs and running helper processes: shared by the lab (which tools exist), the
 * introspection helpers (bash -n, man, bash-completion) and the command line.
 */
import { spawn, spawnSync } from 'node:child_process';
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

/**
 * A short helper run to its end (at most `timeoutMs`): whether it succeeded and, if not, why
 * (its stderr, the error that kept it from starting, or its exit status).
 */
export function runBriefly(file: string, args: string[], timeoutMs = 5000): { ok: boolean; why: string } {
  const r = spawnSync(file, args, { encoding: 'utf8', timeout: timeoutMs });
  return { ok: r.status === 0, why: String(r.stderr || r.error?.message || `exit status ${r.status}`).trim() };
}

export interface RunResult {
  stdout: string;
  stderr: string;
  /** null: killed (timeout, too much output) or could not start. */
  status: number | null;
  /** Killed at the timeout. */
  timedOut: boolean;
  /** Why it could not start (spawn's error: ENOENT, EACCES...), if it could not. */
  error?: Error;
}

export interface RunOptions {
  env: NodeJS.ProcessEnv;
  cwd?: string;
  /** Its stdin; /dev/null when absent. */
  input?: string;
  timeoutMs: number;
  /** How much of stdout, and of stderr, is kept; more on stdout kills it. Default 4 MiB. */
  maxBytes?: number;
  /**
   * true (the default, for helpers): it runs in a process group of its own, killed whole at the
   * timeout and when it ends (stragglers it left). false (for a long job started from the command
   * line, such as a notebook run): it stays in nslab's process group, so Ctrl-C at the terminal
   * reaches it too, and only it is killed at the timeout.
   */
  ownGroup?: boolean;
}

/**
 * Runs a program with a fixed environment and stdin from `input` (or /dev/null), collecting its
 * output; at the timeout, or when it prints too much, it is killed (with `ownGroup`, its whole
 * group, by its PGID, which is its PID: only what nslab started). Never rejects.
 */
export function runProcess(file: string, args: string[], opts: RunOptions): Promise<RunResult> {
  const maxBytes = opts.maxBytes ?? 4 * 1024 * 1024;
  const ownGroup = opts.ownGroup ?? true;
  return new Promise((resolve) => {
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(file, args, { cwd: opts.cwd, env: opts.env, stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], detached: ownGroup });
    } catch (e) {
      resolve({ stdout: '', stderr: '', status: null, timedOut: false, error: e as Error });
      return;
    }
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outSize = 0;
    let errSize = 0;
    let killed = false;
    let timedOut = false;
    const kill = () => {
      if (child.pid === undefined) return;
      try {
        if (ownGroup) process.kill(-child.pid, 'SIGKILL');
        else child.kill('SIGKILL');
      } catch {
        /* already gone */
      }
    };
    const timer = setTimeout(() => {
      killed = timedOut = true;
      kill();
    }, opts.timeoutMs);
    child.stdout!.on('data', (d: Buffer) => {
      outSize += d.length;
      if (outSize <= maxBytes) out.push(d);
      else {
        killed = true;
        kill();
      }
    });
    child.stderr!.on('data', (d: Buffer) => {
      errSize += d.length;
      if (errSize <= maxBytes) err.push(d);
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ stdout: '', stderr: '', status: null, timedOut: false, error: e });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (ownGroup) kill(); // stragglers a helper left behind
      resolve({ stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), status: killed ? null : code, timedOut });
    });
    if (opts.input !== undefined) {
      child.stdin!.on('error', () => undefined);
      child.stdin!.end(opts.input);
    }
  });
}
