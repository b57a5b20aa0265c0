/**
 * The namespace picture (issue 10), without a machine: /proc trees laid out in a temporary
 * folder as proc(5) describes them, read by readSnapshot, drawn by buildPicture/render.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readStore, relabel, withLabelFile, type LabelStore } from '../../src/lab/nstree/labels.js';
import { bootOffsetTicks, buildPicture, letter, readSnapshot, type Picture } from '../../src/lab/nstree/model.js';
import { renderSvg, renderText } from '../../src/lab/nstree/render.js';

interface FakeProcess {
  pid: number;
  ppid: number;
  nspid?: number[];
  cmd: string[];
  pidNs: string;
  mntNs?: string;
  terminal?: number;
  state?: string;
  /** Start time in ticks (stat field 22); default: 1000 + pid. */
  start?: number;
}

const LAB = 'pid:[4026532001]';
const NS2 = 'pid:[4026532002]';
const NS3 = 'pid:[4026532003]';
const MNT_A = 'mnt:[4026531900]';
const MNT_B = 'mnt:[4026531901]';

/** Writes a /proc-like folder: <pid>/{status,cmdline,environ,ns/pid,ns/mnt}, self. */
function fakeProc(processes: FakeProcess[], self: number | null): string {
  const root = mkdtempSync(join(tmpdir(), 'nstree-test-'));
  for (const p of processes) {
    const dir = join(root, String(p.pid));
    mkdirSync(join(dir, 'ns'), { recursive: true });
    const name = p.cmd[0].split('/').pop()!;
    writeFileSync(join(dir, 'status'), [
      `Name:\t${name}`, `State:\t${p.state ?? 'S'} (sleeping)`, `Tgid:\t${p.pid}`, `Pid:\t${p.pid}`,
      `PPid:\t${p.ppid}`, `NSpid:\t${(p.nspid ?? [p.pid]).join('\t')}`, '',
    ].join('\n'));
    writeFileSync(join(dir, 'cmdline'), p.state === 'Z' ? '' : p.cmd.join('\0') + '\0');
    // stat: the command in parentheses (it may hold blanks and parentheses), then field 3 on; 22 is the start time.
    const fields = [p.state ?? 'S', p.ppid, ...Array.from({ length: 17 }, () => 0), p.start ?? 1000 + p.pid, 0, 0];
    writeFileSync(join(dir, 'stat'), `${p.pid} (${name} (x) y) ${fields.join(' ')}\n`);
    writeFileSync(join(dir, 'environ'), `PATH=/bin\0${p.terminal ? `NSLAB_TERMINAL=${p.terminal}\0` : ''}`);
    symlinkSync(p.pidNs, join(dir, 'ns', 'pid'));
    symlinkSync(p.mntNs ?? MNT_A, join(dir, 'ns', 'mnt'));
  }
  if (self !== null) symlinkSync(String(self), join(root, 'self'));
  return root;
}

/** The issue's arrangement: nested twice (the second with --mount), a second terminal with a sleep. */
const nestedTwice: FakeProcess[] = [
  { pid: 1, ppid: 0, cmd: ['tini', '--', 'bash'], pidNs: LAB, terminal: 1 },
  { pid: 2, ppid: 1, cmd: ['bash'], pidNs: LAB, terminal: 1 },
  { pid: 4, ppid: 0, cmd: ['bash'], pidNs: LAB, terminal: 2 },
  { pid: 9, ppid: 4, cmd: ['sleep', '1000'], pidNs: LAB, terminal: 2 },
  { pid: 10, ppid: 2, cmd: ['unshare', '--pid', '--fork', 'bash'], pidNs: LAB, terminal: 1 },
  { pid: 11, ppid: 10, nspid: [11, 1], cmd: ['bash'], pidNs: NS2, terminal: 1 },
  { pid: 13, ppid: 11, nspid: [13, 3], cmd: ['unshare', '--pid', '--fork', '--mount', 'bash'], pidNs: NS2, mntNs: MNT_B, terminal: 1 },
  { pid: 14, ppid: 13, nspid: [14, 4, 1], cmd: ['bash'], pidNs: NS3, mntNs: MNT_B, terminal: 1 },
  { pid: 16, ppid: 14, nspid: [16, 6, 3], cmd: ['/usr/bin/node', '--v8-pool-size=1', '/x/main.js'], pidNs: NS3, mntNs: MNT_B, terminal: 1 },
];

describe('nstree: the namespace picture (model and drawings)', () => {
  const dirs: string[] = [];
  const picture = (processes: FakeProcess[], self: number | null, labNs: string | null = LAB): Picture => {
    const root = fakeProc(processes, self);
    dirs.push(root);
    const labFile = join(root, 'lab-pidns');
    if (labNs) writeFileSync(labFile, labNs + '\n');
    return buildPicture(readSnapshot(root, labNs ? labFile : null));
  };
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  describe('nested twice, with a second terminal, seen from the lab\'s /proc', () => {
    let pic: Picture;
    before(() => (pic = picture(nestedTwice, 16)));

    it('nests the namespaces as they are: ns1 ⊃ ns2 ⊃ ns3, each with its own processes', () => {
      assert.equal(pic.view, 'lab');
      assert.equal(pic.levels, 3);
      assert.equal(pic.roots.length, 1);
      const [ns1] = pic.roots;
      assert.deepEqual(ns1.processes.map((p) => p.pid), [1, 2, 4, 9, 10]);
      assert.equal(ns1.children.length, 1);
      const [ns2] = ns1.children;
      assert.deepEqual([ns2.index, ns2.depth, ns2.parentIndex], [2, 1, 1]);
      assert.deepEqual(ns2.processes.map((p) => p.nspid), [[11, 1], [13, 3]]);
      assert.equal(ns2.creator?.pid, 10, 'made by unshare, PID 10 of the lab');
      const [ns3] = ns2.children;
      assert.deepEqual(ns3.processes.map((p) => p.nspid), [[14, 4, 1], [16, 6, 3]]);
      assert.equal(ns3.creator?.pid, 13);
      assert.equal(ns3.parentIndex, 2);
    });

    it('names mount namespaces by letters in picture order, and finds the caller and the terminals', () => {
      assert.deepEqual([...pic.mountLetters.values()], ['A', 'B']);
      assert.equal(pic.callerPid, 14);
      assert.equal(pic.selfNsIndex, 3);
      assert.deepEqual([...pic.terminalShells], [[2, 1], [4, 2]], 'only the first shell of each terminal');
    });

    it('text: one column per level, PIDs of a nested process in every namespace it is visible in', () => {
      const text = renderText(pic);
      const lines = text.split('\n');
      assert.match(text, /^PID 名前空間ごとのプロセス/);
      assert.match(text, /この \/proc はラボのもの/);
      assert.match(text, /nstree は ns3 で動いていますが、\/proc は ns1 のもの/);
      const head = lines.findIndex((l) => /ns1\s+ns2\s+ns3\s+mnt\s+コマンド/.test(l));
      assert.ok(head > 0, text);
      assert.deepEqual(lines.slice(head + 1), [
        '[ns1: ラボの PID 名前空間]',
        '    1            A    tini -- bash',
        '    2            A    bash   ← ターミナル 1',
        '    4            A    bash   ← ターミナル 2',
        '    9            A    sleep 1000',
        '   10            A    unshare --pid --fork bash',
        '  [ns2: ns1 の内側 — unshare --pid --fork bash (ns1 の PID 10) が作成]',
        '   11    1       A    bash',
        '   13    3       B    unshare --pid --fork --mount bash',
        '    [ns3: ns2 の内側 — unshare --pid --fork --mount bash (ns2 の PID 3) が作成]',
        '   14    4    1  B    bash   ← ★ nstree を実行したシェル',
        '   16    6    3  B    nstree',
      ]);
    });

    it('SVG: a well-formed document with one box per namespace, nested by x, and every row', () => {
      const svg = renderSvg(pic);
      assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="\d+" height="\d+"/);
      assert.match(svg, /<\/svg>$/);
      const boxes = [...svg.matchAll(/<rect x="([\d.]+)" y="[\d.]+" width="[\d.]+" height="[\d.]+" rx="6" fill="([^"]+)" stroke="([^"]+)"/g)];
      assert.equal(boxes.length, 3, 'three namespace boxes');
      const xs = boxes.map((b) => Number(b[1]));
      assert.ok(xs[0] < xs[1] && xs[1] < xs[2], `inner boxes start further right: ${xs}`);
      for (const t of ['ns1: ラボの PID 名前空間', 'tini -- bash', 'sleep 1000', '← ターミナル 2', '★ nstree を実行したシェル', 'unshare --pid --fork --mount bash']) {
        assert.ok(svg.includes(t), `SVG shows ${t}`);
      }
      // Narrow enough for JupyterLab's output area at 1280 px with the file browser open (about
      // 850 px): the legend is two lines, not one of 890 px.
      const width = Number(/^<svg [^>]*width="(\d+)"/.exec(svg)?.[1]);
      assert.ok(width > 400 && width <= 800, `width ${width}`);
      assert.ok(svg.includes('>mnt = マウント名前空間 (同じ文字は同じ名前空間)。</text>'));
      // Tags balance (no stray < from a command line): every <text> closed.
      assert.equal((svg.match(/<text /g) ?? []).length, (svg.match(/<\/text>/g) ?? []).length);
    });

    it('escapes command lines for XML', () => {
      const withMarkup = nestedTwice.map((p) => (p.pid === 9 ? { ...p, cmd: ['sh', '-c', 'echo "<b>&</b>"'] } : p));
      const svg = renderSvg(picture(withMarkup, 16));
      assert.ok(svg.includes('sh -c echo &quot;&lt;b&gt;&amp;&lt;/b&gt;&quot;'));
      assert.ok(!svg.includes('<b>'));
    });
  });

  it('a /proc mounted inside a nested namespace: only that namespace, and it says so', () => {
    // What `unshare --pid --fork bash; mount -t proc proc /proc` shows: NSpid starts at that namespace.
    const nested: FakeProcess[] = [
      { pid: 1, ppid: 0, cmd: ['bash'], pidNs: NS2, terminal: 1 },
      { pid: 3, ppid: 1, cmd: ['node', '/x/main.js'], pidNs: NS2, terminal: 1 },
    ];
    const pic = picture(nested, 3);
    assert.equal(pic.view, 'nested-proc');
    assert.equal(pic.levels, 1);
    assert.equal(pic.terminalShells.size, 0, 'no terminal labels where the shells\' parents are hidden');
    const text = renderText(pic);
    assert.match(text, /この \/proc はラボの内側の PID 名前空間でマウントされたもの/);
    assert.match(text, /\[ns1: この \/proc の PID 名前空間 \(ラボの内側\)\]\n    1  A    bash   ← ★ nstree を実行したシェル\n    3  A    nstree$/);
  });

  it('an empty /proc (its namespace ended) explains itself', () => {
    const pic = picture([], null);
    assert.equal(pic.view, 'empty');
    const text = renderText(pic);
    assert.match(text, /プロセスが 1 つも見えません/);
    assert.match(text, /umount \/proc/);
    assert.match(renderSvg(pic), /umount \/proc/);
  });

  it('without a lab (host variant) the outer namespace is just "this /proc\'s"', () => {
    const pic = picture(nestedTwice, 16, null);
    assert.equal(pic.view, 'unknown');
    assert.match(renderText(pic), /\[ns1: この \/proc の PID 名前空間\]/);
  });

  it('zombies and kernel threads are named from their status', () => {
    const procs: FakeProcess[] = [
      { pid: 1, ppid: 0, cmd: ['tini'], pidNs: LAB },
      { pid: 5, ppid: 1, cmd: ['sleep'], pidNs: LAB, state: 'Z' },
    ];
    assert.match(renderText(picture(procs, null)), /\n {4}5 {2}A {4}\[sleep\] <defunct>$/);
  });

  it('letters go on after Z', () => {
    assert.deepEqual([0, 25, 26, 27, 701, 702].map(letter), ['A', 'Z', 'AA', 'AB', 'ZZ', 'AAA']);
  });
});

describe('nstree: a namespace keeps its name across the pictures of one lab', () => {
  const dirs: string[] = [];
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  /** One picture: the /proc of `processes` through relabel, with the names of `store`. */
  const draw = (processes: FakeProcess[], self: number | null, store: LabelStore | null, labNs = LAB) => {
    const root = fakeProc(processes, self);
    dirs.push(root);
    writeFileSync(join(root, 'lab-pidns'), labNs + '\n');
    const snap = readSnapshot(root, join(root, 'lab-pidns'));
    const named = relabel(store, snap, buildPicture(snap));
    return { ...named, text: renderText(named.picture), svg: renderSvg(named.picture) };
  };
  const heads = (text: string) => text.split('\n').find((l) => /mnt {2}コマンド$/.test(l))!.trim().split(/\s+/);
  const titles = (text: string) => text.split('\n').filter((l) => /^ *\[ns/.test(l)).map((l) => l.trim());

  const lab: FakeProcess[] = nestedTwice.filter((p) => p.pid <= 10);
  const NS4 = 'pid:[4026532004]';

  it('the first picture names in tree order; after mount -t proc in ns2 the namespace is still ns2, and the lab ns1 when it is back in view', () => {
    const first = draw(nestedTwice, 16, null);
    assert.deepEqual(titles(first.text).map((t) => t.slice(0, 5)), ['[ns1:', '[ns2:', '[ns3:']);
    assert.deepEqual(heads(first.text), ['ns1', 'ns2', 'ns3', 'mnt', 'コマンド']);
    assert.deepEqual([...first.picture.mountLetters.values()], ['A', 'B']);
    // ns3 ended; in ns2, `mount -t proc proc /proc` (mount namespace B, from the ns2 shell's unshare --mount? no: the ns2 shell itself, in A).
    const nested: FakeProcess[] = [
      { pid: 1, ppid: 0, cmd: ['bash'], pidNs: NS2, terminal: 1, start: 1011 },
      { pid: 7, ppid: 1, cmd: ['node', '/x/main.js'], pidNs: NS2, terminal: 1 },
    ];
    const second = draw(nested, 7, first.store);
    assert.equal(second.picture.view, 'nested-proc');
    assert.deepEqual(titles(second.text), ['[ns2: この /proc の PID 名前空間 (ラボの内側)]']);
    assert.deepEqual(heads(second.text), ['ns2', 'mnt', 'コマンド']);
    assert.match(second.text, /^ +1 {2}A {4}bash {3}← ★ nstree を実行したシェル$/m);
    assert.ok(second.svg.includes('>ns2</text>') && !second.svg.includes('>ns1</text>'), 'the SVG column is headed ns2');
    // ns3 was nested in ns2, which this /proc shows: it is gone, and its name with it.
    assert.equal(second.store.namespaces[NS3], undefined, 'ns3 retired');
    assert.equal(second.store.namespaces[LAB]?.label, 1, 'the lab, out of view, keeps ns1');
    assert.equal(second.store.namespaces[MNT_B], undefined, 'B retired: its processes were in ns2 and ns3, in view, and none is left');
    // Back in the lab (umount /proc): ns1 and ns2 as before; a new namespace gets a new name, never ns3 again.
    const back = draw([...lab, { pid: 11, ppid: 10, nspid: [11, 1], cmd: ['bash'], pidNs: NS2, terminal: 1, start: 1011 },
      { pid: 20, ppid: 11, nspid: [20, 5], cmd: ['unshare', '--pid', '--fork', '--mount', 'bash'], pidNs: NS2, mntNs: MNT_B, terminal: 1 },
      { pid: 21, ppid: 20, nspid: [21, 6, 1], cmd: ['bash'], pidNs: NS3, mntNs: MNT_B, terminal: 1 },
      { pid: 22, ppid: 21, nspid: [22, 7, 2], cmd: ['node', '/x/main.js'], pidNs: NS3, mntNs: MNT_B, terminal: 1 }], 22, second.store);
    assert.deepEqual(titles(back.text).map((t) => t.slice(0, 5)), ['[ns1:', '[ns2:', '[ns4:'], 'the inode of ns3 is a new namespace: ns4');
    assert.deepEqual(heads(back.text), ['ns1', 'ns2', 'ns4', 'mnt', 'コマンド']);
    assert.match(back.text, /^ {4}\[ns4: ns2 の内側 — unshare --pid --fork --mount bash \(ns2 の PID 5\) が作成\]$/m);
    assert.deepEqual([...back.picture.mountLetters.values()], ['A', 'C'], 'the mount namespace under B\'s old inode is C');
    assert.match(back.text, /nstree は ns4 で動いていますが、\/proc は ns1 のもの/);
  });

  it('a reused inode with no picture in between is told apart by its PID 1\'s start time', () => {
    const first = draw(nestedTwice, 16, null);
    // exit, exit, then a new namespace that the kernel gave ns2's inode: its PID 1 started later.
    const reused = draw([...lab, { pid: 30, ppid: 10, nspid: [30, 1], cmd: ['bash'], pidNs: NS2, terminal: 1 },
      { pid: 31, ppid: 30, nspid: [31, 2], cmd: ['node', '/x/main.js'], pidNs: NS2, terminal: 1 }], 31, first.store);
    assert.deepEqual(titles(reused.text).map((t) => t.slice(0, 5)), ['[ns1:', '[ns4:']);
    // The same namespace, drawn again (its PID 1 the same process): the same name.
    const again = draw([...lab, { pid: 30, ppid: 10, nspid: [30, 1], cmd: ['bash'], pidNs: NS2, terminal: 1 },
      { pid: 35, ppid: 30, nspid: [35, 4], cmd: ['node', '/x/main.js'], pidNs: NS2, terminal: 1 }], 35, reused.store);
    assert.deepEqual(titles(again.text).map((t) => t.slice(0, 5)), ['[ns1:', '[ns4:']);
    assert.equal(again.store.next.pid, 5);
  });

  it('seen from a /proc of its own, a new namespace under old inodes (PID and mount) gets new names', () => {
    const first = draw(nestedTwice, 16, null);
    // exit, exit; unshare --pid --fork --mount-proc bash: the kernel handed out ns3's and B's inodes again.
    const fresh = draw([{ pid: 1, ppid: 0, cmd: ['bash'], pidNs: NS3, mntNs: MNT_B, terminal: 1, start: 5000 },
      { pid: 2, ppid: 1, cmd: ['node', '/x/main.js'], pidNs: NS3, mntNs: MNT_B, terminal: 1, start: 5001 }], 2, first.store);
    assert.deepEqual(titles(fresh.text), ['[ns4: この /proc の PID 名前空間 (ラボの内側)]']);
    assert.deepEqual([...fresh.picture.mountLetters.values()], ['C'], 'B\'s processes were in ns3, which is gone');
    assert.equal(fresh.store.namespaces[NS2]?.label, 2, 'ns2, out of view, is not known to be gone: kept');
  });

  it('a mount namespace whose processes are out of view: new if all its processes now started after it was last drawn', () => {
    const first = draw(nestedTwice, 16, null); // drawn by the nstree of PID 16, started at tick 1016
    // exit, exit; unshare --pid --fork --mount-proc bash: a fresh PID inode, but B's mount inode again.
    const fresh = draw([{ pid: 1, ppid: 0, cmd: ['bash'], pidNs: NS4, mntNs: MNT_B, terminal: 1, start: 5000 },
      { pid: 2, ppid: 1, cmd: ['node', '/x/main.js'], pidNs: NS4, mntNs: MNT_B, terminal: 1, start: 5001 }], 2, first.store);
    assert.deepEqual(titles(fresh.text), ['[ns4: この /proc の PID 名前空間 (ラボの内側)]']);
    assert.deepEqual([...fresh.picture.mountLetters.values()], ['C']);
    // The same B, drawn from a /proc of its own with a process that was in it before: still B.
    const same = draw([{ pid: 1, ppid: 0, cmd: ['bash'], pidNs: NS4, mntNs: MNT_B, terminal: 1, start: 900 },
      { pid: 2, ppid: 1, cmd: ['node', '/x/main.js'], pidNs: NS4, mntNs: MNT_B, terminal: 1, start: 5001 }], 2, first.store);
    assert.deepEqual([...same.picture.mountLetters.values()], ['B']);
  });

  it('a namespace out of view is kept; a sibling appears under a shared column head', () => {
    const first = draw(nestedTwice, 16, null);
    // Terminal 2 makes a namespace of its own beside ns2: both at depth 1.
    const both = draw([...nestedTwice, { pid: 40, ppid: 4, cmd: ['unshare', '--pid', '--fork', 'bash'], pidNs: LAB, terminal: 2 },
      { pid: 41, ppid: 40, nspid: [41, 1], cmd: ['bash'], pidNs: NS4, terminal: 2 }], 16, first.store);
    assert.deepEqual(heads(both.text), ['ns1', 'ns2/ns4', 'ns3', 'mnt', 'コマンド']);
    // Seen from a /proc mounted in ns4, ns2 and ns3 are out of view: not retired.
    const inside = draw([{ pid: 1, ppid: 0, cmd: ['bash'], pidNs: NS4, terminal: 2, start: 1041 },
      { pid: 3, ppid: 1, cmd: ['node', '/x/main.js'], pidNs: NS4, terminal: 2 }], 3, both.store);
    assert.deepEqual(titles(inside.text), ['[ns4: この /proc の PID 名前空間 (ラボの内側)]']);
    assert.deepEqual(Object.entries(inside.store.namespaces).filter(([k]) => k.startsWith('pid:')).map(([k, e]) => [k, e.label]),
      [[LAB, 1], [NS2, 2], [NS3, 3], [NS4, 4]]);
  });

  it('another lab (a restart) starts from ns1 and A again', () => {
    const first = draw(nestedTwice, 16, null);
    const other = draw(nestedTwice.map((p) => ({ ...p, pidNs: p.pidNs === LAB ? 'pid:[4026532999]' : p.pidNs })), 16, { ...first.store, next: { pid: 9, mnt: 5 } }, 'pid:[4026532999]');
    assert.deepEqual(titles(other.text).map((t) => t.slice(0, 5)), ['[ns1:', '[ns2:', '[ns3:']);
    assert.deepEqual([...other.picture.mountLetters.values()], ['A', 'B']);
  });

  it('start times are taken back by the reader\'s time namespace offset', () => {
    assert.equal(bootOffsetTicks('monotonic 0 0\nboottime 86400 0\n'), 8640000);
    assert.equal(bootOffsetTicks('monotonic 5 0\nboottime -2 500000000\n'), -150);
    assert.equal(bootOffsetTicks(null), 0);
    const root = fakeProc(lab, null);
    dirs.push(root);
    mkdirSync(join(root, 'self'), { recursive: true });
    writeFileSync(join(root, 'self', 'timens_offsets'), 'monotonic 0 0\nboottime 10 0\n');
    assert.deepEqual(readSnapshot(root).processes.map((p) => p.start), lab.map((p) => 1000 + p.pid - 1000));
  });

  describe('the file', () => {
    let dir: string;
    beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'nstree-labels-')); });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('keeps the names between runs, replaced whole (no temporary file left), and a broken file counts as none', () => {
      const file = join(dir, 'labels.json');
      const root = fakeProc(nestedTwice, 16);
      dirs.push(root);
      writeFileSync(join(root, 'lab-pidns'), LAB + '\n');
      const run = () => withLabelFile(file, (store) => {
        const snap = readSnapshot(root, join(root, 'lab-pidns'));
        const named = relabel(store, snap, buildPicture(snap));
        return { store: named.store, result: named.picture };
      });
      run();
      assert.deepEqual(readStore(file)?.next, { pid: 4, mnt: 2 });
      assert.deepEqual(readdirNames(dir), ['labels.json']);
      writeFileSync(file, '{"version": 1, "next": ');
      assert.equal(readStore(file), null);
      assert.equal(run().roots[0].index, 1);
      assert.deepEqual(readStore(file)?.next, { pid: 4, mnt: 2 });
    });

    it('a lock left by a killed nstree is taken over', () => {
      const file = join(dir, 'labels.json');
      writeFileSync(`${file}.lock`, '');
      const old = new Date(Date.now() - 60_000);
      utimesSync(`${file}.lock`, old, old);
      const started = Date.now();
      withLabelFile(file, () => ({ store: { version: 1, lab: null, next: { pid: 2, mnt: 0 }, namespaces: {} }, result: null }));
      assert.ok(Date.now() - started < 1000, 'not waited for');
      assert.equal(existsSync(`${file}.lock`), false);
      assert.equal(readStore(file)?.next.pid, 2);
    });

    it('eight runs at once: each name given once, no update lost, the file whole', async function () {
      this.timeout(30_000);
      const file = join(dir, 'labels.json');
      const labels = fileURLToPath(new URL('../../src/lab/nstree/labels.js', import.meta.url));
      // Each run reads the names, waits 50 ms (as if reading /proc), and adds a namespace of its own.
      const script = `import { withLabelFile } from ${JSON.stringify(labels)};
        const i = process.argv[2];
        withLabelFile(process.argv[1], (store) => {
          store ??= { version: 1, lab: null, next: { pid: 1, mnt: 0 }, namespaces: {} };
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
          store.namespaces['pid:[' + i + ']'] = { label: store.next.pid++, parent: null, members: [] };
          return { store, result: null };
        });`;
      const runs = Array.from({ length: 8 }, (_, i) => new Promise<number | null>((resolve) => {
        spawn(process.execPath, ['--input-type=module', '-e', script, file, String(100 + i)], { stdio: 'inherit' }).on('exit', resolve);
      }));
      assert.deepEqual(await Promise.all(runs), Array(8).fill(0));
      const store = readStore(file)!;
      assert.equal(Object.keys(store.namespaces).length, 8);
      assert.deepEqual(Object.values(store.namespaces).map((e) => e.label).sort((a, b) => a - b), [1, 2, 3, 4, 5, 6, 7, 8]);
      assert.equal(store.next.pid, 9);
      assert.deepEqual(readdirNames(dir), ['labels.json']);
    });
  });
});

function readdirNames(dir: string): string[] {
  return readdirSync(dir).sort();
}
