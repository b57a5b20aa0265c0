/**
 * The lab's life without the shell engine (src/lab/lab.ts): created (its folder, home and
 * commands, folders of kernels that are gone swept away), joined (a second process in the same
 * namespaces), torn down (its processes killed by the lab itself, its files removed, twice
 * without harm). The processes here are plain children, not PTYs: the lab must not need the
 * engine to end what runs in it.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { processTree, readStat } from '../../src/common/proc.js';
import { Lab, type TerminalLaunch } from '../../src/lab/lab.js';
import { pidNamespace } from '../../src/shell/procfs.js';
import { assertAllGone, processesInNamespace, snapshotProcesses } from '../helpers/engine.js';

describe('the lab on its own: created, joined, torn down', function () {
  this.timeout(30000);
  const started: ChildProcess[] = [];

  afterEach(() => {
    // Only if a test failed before its teardown: end what it started, by PID.
    for (const child of started.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });

  function run(launch: TerminalLaunch, stdout: 'ignore' | 'pipe' = 'ignore'): ChildProcess {
    const child = spawn(launch.command.file, launch.command.args, { env: { ...process.env, ...launch.env }, stdio: ['ignore', stdout, 'ignore'] });
    started.push(child);
    return child;
  }

  async function output(child: ChildProcess): Promise<string> {
    let text = '';
    child.stdout!.on('data', (d: Buffer) => (text += d.toString()));
    await new Promise((r) => child.once('close', r));
    return text;
  }

  it('sweeps folders of kernels that are gone, and keeps those of kernels that run', async () => {
    const gone = mkdtempSync(join(tmpdir(), 'nslab-'));
    const running = mkdtempSync(join(tmpdir(), 'nslab-'));
    try {
      // A PID above any pid_max (2^22) names no process.
      writeFileSync(join(gone, 'owner'), '4194305 1\n');
      writeFileSync(join(running, 'owner'), `${process.pid} ${readStat(process.pid)!.start}\n`);
      const lab = new Lab();
      await lab.teardown();
      assert.ok(!existsSync(gone), `${gone}, of a kernel that is gone, was removed`);
      assert.ok(existsSync(running), `${running}, of a kernel that runs, was kept`);
    } finally {
      rmSync(gone, { recursive: true, force: true });
      rmSync(running, { recursive: true, force: true });
    }
  });

  it('a first process makes the namespaces, a second joins them, teardown ends both and removes the files, twice', async function () {
    const lab = new Lab();
    if (lab.mode === 'host') {
      await lab.teardown();
      this.skip(); // no namespaces on this machine: nothing to join or to kill
    }
    const dir = lab.filesDir;
    assert.equal(statSync(dir).mode & 0o777, 0o700, 'the folder is private');
    assert.ok(existsSync(join(dir, 'home', '.bashrc')) || !existsSync('/etc/skel/.bashrc'), 'the home is a copy of /etc/skel');
    assert.ok(existsSync(join(dir, 'bin', 'nstree')), 'the lab has its commands');

    const first = run(lab.launch(1, ['sleep', '1000']));
    // Until unshare's child (the lab's init) runs the sleep: unshare, tini, sleep.
    for (let waited = 0; processTree(first.pid!).length < 3; waited += 10) {
      assert.ok(waited < 5000, 'the lab started');
      await new Promise((r) => setTimeout(r, 10));
    }
    lab.firstShellStarted(first.pid!);
    const init = lab.initPid;
    assert.ok(init !== null, 'the lab has an init');
    const ns = pidNamespace(init)!;
    assert.notEqual(ns, pidNamespace(process.pid), 'in a PID namespace of its own');
    assert.equal(readFileSync(join(dir, 'lab-pidns'), 'utf8').trim(), ns, 'nstree is told which namespace is the lab');

    const joined = run(lab.launch(2, ['readlink', '/proc/self/ns/pid']), 'pipe');
    assert.equal((await output(joined)).trim(), ns, 'the second process is in the lab');

    const inLab = processTree(first.pid!);
    const before = snapshotProcesses();
    const exited = new Promise((r) => first.once('exit', r));
    await lab.teardown();
    await exited;
    await assertAllGone(inLab);
    assert.deepEqual(processesInNamespace(ns, before), [], 'nothing of the lab is left');
    assert.equal(lab.initPid, null);
    assert.ok(!existsSync(dir), `${dir} was removed`);

    await lab.teardown();
    assert.throws(() => lab.launch(1, ['true']), /torn down/);
  });
});
