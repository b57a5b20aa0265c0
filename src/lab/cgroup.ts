/**
 * The lab's own cgroup: a root lab gets a child cgroup of the kernel's own cgroup in the cgroup v2
 * hierarchy (`<kernel's 0:: path>/nslab-XXXXXX`), its processes run in it, and its cgroup
 * namespace is rooted there with cgroup2 mounted at /sys/fs/cgroup inside the lab. So every
 * host looks the same from inside (`0::/`, `stat -fc %T /sys/fs/cgroup` = cgroup2fs), and the
 * learner can make child cgroups and move shells between them without touching the machine's
 * tree: everything below the lab's cgroup is the lab's, and is removed with the lab.
 *
 * Facts this relies on (cgroups(7), cgroup_namespaces(7), Documentation/admin-guide/cgroup-v2.rst):
 * - A cgroup namespace is rooted at the cgroup its creator is in at unshare(CLONE_NEWCGROUP);
 *   a cgroup2 mount made by a process of that namespace shows that root and below.
 * - Writing a PID to `cgroup.procs` moves that process; its later children are born there.
 *   From inside a cgroup namespace, a move from or to a cgroup outside its root fails (ENOENT),
 *   so joined terminals are moved in *before* they enter the lab's cgroup namespace.
 * - A cgroup can be removed (rmdir) only when it has no processes and no children; processes
 *   killed a moment ago may still count, hence the retries.
 * - Only cgroup v2: its hierarchy carries no controller on a hybrid host, and on a v2 host a
 *   child of a cgroup with processes has no controllers enabled (the "no internal processes"
 *   rule), so a lab's cgroup never changes what the machine limits.
 *
 * The machine's own mount namespace is never touched: the kernel's cgroup2 tree is reached by
 * short helpers that mount cgroup2 on a folder of the lab's in a mount namespace of their own
 * (`unshare --mount --propagation private`), which ends with them.
 */
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Command } from './sandbox.js';
import { safeReadFile } from '../common/files.js';
import { runBriefly, which } from '../common/processes.js';
import { shellQuote } from '../common/shells.js';

export interface LabCgroup {
  /** Its path in the v2 hierarchy as the kernel sees it (`/nslab-AbC123`, or below the kernel's). */
  path: string;
  /** An empty folder of the lab's on which the helpers mount cgroup2 in their own mount namespace. */
  mountDir: string;
}

/** Prefix of every lab cgroup's name: `<the lab's private folder's name>-<the lab's number>`. */
const PREFIX = 'nslab-';

/**
 * The kernel's own cgroup in the v2 hierarchy: the `0::` line of /proc/self/cgroup. Null when
 * there is none (a v1-only host) or it lies outside this process's cgroup namespace (`/..`).
 */
export function kernelCgroupPath(procSelfCgroup: string): string | null {
  const line = procSelfCgroup.split('\n').find((l) => l.startsWith('0::'));
  const path = line?.slice(3);
  if (!path?.startsWith('/') || path.split('/').includes('..')) return null;
  return path;
}

/** `<parent>/<name>` with exactly one slash between them. */
function childPath(parent: string, name: string): string {
  return `${parent.replace(/\/+$/, '')}/${name}`;
}

/**
 * The helper that reaches the kernel's cgroup2 tree: in a mount namespace of its own it mounts
 * cgroup2 on `mountDir` and runs `script` there with `sh -c`; `$1` is mountDir, the rest follow.
 */
export function cgroupHelperCommand(mountDir: string, script: string, args: string[]): Command {
  return {
    file: which('unshare') ?? 'unshare',
    args: ['--mount', '--propagation', 'private', '--', '/bin/sh', '-c',
      `mount -t cgroup2 nslab "$1" || exit 1; ${script}`, 'nslab-cgroup', mountDir, ...args],
  };
}

/**
 * Makes the lab's cgroup below the kernel's; first removes empty lab cgroups next to it whose
 * kernel's folder in `tmp` is gone (their kernel was killed before it could clean up; a cgroup that
 * still has processes is kept, rmdir refuses). `$2` parent, `$3` name, `$4` tmp.
 */
export function createCgroupCommand(cg: LabCgroup, tmp: string): Command {
  const parent = cg.path.slice(0, cg.path.lastIndexOf('/')) || '/';
  return cgroupHelperCommand(cg.mountDir, `cd "$1$2" || exit 1; ${REMOVE_ABANDONED}; mkdir "$3"`, [parent, basename(cg.path), tmp]);
}

/** In the parent cgroup (the current folder), `$4` the tmp folder: see createCgroupCommand. */
const REMOVE_ABANDONED = `for d in ${PREFIX}*; do [ -d "$d" ] && [ ! -e "$4/\${d%-*}" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null; done; true`;

/** Only the removal of abandoned lab cgroups below `parent` (a kernel starting, before any lab). */
export function removeAbandonedCommand(mountDir: string, parent: string, tmp: string): Command {
  return cgroupHelperCommand(mountDir, `cd "$1$2" || exit 1; ${REMOVE_ABANDONED}`, [parent, '', tmp]);
}

/**
 * A line of shell for the setup of a terminal's first process (it runs before the lab's
 * namespaces are entered): moves that process (`$$`) into the lab's cgroup, so the lab's
 * processes are all born there. Silent if it fails: the engine checks where the lab ended up.
 */
export function moveIntoCgroupSetup(cg: LabCgroup): string {
  const helper = cgroupHelperCommand(cg.mountDir, 'echo "$3" > "$1$2/cgroup.procs"', [cg.path]);
  return [helper.file, ...helper.args.map(shellQuote), '"$$"', '2>/dev/null'].join(' ');
}

/**
 * Removes the lab's cgroup and every child the learner made in it, deepest first. `$2` path.
 */
export function removeCgroupCommand(cg: LabCgroup): Command {
  return cgroupHelperCommand(cg.mountDir,
    'cd "$1" || exit 1; [ -d ".$2" ] || exit 0; find ".$2" -depth -type d -exec rmdir {} + 2>/dev/null; [ ! -d ".$2" ]', [cg.path]);
}

/**
 * Mounts cgroup2 at /sys/fs/cgroup inside the lab, by a process that entered the lab's mount and
 * cgroup namespaces (not its PID namespace, which would cost the lab a PID): the mount shows the
 * lab's cgroup as its root, the machine's cgroup mounts below it are hidden. First, the machine's
 * mounts (`readOnly`, see readOnlyInLabCommand) are made read-only: an `umount` uncovers them.
 */
export function mountInLabCommand(initPid: number, readOnly: string[]): Command {
  return {
    file: which('nsenter') ?? 'nsenter',
    args: [`--target=${initPid}`, '--mount', '--cgroup', '--', '/bin/sh', '-c',
      `${REMOUNT_READ_ONLY}; exec mount -t cgroup2 nslab /sys/fs/cgroup`, 'nslab-cgroup', ...readOnly],
  };
}

const REMOUNT_READ_ONLY = 'for m; do mount -o remount,bind,ro "$m" || exit 1; done';

/**
 * For a lab without a cgroup of its own: the machine's cgroup mounts, which the lab inherited,
 * made read-only in the lab's mount namespace (every mount at and below /sys/fs/cgroup; a bind
 * remount changes only the lab's copy). Else a `mkdir /sys/fs/cgroup/…` in the lab (notebook
 * 07) would make a cgroup in the machine's tree, or a folder on its tmpfs: a rootless lab of a
 * kernel run as root maps the lab's root to the machine's.
 */
export function readOnlyInLabCommand(initPid: number, rootless: boolean, targets: string[]): Command {
  return {
    file: which('nsenter') ?? 'nsenter',
    args: [`--target=${initPid}`, ...(rootless ? ['--user', '--preserve-credentials'] : []), '--mount', '--', '/bin/sh', '-c',
      REMOUNT_READ_ONLY, 'nslab-cgroup', ...targets],
  };
}

/**
 * Mount points at and below /sys/fs/cgroup in a mountinfo text, parents first. Read from outside
 * (/proc/<init>/mountinfo): inside the lab's mount namespace /proc is the lab's, where a helper
 * that did not enter the lab's PID namespace has no /proc/self.
 */
export function cgroupMountTargets(mountinfo: string): string[] {
  const unescape = (t: string) => t.replace(/\\([0-7]{3})/g, (_: string, o: string) => String.fromCharCode(parseInt(o, 8)));
  const targets = mountinfo.split('\n').map((l) => unescape(l.split(' ')[4] ?? ''))
    .filter((t) => t === '/sys/fs/cgroup' || t.startsWith('/sys/fs/cgroup/'));
  return [...new Set(targets)].sort((a, b) => a.split('/').length - b.split('/').length);
}

/** Makes the lab's view of the machine's cgroups read-only (see readOnlyInLabCommand). */
export function protectMachineCgroups(initPid: number, rootless: boolean, log: (msg: string) => void): void {
  const targets = cgroupMountTargets(safeReadFile(`/proc/${initPid}/mountinfo`) ?? '');
  if (!targets.length) return;
  const r = run(readOnlyInLabCommand(initPid, rootless, targets));
  if (!r.ok) log(`the machine's cgroups stay writable in the lab: ${r.why}`);
}

/** The `0::` path of a process as the reader (this process) sees it, or null. */
export function cgroupOf(pid: number): string | null {
  return safeReadFile(`/proc/${pid}/cgroup`)?.split('\n').find((l) => l.startsWith('0::'))?.slice(3) ?? null;
}

function run(command: Command): { ok: boolean; why: string } {
  return runBriefly(command.file, command.args);
}

/**
 * Makes the cgroup of lab number `labNumber` of the kernel whose private folder is `labDir` (the
 * folder's name names the cgroup). Null, and the lab runs without one, when this is not a root lab or it cannot be made:
 * no cgroup v2, a read-only cgroupfs (a container without --privileged), no permission.
 */
export function createLabCgroup(labDir: string, labNumber: number, tmp: string, log: (msg: string) => void): LabCgroup | null {
  const parent = kernelCgroupPath(safeReadFile('/proc/self/cgroup') ?? '');
  if (parent === null) {
    log('no lab cgroup: this process has no cgroup v2 path of its own');
    return null;
  }
  // The lab's number: a lab that ends and a fresh one that starts may overlap for a moment.
  const cg: LabCgroup = { path: childPath(parent, `${basename(labDir)}-${labNumber}`), mountDir: join(labDir, 'cgroup') };
  mkdirSync(cg.mountDir, { mode: 0o700, recursive: true });
  const r = run(createCgroupCommand(cg, tmp));
  if (!r.ok) {
    log(`no lab cgroup: ${r.why || 'it could not be made'}`);
    return null;
  }
  return cg;
}

/**
 * After the lab started: the machine's cgroup mounts made read-only in the lab; then, if its
 * PID 1 is in the lab's cgroup (as this process sees it), cgroup2 is mounted at the lab's
 * /sys/fs/cgroup. False when either failed; the lab then shows the machine's /sys/fs/cgroup,
 * read-only, as a lab without a cgroup of its own.
 */
export function finishLabCgroup(cg: LabCgroup, initPid: number, log: (msg: string) => void): boolean {
  const where = cgroupOf(initPid);
  if (where !== cg.path) {
    log(`the lab is not in its cgroup ${cg.path} (it is in ${where})`);
    protectMachineCgroups(initPid, false, log);
    return false;
  }
  const r = run(mountInLabCommand(initPid, cgroupMountTargets(safeReadFile(`/proc/${initPid}/mountinfo`) ?? '')));
  if (!r.ok) {
    log(`cgroup2 is not mounted in the lab: ${r.why}`);
    protectMachineCgroups(initPid, false, log);
  }
  return r.ok;
}

/**
 * Removes the lab's cgroup and its children once the lab's processes are gone; processes killed
 * a moment ago may still be counted, so it tries again for up to `waitMs`.
 */
export async function removeLabCgroup(cg: LabCgroup, log: (msg: string) => void, waitMs = 3000): Promise<boolean> {
  const command = removeCgroupCommand(cg);
  let r = run(command);
  for (let waited = 0; !r.ok && waited < waitMs; waited += 50) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    r = run(command);
  }
  if (!r.ok) log(`the lab's cgroup ${cg.path} is left: ${r.why || 'it still has processes'}`);
  return r.ok;
}

/**
 * A kernel starting removes the empty lab cgroups of kernels that are gone (SIGKILLed, so they
 * could not), as it removes their folders; `scratch` is an empty folder for the helper's mount.
 * Only as root, the only user whose labs have cgroups. In the background, so that the kernel's
 * start does not wait for it (a lab's creation does the same cleanup, so the two may overlap:
 * rmdir of a cgroup removed meanwhile just fails); resolves when done, for the kernel's shutdown.
 */
export function removeAbandonedLabCgroups(scratch: string, tmp: string, log: (msg: string) => void): Promise<void> {
  const parent = kernelCgroupPath(safeReadFile('/proc/self/cgroup') ?? '');
  if (parent === null || process.getuid?.() !== 0) return Promise.resolve();
  mkdirSync(scratch, { mode: 0o700, recursive: true });
  const command = removeAbandonedCommand(scratch, parent, tmp);
  return new Promise((resolve) => {
    const child = spawn(command.file, command.args, { stdio: 'ignore', timeout: 5000 });
    child.once('error', (err) => { log(`abandoned lab cgroups not looked for: ${err.message}`); resolve(); });
    child.once('exit', (code) => { if (code !== 0) log(`abandoned lab cgroups not looked for: exit status ${code}`); resolve(); });
  });
}

