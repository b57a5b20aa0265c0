/**
 * The namespace picture (issue 10), without a machine: /proc trees laid out in a temporary
 * folder as proc(5) describes them, read by readSnapshot, drawn by buildPicture/render.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildPicture, letter, readSnapshot, type Picture } from '../../src/lab/nstree/model.js';
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
    assert.match(text, /この \/proc はラボの内側の PID 名前空間で mount されたもの/);
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
