/**
 * What nscheck looks at: the shell that ran it (its parent), the lab, the other terminals —
 * read from a /proc (the real one, or a folder laid out like one in tests) and, for what
 * /proc cannot tell (a hostname in another UTS namespace, a ping), from short commands run
 * with a time limit through an injectable runner.
 *
 * Facts it relies on (proc(5), namespaces(7)):
 * - /proc/PID/ns/TYPE are links named `TYPE:[inode]`: equal names, same namespace.
 * - /proc/self/status `PPid:` numbers the parent as *this /proc* does, so it stays right when
 *   /proc belongs to an outer PID namespace than the checker's own; when /proc belongs to a
 *   namespace that does not contain the checker (one that has ended), /proc/self is missing.
 * - /proc/sys/kernel/hostname, /proc/sysvipc/msg and /proc/net/* show the namespaces of the
 *   process reading them: nscheck is the shell's child, so they show the shell's.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { safeReadFile, safeReadlink } from '../../common/files.js';

export interface CommandResult {
  status: number | null;
  stdout: string;
}

/** Runs a command with a time limit (ms); null status when it could not run or timed out. */
export type Runner = (file: string, args: string[], timeoutMs: number) => CommandResult;

export const realRunner: Runner = (file, args, timeoutMs) => {
  const r = spawnSync(file, args, { encoding: 'utf8', timeout: timeoutMs, stdio: ['ignore', 'pipe', 'pipe'] });
  return { status: r.error ? null : r.status, stdout: r.stdout ?? '' };
};

export interface ProcessView {
  pid: number;
  ppid: number;
  name: string;
  /** PIDs from this /proc's namespace inward (status `NSpid`). */
  nspid: number[];
  uid: number | null;
  /** CapEff as a bigint (0n when unreadable). */
  capEff: bigint;
  /** NSLAB_TERMINAL from its environment, when readable. */
  terminal: number | null;
}

export class Probe {
  constructor(
    readonly proc: string,
    /** The lab's namespaces as the kernel recorded them (`type:[inode]`), empty when unknown. */
    readonly labNamespaces: string[],
    readonly run: Runner = realRunner,
  ) {}

  private read(path: string): string | null {
    return safeReadFile(join(this.proc, path));
  }

  /** `type:[inode]` of a process's namespace, or null. */
  ns(pid: number, type: string): string | null {
    return safeReadlink(join(this.proc, String(pid), 'ns', type));
  }

  /** The lab's namespace of a type, or null when not recorded (no lab). */
  labNs(type: string): string | null {
    return this.labNamespaces.find((l) => l.startsWith(`${type}:`)) ?? null;
  }

  /** The checker's parent (the shell that ran the check) as this /proc numbers it, or null. */
  callerPid(): number | null {
    const status = this.read('self/status');
    const m = status && /^PPid:\s*(\d+)/m.exec(status);
    return m ? Number(m[1]) : null;
  }

  process(pid: number): ProcessView | null {
    const status = this.read(`${pid}/status`);
    if (!status) return null;
    const field = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(status)?.[1] ?? '';
    const environ = this.read(`${pid}/environ`) ?? '';
    const term = /(?:^|\0)NSLAB_TERMINAL=(\d+)/.exec(environ);
    let capEff = 0n;
    try { capEff = BigInt(`0x${field('CapEff') || '0'}`); } catch { /* malformed: none */ }
    const uid = field('Uid').split(/\s+/)[0];
    return {
      pid,
      ppid: Number(field('PPid')) || 0,
      name: field('Name'),
      nspid: field('NSpid').split(/\s+/).filter(Boolean).map(Number),
      uid: uid === '' ? null : Number(uid),
      capEff,
      terminal: term ? Number(term[1]) : null,
    };
  }

  /** Every PID this /proc shows. */
  pids(): number[] {
    try {
      return readdirSync(this.proc).filter((n) => /^\d+$/.test(n)).map(Number).sort((a, b) => a - b);
    } catch { return []; }
  }

  /** A process of the lab's own namespace of `type` (PID 1 first), as this /proc numbers it. */
  labProcess(type: string): number | null {
    const want = this.labNs(type);
    if (!want) return null;
    for (const pid of this.pids()) if (this.ns(pid, type) === want) return pid;
    return null;
  }

  /**
   * Mount points of a process's mount namespace with their file system type and options, and
   * `root`: the mounted folder of the file system (for cgroup2, a cgroup path as the reader's
   * cgroup namespace sees it: `/..` when the mount shows a cgroup above that namespace's root).
   */
  mounts(pid: number): { target: string; fstype: string; optional: string; root: string }[] {
    const text = this.read(`${pid}/mountinfo`) ?? '';
    const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_: string, o: string) => String.fromCharCode(parseInt(o, 8)));
    const out: { target: string; fstype: string; optional: string; root: string }[] = [];
    for (const line of text.split('\n')) {
      // id parent major:minor root target options [optional fields] - fstype source super-options
      const [left, right] = line.split(' - ');
      if (!right) continue;
      const f = left.split(' ');
      out.push({ target: unescape(f[4]), fstype: right.split(' ')[0], optional: f.slice(6).join(' '), root: unescape(f[3]) });
    }
    return out;
  }

  /** Whether a file exists under a directory as process `pid` sees it (through /proc/PID/root). */
  hasFile(pid: number, dir: string, name: string): boolean {
    try { return readdirSync(join(this.proc, String(pid), 'root', dir)).includes(name); } catch { return false; }
  }

  /** Whether the checker may write a file as process `pid` sees it (through /proc/PID/root). */
  writable(pid: number, path: string): boolean {
    try { accessSync(join(this.proc, String(pid), 'root', path), constants.W_OK); return true; } catch { return false; }
  }

  /** uid_map of a process: [inside, outside, count] rows. */
  uidMap(pid: number): number[][] {
    return (this.read(`${pid}/uid_map`) ?? '').split('\n').map((l) => l.trim().split(/\s+/).map(Number)).filter((r) => r.length === 3 && r.every(Number.isFinite));
  }

  /** Lines of /proc/PID/cgroup. */
  cgroups(pid: number): string[] {
    return (this.read(`${pid}/cgroup`) ?? '').split('\n').filter(Boolean);
  }

  /** timens_offsets of a process: seconds by clock name. */
  timeOffsets(pid: number): Record<string, number> {
    const out: Record<string, number> = {};
    for (const line of (this.read(`${pid}/timens_offsets`) ?? '').split('\n')) {
      const m = /^(\w+)\s+(-?\d+)\s+/.exec(line);
      if (m) out[m[1]] = Number(m[2]);
    }
    return out;
  }

  /** Highest capability number of this kernel (its CapEff with every capability). */
  allCaps(): bigint {
    const last = Number((this.read('sys/kernel/cap_last_cap') ?? '40').trim());
    return (1n << BigInt(last + 1)) - 1n;
  }

  /** The checker's own hostname (that of the shell's UTS namespace). */
  hostname(): string {
    return (this.read('sys/kernel/hostname') ?? '').trim();
  }

  /** System V message queues of the checker's (= the shell's) IPC namespace. */
  messageQueues(): number {
    const text = this.read('sysvipc/msg') ?? '';
    return text.split('\n').slice(1).filter((l) => l.trim()).length;
  }

  /** Interfaces of the shell's network namespace with their IPv4 addresses, kind and state. */
  interfaces(): { name: string; kind: string; up: boolean; ipv4: string[] }[] {
    const r = this.run('ip', ['-j', '-d', 'addr'], 3000);
    if (r.status !== 0) return [];
    try {
      const list = JSON.parse(r.stdout) as { ifname: string; flags?: string[]; linkinfo?: { info_kind?: string }; addr_info?: { family: string; local: string; prefixlen: number }[] }[];
      return list.map((i) => ({
        name: i.ifname,
        kind: i.linkinfo?.info_kind ?? '',
        up: (i.flags ?? []).includes('UP'),
        ipv4: (i.addr_info ?? []).filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`),
      }));
    } catch { return []; }
  }

  /** One ping from the shell's network namespace; true when the answer came. */
  ping(address: string): boolean {
    return this.run('ping', ['-c', '1', '-W', '1', address], 3000).status === 0;
  }

  /** Hostname of another process's UTS namespace (through nsenter), or null. */
  hostnameOf(pid: number): string | null {
    const r = this.run('nsenter', ['--target', String(pid), '--uts', 'cat', '/proc/sys/kernel/hostname'], 3000);
    return r.status === 0 ? r.stdout.trim() : null;
  }
}
