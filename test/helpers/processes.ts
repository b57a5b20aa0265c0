/**
 * Process bookkeeping for end-to-end tests, read from /proc: who descends from whom, which
 * processes a Jupyter client launched, and whether they are gone. Every process is named by its
 * PID *and* its start time, so a PID reused by an unrelated process is never mistaken for ours.
 *
 * Kernels are found by environment: jupyter_client (and jupyter-server through it) starts every
 * kernel with `JPY_PARENT_PID=<its own PID>`, and the kernel's children (nslab's lab: unshare,
 * tini, bash…) inherit it. That finds them even after the launcher died and they were reparented.
 */
import { readFileSync, readdirSync } from 'node:fs';

export interface Proc {
  pid: number;
  ppid: number;
  /** Start time in clock ticks since boot (field 22 of /proc/PID/stat). */
  start: number;
  state: string;
  cmd: string;
}

/** One process as it is now, or null when it is gone. */
export function readProc(pid: number): Proc | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = stat.lastIndexOf(')');
    const fields = stat.slice(close + 2).split(' ');
    let cmd = '';
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0+$/, '').replace(/\0/g, ' ');
    } catch {
      /* gone meanwhile */
    }
    if (!cmd) cmd = `[${stat.slice(stat.indexOf('(') + 1, close)}]`;
    return { pid, state: fields[0], ppid: Number(fields[1]), start: Number(fields[19]), cmd };
  } catch {
    return null;
  }
}

export function listProcesses(): Proc[] {
  const out: Proc[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const p = readProc(Number(name));
    if (p) out.push(p);
  }
  return out;
}

/** All descendants of `root` (not `root` itself), as they are now. */
export function descendants(root: number): Proc[] {
  const all = listProcesses();
  const byParent = new Map<number, Proc[]>();
  for (const p of all) byParent.set(p.ppid, [...(byParent.get(p.ppid) ?? []), p]);
  const out: Proc[] = [];
  const todo = [root];
  while (todo.length) {
    for (const child of byParent.get(todo.pop()!) ?? []) {
      out.push(child);
      todo.push(child.pid);
    }
  }
  return out;
}

/** `root` itself (if running) and all its descendants, as they are now. */
export function processTree(root: number): Proc[] {
  const self = readProc(root);
  return [...(self ? [self] : []), ...descendants(root)];
}

/** Processes whose environment holds `NAME=value` (e.g. kernels a launcher started, and their children). */
export function processesWithEnv(name: string, value: string): Proc[] {
  const needle = Buffer.from(`\0${name}=${value}\0`);
  const out: Proc[] = [];
  for (const p of listProcesses()) {
    if (p.pid === process.pid) continue;
    try {
      const env = Buffer.concat([Buffer.from([0]), readFileSync(`/proc/${p.pid}/environ`), Buffer.from([0])]);
      if (env.includes(needle)) out.push(p);
    } catch {
      /* gone, or a kernel thread */
    }
  }
  return out;
}

/** Still running (same PID and start time, and not a zombie waiting to be reaped)? */
export function isAlive(p: Proc): boolean {
  const now = readProc(p.pid);
  return now !== null && now.start === p.start && now.state !== 'Z' && now.state !== 'X';
}

export function killAll(procs: Proc[], signal: NodeJS.Signals = 'SIGKILL'): void {
  for (const p of procs) {
    if (!isAlive(p)) continue;
    try {
      process.kill(p.pid, signal);
    } catch {
      /* gone meanwhile */
    }
  }
}

/** Waits (polling /proc every 50 ms) until none of `procs` runs; returns those still running at the deadline. */
export async function waitGone(procs: Proc[], timeoutMs: number): Promise<Proc[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const alive = procs.filter(isAlive);
    if (!alive.length || Date.now() >= deadline) return alive;
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function formatProcs(procs: Proc[]): string {
  return procs.map((p) => `${p.pid} (${p.state}) ${p.cmd}`).join('\n');
}
