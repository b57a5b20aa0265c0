/**
 * Labels that last: a namespace keeps its name (ns2, mount namespace B) across the pictures of
 * one lab, so that the prose can say "ns2" for one namespace from the first picture to the last,
 * also after `mount -t proc` in it has made it the outermost namespace that /proc shows.
 *
 * The names live in a small JSON file in the kernel's private folder (NSLAB_NSTREE_LABELS_FILE),
 * which every nstree of the lab reads and writes; the kernel removes it when a lab starts, so a
 * fresh lab starts from ns1 and A again.
 *
 * A namespace is known by its link name, type and inode (`pid:[4026532001]`). Inodes of
 * namespaces come from one allocator that hands out the lowest free number (the kernel's
 * proc_inum IDA, shared by every type), so a namespace that ended leaves its inode to the next
 * one made, often at once. Two rules keep a new namespace from inheriting an old one's name:
 * - **retired**: a namespace this picture would show but does not is gone; its name is dropped
 *   and never given again;
 * - **reused**: a namespace seen under a known inode is the known one only if one of the
 *   processes last seen in it (and that this picture would show) is still in it: a process is
 *   its PID namespace, its PID there and its start time. A PID namespace's PID 1 lives as long
 *   as the namespace (pid_namespaces(7)), so a new namespace under an old inode is found at once.
 *   A mount namespace whose earlier processes are all out of view is a new one when every
 *   process now in it started after the last picture that showed it (`unshare --mount` starts
 *   a process for it; a namespace seen before keeps the processes that were in it then).
 *
 * "Would show": a /proc shows its own PID namespace and those nested in it, nothing outside
 * (pid_namespaces(7)). After `mount -t proc` in a nested namespace the lab's processes are out of
 * view, not gone: their namespaces keep their names.
 */
import { closeSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { allNamespaces, letter, levelNamesOf, type NsNode, type Picture, type ProcEntry, type Snapshot } from './model.js';

/** A process, told apart from a later one with the same PID: [its `pid:[inode]`, its PID there, start ticks]. */
export type Member = [string, number, number | null];

export interface StoredNamespace {
  /** PID namespaces: N of nsN. Mount namespaces: the letter's index (0 = A). */
  label: number;
  /** PID namespaces: the `pid:[inode]` it is nested in, when a picture has shown it. */
  parent: string | null;
  /** The processes last seen in it (those a later picture may not show are kept). */
  members: Member[];
  /** When a picture last showed it: the start of that nstree, in ticks like a Member's start. */
  seen?: number | null;
}

export interface LabelStore {
  version: 1;
  /** The lab's PID namespace these names belong to (null without a lab: the host variant). */
  lab: string | null;
  /** The next label of each kind: nsN counts from 1, letters from 0 (A). */
  next: { pid: number; mnt: number };
  /** By link name: `pid:[inode]`, `mnt:[inode]`. */
  namespaces: Record<string, StoredNamespace>;
}

export function emptyStore(lab: string | null): LabelStore {
  return { version: 1, lab, next: { pid: 1, mnt: 0 }, namespaces: {} };
}

function memberOf(p: ProcEntry, pidNsKey: string): Member {
  return [pidNsKey, p.nspid[p.nspid.length - 1], p.start ?? null];
}

const sameMember = (a: Member, b: Member) => a[0] === b[0] && a[1] === b[1] && a[2] === b[2];

/** Only link names are kept: `depthN` (a link that could not be read) is no name for later. */
const lasting = (key: string) => /^(pid|mnt):\[[0-9]+\]$/.test(key);

/** What one picture shows, as the naming needs it. */
interface Shown {
  nodes: NsNode[];
  byIndex: Map<number, NsNode>;
  /** PID namespaces: the one each is drawn in (null for a root of the picture). */
  parent: Map<string, string | null>;
  /** Every namespace shown (PID and mount) with the processes shown in it. */
  members: Map<string, Member[]>;
  /** Mount namespaces in the order the picture meets them. */
  mntOrder: string[];
  /** When this nstree started, in the clock of the processes' start times. */
  now: number | null;
}

function shownIn(snap: Snapshot, picture: Picture): Shown {
  const nodes = allNamespaces(picture);
  const byIndex = new Map(nodes.map((n) => [n.index, n]));
  const parent = new Map<string, string | null>();
  const members = new Map<string, Member[]>();
  for (const node of nodes) {
    parent.set(node.key, node.parentIndex !== null ? byIndex.get(node.parentIndex)?.key ?? null : null);
    members.set(node.key, node.processes.map((p) => memberOf(p, node.key)));
  }
  const mntOrder: string[] = [];
  for (const node of nodes) {
    for (const p of node.processes) {
      if (!p.mntNs) continue;
      const list = members.get(p.mntNs);
      if (list) list.push(memberOf(p, node.key));
      else {
        members.set(p.mntNs, [memberOf(p, node.key)]);
        mntOrder.push(p.mntNs);
      }
    }
  }
  const now = snap.processes.find((p) => p.pid === snap.selfPid)?.start ?? null;
  return { nodes, byIndex, parent, members, mntOrder, now };
}

/**
 * Whether a PID namespace is in view of this /proc: this /proc's PID namespace and every one
 * nested in it, by the parents known so far.
 */
function inViewOf(snap: Snapshot, picture: Picture, shown: Shown, old: LabelStore): (pidNs: string) => boolean {
  const viewRoots = new Set(snap.procNs ? [snap.procNs] : picture.roots.map((r) => r.key));
  const parentOf = (key: string) => (shown.parent.has(key) ? shown.parent.get(key) ?? old.namespaces[key]?.parent ?? null : old.namespaces[key]?.parent ?? null);
  return (pidNs) => {
    const seen = new Set<string>();
    for (let k: string | null = pidNs; k !== null && !seen.has(k); k = parentOf(k)) {
      if (viewRoots.has(k) || shown.members.has(k)) return true;
      seen.add(k);
    }
    return false;
  };
}

/**
 * The known namespaces that keep their names into `next`: those shown again with a process they
 * had, and those out of view; the others are retired (or their inode was reused).
 */
function carryOver(old: LabelStore, next: LabelStore, shown: Shown, inView: (pidNs: string) => boolean): void {
  // PID namespaces first: a process of one found gone is gone too, wherever it is drawn from,
  // which tells a mount namespace of its processes apart even when they were out of view.
  const gone = new Set<string>();
  const entries = Object.entries(old.namespaces).sort(([a], [b]) => Number(b.startsWith('pid:')) - Number(a.startsWith('pid:')));
  for (const [key, entry] of entries) {
    const knowable = (m: Member) => inView(m[0]) || gone.has(m[0]);
    const visible = entry.members.filter(knowable);
    const showing = shown.members.get(key);
    const allNewer = (ms: Member[]) => entry.seen != null && ms.every((m) => m[2] !== null && m[2] > entry.seen!);
    const keep = showing
      ? visible.length ? visible.some((m) => showing.some((n) => sameMember(m, n))) : !(key.startsWith('mnt:') && allNewer(showing))
      : !visible.length;
    if (!keep) {
      // In view and absent: retired. Present, but none of the processes it had: a reused inode, a new namespace.
      if (key.startsWith('pid:')) gone.add(key);
      continue;
    }
    if (!showing) {
      next.namespaces[key] = entry; // out of view: kept as it was
      continue;
    }
    const outOfView = entry.members.filter((m) => !knowable(m));
    next.namespaces[key] = {
      label: entry.label,
      parent: key.startsWith('pid:') ? shown.parent.get(key) ?? entry.parent : null,
      members: [...outOfView, ...showing],
      seen: shown.now ?? entry.seen ?? null,
    };
  }
}

/**
 * Names for what `next` does not know yet, in the picture's order (unreadable links get a
 * name for this picture only): N of nsN by namespace, and mount letters.
 */
function nameNew(next: LabelStore, shown: Shown): { pidLabel: Map<string, number>; mountLetters: Map<string, string> } {
  let transient = next.next.pid;
  const pidLabel = new Map<string, number>();
  for (const node of shown.nodes) {
    if (!lasting(node.key)) {
      pidLabel.set(node.key, transient++);
      continue;
    }
    const known = next.namespaces[node.key];
    if (known) pidLabel.set(node.key, known.label);
    else {
      const label = next.next.pid++;
      transient = Math.max(transient, next.next.pid);
      next.namespaces[node.key] = { label, parent: shown.parent.get(node.key) ?? null, members: shown.members.get(node.key) ?? [], seen: shown.now };
      pidLabel.set(node.key, label);
    }
  }
  const mountLetters = new Map<string, string>();
  for (const key of shown.mntOrder) {
    let known = next.namespaces[key];
    if (!known && lasting(key)) {
      known = next.namespaces[key] = { label: next.next.mnt++, parent: null, members: shown.members.get(key) ?? [], seen: shown.now };
    }
    mountLetters.set(key, known ? letter(known.label) : '?');
  }
  return { pidLabel, mountLetters };
}

/**
 * The picture with the names this lab gave its namespaces before, new names for new ones (in
 * the picture's order), and the store to keep for the next picture. Pure: `store` is not changed.
 */
export function relabel(store: LabelStore | null, snap: Snapshot, picture: Picture): { picture: Picture; store: LabelStore } {
  const old = store && store.lab === snap.labNs ? store : emptyStore(snap.labNs);
  const next: LabelStore = { version: 1, lab: old.lab, next: { ...old.next }, namespaces: {} };
  const shown = shownIn(snap, picture);
  carryOver(old, next, shown, inViewOf(snap, picture, shown, old));
  const { pidLabel, mountLetters } = nameNew(next, shown);

  // The same picture under those names.
  const indexOf = (provisional: number | null) => {
    if (provisional === null) return null;
    const node = shown.byIndex.get(provisional);
    return node ? pidLabel.get(node.key) ?? provisional : provisional;
  };
  const rename = (n: NsNode): NsNode => ({ ...n, index: indexOf(n.index)!, parentIndex: indexOf(n.parentIndex), children: n.children.map(rename) });
  const renamed: Picture = { ...picture, roots: picture.roots.map(rename), mountLetters, selfNsIndex: indexOf(picture.selfNsIndex) };
  renamed.levelNames = levelNamesOf(renamed);
  return { picture: renamed, store: next };
}

// ─────────────────────────────── the file ───────────────────────────────

/** How long a lock may be held before it counts as left behind (an nstree killed holding it). */
const STALE_LOCK_MS = 5000;
const LOCK_WAIT_MS = 3000;

/**
 * Runs `update` on the stored labels and keeps what it returns, one nstree at a time.
 *
 * Two terminals may run nstree at once. A lock file made with O_CREAT|O_EXCL (open(2): atomic
 * on a local filesystem) puts them in a row, and `update` reads /proc inside it, so the later run
 * also sees the later /proc: neither retires what the other has just named. The file itself is
 * replaced by rename(2), which is atomic, so a reader sees the old file or the new, never half
 * of one. A lock older than 5 s was left by a killed nstree and is taken over. If the lock
 * cannot be had within 3 s, or the file not written (a shell whose user is not the kernel's),
 * the picture is still drawn: the last writer wins, and a name may change once.
 */
export function withLabelFile<T>(file: string | null, update: (store: LabelStore | null) => { store: LabelStore; result: T }): T {
  if (!file) return update(null).result;
  const lock = `${file}.lock`;
  const locked = takeLock(lock);
  try {
    const { store, result } = update(readStore(file));
    writeStore(file, store);
    return result;
  } finally {
    if (locked) rmSync(lock, { force: true });
  }
}

function takeLock(lock: string): boolean {
  const until = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      closeSync(openSync(lock, 'wx', 0o600));
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') return false;
    }
    try {
      if (Date.now() - statSync(lock).mtimeMs > STALE_LOCK_MS) rmSync(lock, { force: true });
    } catch { /* released meanwhile */ }
    if (Date.now() > until) return false;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
  }
}

export function readStore(file: string): LabelStore | null {
  try {
    const data = JSON.parse(readFileSync(file, 'utf8')) as LabelStore;
    const ok = data?.version === 1 && typeof data.next?.pid === 'number' && typeof data.next?.mnt === 'number'
      && (data.lab === null || typeof data.lab === 'string') && typeof data.namespaces === 'object' && data.namespaces !== null
      && Object.values(data.namespaces).every((e) => typeof e?.label === 'number' && Array.isArray(e.members));
    return ok ? data : null;
  } catch {
    return null;
  }
}

function writeStore(file: string, store: LabelStore): void {
  const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    writeFileSync(tmp, JSON.stringify(store) + '\n', { mode: 0o600 });
    renameSync(tmp, file);
  } catch {
    rmSync(tmp, { force: true });
  }
}
