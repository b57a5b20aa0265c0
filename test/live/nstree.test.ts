/**
 * nstree's names in a real lab (issue 17): a namespace keeps its name across the pictures of one
 * lab, also when a /proc mounted in it makes it the outermost one shown; a namespace made later,
 * even under an inode the kernel gave back, gets a new name; two terminals drawing at once leave
 * the names whole; a new lab starts from ns1 again.
 */
import assert from 'node:assert/strict';
import type { ShellEngine } from '../../src/shell/engine.js';
import { runCell, shutdownCleanly, startEngine } from '../helpers/engine.js';

describe('nstree names in a live lab', function () {
  this.timeout(60000);
  let engine: ShellEngine;

  before(async () => { engine = await startEngine(); });
  after(async () => { await shutdownCleanly(engine); });

  /** The picture's namespace headings and its column heads, as the text form prints them. */
  async function picture(terminal = 1): Promise<{ text: string; titles: string[]; heads: string[] }> {
    const r = await runCell(engine, 'nstree --text', { terminal });
    assert.equal(r.exitCode, 0, r.output);
    const lines = r.output.split('\n');
    const head = lines.find((l) => /mnt {2}コマンド$/.test(l));
    assert.ok(head, r.output);
    return { text: r.output, titles: lines.filter((l) => /^ *\[ns\d+: /.test(l)).map((l) => l.trim()), heads: head.trim().split(/\s+/).slice(0, -2) };
  }
  async function ok(code: string, terminal = 1): Promise<string> {
    const r = await runCell(engine, code, { terminal });
    assert.equal(r.exitCode, 0, `${code}: ${r.output}${r.notices}`);
    return r.output;
  }

  it('keeps ns2 for the namespace after mount -t proc in it, and gives a later namespace a new name', async () => {
    await ok('unshare --pid --fork --mount bash');
    const inode = (await ok('readlink /proc/$$/ns/pid')).trim();
    const first = await picture();
    assert.deepEqual(first.heads, ['ns1', 'ns2']);
    assert.match(first.titles[1], /^\[ns2: ns1 の内側 — unshare --pid --fork --mount bash \(ns1 の PID \d+\) が作成\]$/);
    assert.match(first.text, /^ +\d+ +1 +B +bash +← ★ nstree を実行したシェル$/m);

    await ok('mount -t proc proc /proc');
    const second = await picture();
    assert.match(second.text, /この \/proc はラボの内側の PID 名前空間でマウントされたもの/);
    assert.deepEqual(second.titles, ['[ns2: この /proc の PID 名前空間 (ラボの内側)]'], 'the same namespace, the same name');
    assert.deepEqual(second.heads, ['ns2']);
    assert.match(second.text, /^ +1 +B +bash +← ★ nstree を実行したシェル$/m, 'and its mount namespace still B');
    assert.doesNotMatch(second.text, /tini/);

    // Back in the lab, and a new namespace: the kernel may hand it ns2's inode, but it is not ns2.
    await ok('exit');
    await ok('unshare --pid --fork bash');
    const reusedInode = (await ok('readlink /proc/$$/ns/pid')).trim() === inode;
    const third = await picture();
    assert.deepEqual(third.heads, ['ns1', 'ns3'], `a new name${reusedInode ? ' (under ns2\'s old inode)' : ''}:\n${third.text}`);
    assert.match(third.titles[0], /^\[ns1: ラボの PID 名前空間\]$/);
    assert.match(third.text, /^ +\d+ +1 +A +bash +← ★ nstree を実行したシェル$/m, 'the lab\'s mount namespace still A');
    await ok('exit');
  });

  it('two terminals drawing at once keep one name per namespace', async () => {
    await ok('unshare --pid --fork bash');
    const before = await picture();
    const loop = 'for i in 1 2 3 4 5 6; do nstree --text >/dev/null || echo failed; done; echo done';
    const [one, two] = await Promise.all([runCell(engine, loop, { terminal: 1 }), runCell(engine, loop, { terminal: 2 })]);
    assert.equal(one.output, 'done\n');
    assert.equal(two.output, 'done\n');
    const after = await picture();
    assert.deepEqual(after.titles, before.titles, 'the same names after twelve pictures at once');
    assert.deepEqual(after.heads, before.heads);
    await ok('exit');
  });

  it('a new lab starts from ns1 again', async () => {
    const lab = await runCell(engine, 'exec true');
    assert.equal(lab.outcome, 'exited');
    await ok('unshare --pid --fork bash');
    const fresh = await picture();
    assert.deepEqual(fresh.heads, ['ns1', 'ns2']);
    assert.match(fresh.titles[1], /^\[ns2: ns1 の内側/);
    await ok('exit');
  });
});
