/**
 * A real nslab kernel process for the hostile suite: `node dist/src/cli/main.js kernel FILE` with a
 * connection file written here (free ports on 127.0.0.1, a random key), plus what the suite needs
 * to watch it from outside: its RSS and open fds, its process tree and namespaces, and a check that
 * nothing of its lab is left once it is gone.
 *
 * Every process it kills is one it started (the kernel) or one of that kernel's descendants,
 * named by PID and start time.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loopbackConnectionInfo } from '../helpers/net.js';
import { Client, sleep, type ClientOptions, type ConnectionInfo } from './client.js';

/** The repository root (this file runs as dist/test/hostile/kernel-process.js). */
export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const MAIN = join(REPO, 'dist', 'src', 'cli', 'main.js');

// ---- /proc ---------------------------------------------------------------------------------------

export interface ProcId {
  pid: number;
  start: number;
  comm: string;
}

function statOf(pid: number): { ppid: number; start: number; state: string; comm: string } | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const close = s.lastIndexOf(')');
    const f = s.slice(close + 2).split(' ');
    return { state: f[0], ppid: Number(f[1]), start: Number(f[19]), comm: s.slice(s.indexOf('(') + 1, close) };
  } catch {
    return null;
  }
}

/** Running (same PID and start time) and not a zombie. */
export function isAlive(p: ProcId): boolean {
  const s = statOf(p.pid);
  return s !== null && s.start === p.start && s.state !== 'Z' && s.state !== 'X';
}

/** `root`'s descendants (not `root`), from /proc/PID/task/TID/children. */
export function descendants(root: number): ProcId[] {
  const out: ProcId[] = [];
  const stack = [root];
  while (stack.length) {
    const pid = stack.pop()!;
    let tasks: string[] = [];
    try {
      tasks = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tasks) {
      let children = '';
      try {
        children = readFileSync(`/proc/${pid}/task/${tid}/children`, 'latin1').trim();
      } catch {
        continue;
      }
      for (const c of children ? children.split(' ').map(Number) : []) {
        const s = statOf(c);
        if (s) out.push({ pid: c, start: s.start, comm: s.comm });
        stack.push(c);
      }
    }
  }
  return out;
}

export function rssKb(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
  return m ? Number(m[1]) : NaN;
}

export function peakRssKb(pid: number): number {
  const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
  return m ? Number(m[1]) : NaN;
}

export function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** What `/proc/PID/fd/N` points to, for every fd of `pid`. */
export function fdTargets(pid: number): string[] {
  const out: string[] = [];
  let fds: string[] = [];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return out;
  }
  for (const fd of fds) {
    try {
      out.push(readlinkSync(`/proc/${pid}/fd/${fd}`));
    } catch {
      /* closed meanwhile */
    }
  }
  return out;
}

const NS_KINDS = ['pid', 'mnt', 'uts', 'ipc', 'net', 'user', 'cgroup'] as const;

function nsLink(pid: number | 'self', kind: string): string | null {
  try {
    return readlinkSync(`/proc/${pid}/ns/${kind}`);
  } catch {
    return null;
  }
}

/** This machine's own namespaces (those of the test process). */
export function hostNamespaces(): Set<string> {
  return new Set(NS_KINDS.map((k) => nsLink('self', k)).filter((x): x is string => x !== null));
}

export function mountinfo(): string {
  return readFileSync('/proc/self/mountinfo', 'utf8');
}

/** Everything a lab consists of, as seen from outside while it runs. */
export interface LabSnapshot {
  processes: ProcId[];
  /** Namespaces its processes are in that this machine's own processes are not (e.g. `pid:[4026532…]`). */
  namespaces: string[];
}

export function snapshotLab(kernelPid: number): LabSnapshot {
  const host = hostNamespaces();
  const processes = descendants(kernelPid);
  const namespaces = new Set<string>();
  for (const p of processes) {
    for (const k of NS_KINDS) {
      const l = nsLink(p.pid, k);
      if (l && !host.has(l)) namespaces.add(l);
    }
  }
  return { processes, namespaces: [...namespaces].sort() };
}

/**
 * Who still holds any of `namespaces`: a live process in it, an open fd on it (an nsfs file), or a
 * bind mount of it in this machine's mount table.
 */
export function namespaceHolders(namespaces: readonly string[]): string[] {
  if (!namespaces.length) return [];
  const wanted = new Set(namespaces);
  const inodes = namespaces.map((n) => /\[(\d+)\]/.exec(n)?.[1]).filter(Boolean) as string[];
  const found: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    const st = statOf(pid);
    if (!st || st.state === 'Z') continue;
    for (const k of NS_KINDS) {
      const l = nsLink(pid, k);
      if (l && wanted.has(l)) found.push(`process ${pid} (${st.comm}) is in ${l}`);
    }
    for (const t of fdTargets(pid)) if (wanted.has(t)) found.push(`process ${pid} (${st.comm}) holds an fd on ${t}`);
  }
  for (const line of mountinfo().split('\n')) {
    if (inodes.some((i) => line.includes(`[${i}]`))) found.push(`mount: ${line}`);
  }
  return found;
}

/** Wait until every process of `snap` is gone, then check no namespace of it is held by anything. */
export async function assertLabGone(snap: LabSnapshot, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let alive = snap.processes.filter(isAlive);
  while (alive.length && Date.now() < deadline) {
    await sleep(25);
    alive = snap.processes.filter(isAlive);
  }
  assert.deepEqual(alive.map((p) => `${p.pid} ${p.comm}`), [], 'processes of the lab left running');
  // A namespace outlives its last process only while something holds it.
  let holders = namespaceHolders(snap.namespaces);
  while (holders.length && Date.now() < deadline) {
    await sleep(25);
    holders = namespaceHolders(snap.namespaces);
  }
  assert.deepEqual(holders, [], 'namespaces of the lab still held');
}

// ---- ports and connection files ----------------------------------------------------------------


export function newConnectionInfo(): Promise<ConnectionInfo> {
  return loopbackConnectionInfo();
}

// ---- the kernel ------------------------------------------------------------------------------------

export interface KernelOptions {
  env?: NodeJS.ProcessEnv;
  /** Reuse a connection (a restart binds the same ports with the same key). */
  info?: ConnectionInfo;
}

/** Directories of the test's own (connection files, kernel cwd); removed by `cleanupAll`. */
const ownDirs = new Set<string>();
/** Every /tmp/nslab-* directory a kernel of this suite made (checked at the end). */
export const labDirs = new Set<string>();
/** Every kernel started, so a failing test cannot leave one running. */
const started = new Set<KernelProcess>();

export class KernelProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly start: number;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The kernel's stderr (its log), last 2 MB. */
  log = '';
  /** Lines of the kernel's log that say something went wrong inside nslab (not a dropped message). */
  readonly internalErrors: string[] = [];
  /** How many messages the transport said it dropped. */
  droppedMessages = 0;
  /** The kernel's own directory (/tmp/nslab-XXXX), from its info log. */
  labDir: string | null = null;
  private lastSnapshot: LabSnapshot | null = null;
  private hasExited = false;

  private constructor(
    readonly info: ConnectionInfo,
    readonly dir: string,
    readonly connectionFile: string,
    env: NodeJS.ProcessEnv,
  ) {
    this.child = spawn(process.execPath, [MAIN, 'kernel', connectionFile], {
      cwd: dir,
      env: { ...process.env, NSLAB_LOG: 'info', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.pid = this.child.pid!;
    this.start = statOf(this.pid)?.start ?? -1;
    let partial = '';
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      this.log = (this.log + d).slice(-2_000_000);
      partial += d;
      let nl: number;
      while ((nl = partial.indexOf('\n')) >= 0) {
        this.onLogLine(partial.slice(0, nl));
        partial = partial.slice(nl + 1);
      }
    });
    this.exited = new Promise((r) =>
      this.child.once('exit', (code, signal) => {
        this.hasExited = true;
        r({ code, signal });
      }),
    );
    started.add(this);
  }

  static async launch(opts: KernelOptions = {}): Promise<KernelProcess> {
    const info = opts.info ?? (await newConnectionInfo());
    const dir = mkdtempSync(join(tmpdir(), 'nslab-hostile-'));
    ownDirs.add(dir);
    const file = join(dir, 'kernel.json');
    writeFileSync(file, JSON.stringify(info), { mode: 0o600 });
    return new KernelProcess(info, dir, file, opts.env ?? {});
  }

  private onLogLine(line: string): void {
    const dir = /files in (\/\S*nslab-\w+)/.exec(line);
    if (dir) {
      this.labDir = dir[1];
      labDirs.add(dir[1]);
    }
    if (/ WARN .*dropped a message on/.test(line)) this.droppedMessages++;
    // A logged stack means an exception inside nslab (a bad peer is logged without one: see
    // zmq-transport's dispatch); ERROR lines and uncaught exceptions are bugs too.
    const stack = /^\s+at /.test(line);
    if (stack && !this.inStack) {
      const last = this.internalErrors.length - 1;
      if (last >= 0 && this.internalErrors[last] === this.previousLine) this.internalErrors[last] += `\n${line}`;
      else this.internalErrors.push(`${this.previousLine}\n${line}`);
    }
    else if (!stack && (/^\[nslab ERROR /.test(line) || /uncaught exception|unhandled rejection/.test(line))) this.internalErrors.push(line);
    this.inStack = stack;
    this.previousLine = line;
  }

  private inStack = false;
  private previousLine = '';

  get alive(): boolean {
    return !this.hasExited && isAlive({ pid: this.pid, start: this.start, comm: '' });
  }

  /** A client on this kernel, with iopub delivering. */
  async client(opts: ClientOptions = {}): Promise<Client> {
    const c = new Client(this.info, opts);
    await c.waitForIopub();
    return c;
  }

  /** The lab mode the kernel reports in its banner (`lab`, `rootless` or `host`). */
  async mode(client: Client): Promise<string> {
    const info = await client.request('shell', 'kernel_info_request', {}, 10_000);
    return /\(mode: (\w+)\)/.exec(String(info.content.banner))?.[1] ?? 'unknown';
  }

  /** The lab as it is now (remembered, so a test can check it is gone after the kernel is). */
  snapshot(): LabSnapshot {
    this.lastSnapshot = snapshotLab(this.pid);
    return this.lastSnapshot;
  }

  /** The lab's shells: `bash` processes below the kernel, with their PID in the lab. */
  shells(): { pid: number; innerPid: number; start: number }[] {
    return descendants(this.pid)
      .filter((p) => p.comm === 'bash')
      .map((p) => {
        const m = /^NSpid:\s*(.*)$/m.exec(readFileSync(`/proc/${p.pid}/status`, 'latin1'));
        const ids = m ? m[1].trim().split(/\s+/).map(Number) : [p.pid];
        return { pid: p.pid, innerPid: ids[ids.length - 1], start: p.start };
      });
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.alive) this.child.kill(signal);
  }

  /**
   * End the kernel: shutdown_request if a client is given, else SIGTERM; SIGKILL after `graceMs`.
   * Then remove what a killed kernel cannot (its /tmp/nslab-* directory) and check its lab is gone.
   */
  async stop(client?: Client, graceMs = 8000): Promise<void> {
    const snap = this.alive ? this.snapshot() : this.lastSnapshot;
    if (this.alive) {
      if (client) {
        try {
          await client.request('control', 'shutdown_request', { restart: false }, graceMs);
        } catch {
          /* killed below */
        }
      } else {
        this.child.kill('SIGTERM');
      }
      const t = setTimeout(() => this.kill('SIGKILL'), graceMs);
      await this.exited;
      clearTimeout(t);
    }
    await client?.close();
    await this.reapLab(snap);
  }

  /** After the kernel is gone: kill any survivor of its lab (a test failure), remove its files. */
  async reapLab(snap: LabSnapshot | null = this.lastSnapshot): Promise<void> {
    if (snap) {
      const survivors = snap.processes.filter(isAlive);
      for (const p of survivors) {
        try {
          process.kill(p.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
    this.removeLabDir();
    started.delete(this);
  }

  /** A killed kernel cannot remove /tmp/nslab-XXXX itself; returns whether it was still there. */
  removeLabDir(): boolean {
    if (!this.labDir || !existsSync(this.labDir)) return false;
    rmSync(this.labDir, { recursive: true, force: true });
    return true;
  }
}

/** Kill every kernel still running and remove the test's directories (an `after` safety net). */
export async function cleanupAll(): Promise<string[]> {
  for (const k of [...started]) {
    const snap = k.alive ? k.snapshot() : null;
    k.kill('SIGKILL');
    await Promise.race([k.exited, sleep(3000)]);
    await k.reapLab(snap);
  }
  for (const d of ownDirs) rmSync(d, { recursive: true, force: true });
  ownDirs.clear();
  // Killed kernels' directories were removed as they went; anything left is a leak of the suite.
  const left = [...labDirs].filter((d) => existsSync(d));
  for (const d of left) rmSync(d, { recursive: true, force: true });
  return left;
}
