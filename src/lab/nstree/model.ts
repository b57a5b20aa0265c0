/**
 * The namespace picture's model: which processes a /proc shows, grouped by PID namespace and
 * nested as the namespaces are, each with its PID in every namespace it is visible in.
 *
 * Two steps, so that the logic is tested without a machine:
 * - {@link readSnapshot} reads a /proc (the real one, or a folder laid out like one in tests);
 * - {@link buildPicture} is pure: snapshot in, picture out.
 *
 * Facts it relies on (proc(5)):
 * - `NSpid:` in /proc/PID/status lists the process's PID in each PID namespace it is visible
 *   in, from the namespace of *this /proc* (the one it was mounted in) inward to its own. So a
 *   /proc mounted in a nested namespace starts the list there, and shows nothing outside it.
 * - /proc/PID/ns/pid and ns/mnt are links named `pid:[inode]` / `mnt:[inode]`: equal names,
 *   same namespace. Inode numbers differ on every run, so the picture never shows them: it
 *   names namespaces by their place in the tree (ns1, ns2, …) and mount namespaces by letters;
 *   labels.ts keeps those names across the pictures of one lab.
 * - The first process of a new PID namespace (its PID 1 there) has its parent outside, in the
 *   parent namespace: `unshare --pid --fork` is that parent. That is how nesting is found.
 */
import { readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { safeReadFile, safeReadlink } from '../../common/files.js';
import { SHELL_NAMES } from '../../common/shells.js';

/** One process as a /proc shows it. */
export interface ProcEntry {
  /** PID as this /proc numbers it (the first NSpid). */
  pid: number;
  /** Parent's PID as this /proc numbers it; 0 when the parent is outside this /proc's view. */
  ppid: number;
  /** PIDs from this /proc's namespace inward to the process's own (status `NSpid`). */
  nspid: number[];
  /** `pid:[inode]` of its PID namespace, or null when it may not be read. */
  pidNs: string | null;
  /** `mnt:[inode]` of its mount namespace, or null when it may not be read. */
  mntNs: string | null;
  /** The command line, arguments joined by spaces ('' for kernel threads and zombies). */
  cmdline: string;
  /** The command name (status `Name`). */
  name: string;
  /** Process state letter (status `State`), e.g. R, S, Z. */
  state: string;
  /** nslab terminal number from its environment (NSLAB_TERMINAL), when readable. */
  terminal: number | null;
  /** Its terminal is a console of its own (a kernel subshell: NSLAB_CONSOLE=1). */
  console?: boolean;
  /**
   * When it started, in clock ticks after boot (stat field 22, proc(5)), as seen from the
   * reader's time namespace; null when unreadable. With its own PID it tells a process apart
   * from a later one that got the same PID (labels.ts).
   */
  start?: number | null;
}

export interface Snapshot {
  processes: ProcEntry[];
  /** The PID (as this /proc numbers it) of the program taking the snapshot, if visible. */
  selfPid: number | null;
  /** `pid:[inode]` of the namespace this /proc belongs to (that of its PID 1). */
  procNs: string | null;
  /** `pid:[inode]` of the lab's own PID namespace, when known (written by the kernel). */
  labNs: string | null;
}

/** A PID namespace in the picture. */
export interface NsNode {
  /**
   * Its label's number (ns1, ns2, …): 1-based, in depth-first order of this picture; labels.ts
   * then gives a namespace seen before in this lab the number it had then.
   */
  index: number;
  /** `pid:[inode]`, or `depthN` when the link may not be read. */
  key: string;
  /** 0 for the outermost; a process in a namespace of depth d has d + 1 PIDs. */
  depth: number;
  /** `index` of the namespace it is nested in; null for an outer one. */
  parentIndex: number | null;
  /** The process that created it (the parent of its PID 1), if visible. */
  creator: ProcEntry | null;
  processes: ProcEntry[];
  children: NsNode[];
}

export type ViewKind =
  /** The lab's /proc: the whole lab is visible. */
  | 'lab'
  /** A /proc mounted in a namespace inside the lab: only that namespace and its inner ones. */
  | 'nested-proc'
  /** Not known where the lab is (no lab, e.g. the host variant): just this /proc. */
  | 'unknown'
  /**
   * No process at all: the procfs on /proc belongs to a PID namespace that has ended (the PID
   * notebook's `mount -t proc` in a nested namespace, then `exit`).
   */
  | 'empty';

export interface Picture {
  roots: NsNode[];
  /** How many PID columns the picture needs (the deepest namespace's depth + 1). */
  levels: number;
  /** Mount namespace letter of each `mnt:[inode]`, A for the first seen in picture order. */
  mountLetters: Map<string, string>;
  /** The head of each PID column: the namespaces of that depth (`ns2`, or `ns2/ns4` for siblings). */
  levelNames: string[];
  /** The PID (in this /proc) of the program that drew the picture. */
  selfPid: number | null;
  /** The PID (in this /proc) of its parent: the shell that ran the command. */
  callerPid: number | null;
  /** The namespace the drawing program lives in (its ns index), or null if not visible. */
  selfNsIndex: number | null;
  view: ViewKind;
  /** Terminal label of processes that are a terminal's first shell: pid → terminal number. */
  terminalShells: Map<number, number>;
}

// ─────────────────────────────── reading /proc ───────────────────────────────

/** Reads every process of a /proc. Processes that end while being read are left out. */
export function readSnapshot(procRoot = '/proc', labNsFile: string | null = null): Snapshot {
  const processes: ProcEntry[] = [];
  let names: string[] = [];
  try {
    names = readdirSync(procRoot);
  } catch {
    /* no /proc at all: an empty picture that says so */
  }
  // Start times are shown shifted by the reader's time namespace (proc(5), stat field 22):
  // taken back, so that nstree in `unshare --time --boottime N` names the same processes alike.
  const shift = bootOffsetTicks(safeReadFile(join(procRoot, 'self', 'timens_offsets')));
  for (const name of names) {
    if (!/^[0-9]+$/.test(name)) continue;
    const entry = readProcess(join(procRoot, name), Number(name));
    if (entry?.start != null) entry.start -= shift;
    if (entry) processes.push(entry);
  }
  processes.sort((a, b) => a.pid - b.pid);
  let selfPid: number | null = null;
  try {
    selfPid = Number(readlinkSync(join(procRoot, 'self')));
    if (!Number.isInteger(selfPid) || selfPid <= 0) selfPid = null;
  } catch {
    /* this program is not visible in this /proc */
  }
  return {
    processes,
    selfPid,
    procNs: safeReadlink(join(procRoot, '1', 'ns', 'pid')),
    labNs: labNsFile ? safeReadFile(labNsFile)?.trim() || null : null,
  };
}

/**
 * The boottime offset of a time namespace (`boottime <seconds> <nanoseconds>` in
 * /proc/PID/timens_offsets, time_namespaces(7)) in clock ticks of stat: USER_HZ, 100 on every
 * architecture Linux runs nslab on.
 */
export function bootOffsetTicks(offsets: string | null): number {
  const m = offsets ? /^boottime\s+(-?[0-9]+)\s+([0-9]+)$/m.exec(offsets) : null;
  return m ? Number(m[1]) * 100 + Math.round(Number(m[2]) / 1e7) : 0;
}

function readProcess(dir: string, pid: number): ProcEntry | null {
  const status = safeReadFile(join(dir, 'status'));
  if (status === null) return null;
  const stat = safeReadFile(join(dir, 'stat'));
  // Field 22 counts from the one after the command, which is in parentheses and may hold any byte.
  const start = stat === null ? null : Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
  const field = (key: string) => new RegExp(`^${key}:\\s*(.*)$`, 'm').exec(status)?.[1]?.trim() ?? '';
  const nspid = field('NSpid').split(/\s+/).filter(Boolean).map(Number);
  const name = field('Name');
  const cmdlineRaw = safeReadFile(join(dir, 'cmdline')) ?? '';
  const cmdline = cmdlineRaw.split('\0').filter((a, i, all) => a !== '' || i < all.length - 1).join(' ').trim();
  let terminal: number | null = null;
  let console = false;
  if (SHELL_NAMES.has(name)) {
    const environ = safeReadFile(join(dir, 'environ')) ?? '';
    const m = /(?:^|\0)NSLAB_TERMINAL=([0-9]+)(?:\0|$)/.exec(environ);
    if (m) terminal = Number(m[1]);
    console = /(?:^|\0)NSLAB_CONSOLE=1(?:\0|$)/.test(environ);
  }
  return {
    pid,
    ppid: Number(field('PPid')) || 0,
    nspid: nspid.length ? nspid : [pid],
    pidNs: safeReadlink(join(dir, 'ns', 'pid')),
    mntNs: safeReadlink(join(dir, 'ns', 'mnt')),
    cmdline,
    name,
    state: field('State').charAt(0),
    terminal,
    console,
    start: start !== null && Number.isFinite(start) ? start : null,
  };
}

// ─────────────────────────────── the picture ───────────────────────────────

/** Groups a snapshot's processes by PID namespace and nests the namespaces. Pure. */
export function buildPicture(snap: Snapshot): Picture {
  const byPid = new Map(snap.processes.map((p) => [p.pid, p]));
  // A namespace's key: its inode name, or (not readable, e.g. in a nested user namespace) its depth.
  const keyOf = (p: ProcEntry) => p.pidNs ?? `depth${p.nspid.length}`;
  const groups = new Map<string, ProcEntry[]>();
  for (const p of snap.processes) {
    const key = keyOf(p);
    const list = groups.get(key);
    if (list) list.push(p);
    else groups.set(key, [p]);
  }
  interface Draft { key: string; depth: number; processes: ProcEntry[]; init: ProcEntry | null; parentKey: string | null }
  const drafts = new Map<string, Draft>();
  for (const [key, processes] of groups) {
    const depth = Math.min(...processes.map((p) => p.nspid.length)) - 1;
    processes.sort((a, b) => last(a.nspid) - last(b.nspid) || a.pid - b.pid);
    const init = processes.find((p) => last(p.nspid) === 1) ?? null;
    drafts.set(key, { key, depth, processes, init, parentKey: null });
  }
  for (const d of drafts.values()) {
    if (d.depth === 0) continue;
    // The parent namespace: where the PID 1's parent lives; failing that, where any member's
    // parent lives one level out.
    const candidates = [d.init, ...d.processes].filter((p): p is ProcEntry => p !== null);
    for (const p of candidates) {
      const parent = byPid.get(p.ppid);
      if (parent && drafts.get(keyOf(parent))?.depth === d.depth - 1) {
        d.parentKey = keyOf(parent);
        break;
      }
    }
  }
  const childrenOf = new Map<string | null, Draft[]>();
  for (const d of drafts.values()) {
    // Not placeable under a parent (should not happen): shown as an outer namespace.
    const parentKey = d.depth > 0 && d.parentKey !== null ? d.parentKey : null;
    const list = childrenOf.get(parentKey);
    if (list) list.push(d);
    else childrenOf.set(parentKey, [d]);
  }
  const order = (a: Draft, b: Draft) => (a.init?.pid ?? a.processes[0].pid) - (b.init?.pid ?? b.processes[0].pid);
  let counter = 0;
  const nodeOfKey = new Map<string, NsNode>();
  const toNode = (d: Draft, parentIndex: number | null): NsNode => {
    const node: NsNode = {
      index: ++counter,
      key: d.key,
      depth: d.depth,
      parentIndex,
      creator: d.init ? byPid.get(d.init.ppid) ?? null : null,
      processes: d.processes,
      children: [],
    };
    nodeOfKey.set(d.key, node);
    node.children = (childrenOf.get(d.key) ?? []).sort(order).map((child) => toNode(child, node.index));
    return node;
  };
  const roots = (childrenOf.get(null) ?? []).sort((a, b) => a.depth - b.depth || order(a, b)).map((d) => toNode(d, null));

  let view: ViewKind = 'unknown';
  if (snap.processes.length === 0) view = 'empty';
  else if (snap.labNs && snap.procNs) view = snap.labNs === snap.procNs ? 'lab' : 'nested-proc';
  const mountLetters = new Map<string, string>();
  const terminalShells = new Map<number, number>();
  const visit = (node: NsNode) => {
    for (const p of node.processes) {
      if (p.mntNs && !mountLetters.has(p.mntNs)) mountLetters.set(p.mntNs, letter(mountLetters.size));
      // Only where the whole lab is in view: in a nested /proc the shell's parents are hidden, so
      // every shell there would look like a terminal's first one.
      if (p.terminal !== null && view !== 'nested-proc' && !hasShellAncestorOfTerminal(p, byPid)) terminalShells.set(p.pid, p.terminal);
    }
    node.children.forEach(visit);
  };
  roots.forEach(visit);

  const self = snap.selfPid !== null ? byPid.get(snap.selfPid) ?? null : null;
  const levels = Math.max(1, ...[...drafts.values()].map((d) => d.depth + 1));
  const picture: Picture = {
    roots,
    levels,
    mountLetters,
    levelNames: [],
    selfPid: self?.pid ?? null,
    callerPid: self && byPid.has(self.ppid) ? self.ppid : null,
    selfNsIndex: self ? nodeOfKey.get(keyOf(self))?.index ?? null : null,
    view,
    terminalShells,
  };
  picture.levelNames = levelNamesOf(picture);
  return picture;
}

/** Column heads from the namespaces' labels: `ns2`, or `ns2/ns4` where two share a depth. */
export function levelNamesOf(picture: Picture): string[] {
  const names = Array.from({ length: picture.levels }, () => [] as number[]);
  for (const ns of allNamespaces(picture)) names[ns.depth]?.push(ns.index);
  return names.map((indexes) => (indexes.length ? indexes.map((i) => `ns${i}`).join('/') : 'ns?'));
}

/** A terminal's first shell: no shell of the same terminal above it (nested shells are not). */
function hasShellAncestorOfTerminal(p: ProcEntry, byPid: Map<number, ProcEntry>): boolean {
  const seen = new Set<number>();
  let cur = byPid.get(p.ppid);
  while (cur && !seen.has(cur.pid)) {
    if (cur.terminal === p.terminal) return true;
    seen.add(cur.pid);
    cur = byPid.get(cur.ppid);
  }
  return false;
}

function last(a: number[]): number {
  return a[a.length - 1];
}

/** A, B, … Z, AA, AB, … */
export function letter(i: number): string {
  let s = '';
  let n = i;
  do {
    s = String.fromCharCode(65 + (n % 26)) + s;
    n = Math.floor(n / 26) - 1;
  } while (n >= 0);
  return s;
}

/** Every namespace of the picture, depth first. */
export function allNamespaces(picture: Picture): NsNode[] {
  const out: NsNode[] = [];
  const visit = (n: NsNode) => {
    out.push(n);
    n.children.forEach(visit);
  };
  picture.roots.forEach(visit);
  return out;
}
