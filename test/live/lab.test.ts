/**
 * The lab (issue 4): the article's steps, each with what it must show; the machine's own /proc
 * untouched by the destructive step; nothing of a lab left after any way of ending it; a
 * rootless lab as an unprivileged user.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ShellEngine } from '../../src/shell/engine.js';
import { createInterface } from 'node:readline';
import { assertAllGone, hostProcMounts, labNamespace, processesInNamespace, runCell, snapshotProcesses, startEngine } from '../helpers/engine.js';

const LAB_CHILD = fileURLToPath(new URL('../helpers/lab-child.js', import.meta.url));

describe('the lab: the article, step by step', function () {
  this.timeout(60000);
  let engine: ShellEngine;
  let procMountsBefore: number;

  before(async () => {
    procMountsBefore = hostProcMounts();
    engine = await startEngine();
  });
  after(async () => {
    const ns = labNamespace(engine);
    await engine.shutdown();
    if (ns) assert.deepEqual(processesInNamespace(ns), []);
    assert.equal(hostProcMounts(), procMountsBefore, "this machine's /proc mounts are as before");
  });

  it('1. the first shell is not PID 1; `unshare --pid --fork bash` gives a shell that is', async () => {
    const outer = await runCell(engine, 'echo $$; hostname');
    assert.equal(outer.output, '2\nlab\n');
    const ps = await runCell(engine, 'ps -ef');
    const commands = ps.output.trim().split('\n').slice(1).map((l) => l.split(/\s+/).slice(7).join(' '));
    assert.deepEqual(commands, ['tini -- bash', 'bash', 'ps -ef'], 'a short, clean list: init, the shell, ps');
    const nested = await runCell(engine, 'unshare --pid --fork bash\necho $$');
    assert.equal(nested.output, '1\n');
  });

  it('2. a sleep in terminal 2 is listed from the new namespace but cannot be killed from it', async () => {
    const t2 = await runCell(engine, 'sleep 1000', { terminal: 2, run: { wait: false } });
    assert.equal(t2.outcome, 'detached');
    // procps 4's ps looks itself up in /proc by its own (nested) PID and fails here
    // ("lookup self"), so the listing comes from pgrep, which reads the same /proc.
    const visible = await runCell(engine, 'pgrep -a -x sleep');
    assert.match(visible.output, /^\d+ sleep 1000\n$/, 'the /proc of the lab still shows every process of the lab');
    assert.notEqual(visible.output.split(' ')[0], '1');
    const kill = await runCell(engine, 'kill "$(pgrep -x sleep)"');
    assert.equal(kill.exitCode, 1);
    assert.match(kill.output, /kill: \(\d+\) - No such process/);
  });

  it('3. mounting proc in the new PID namespace shows only its processes', async () => {
    const r = await runCell(engine, 'mount -t proc proc /proc\nps -ef');
    const rows = r.output.trim().split('\n').slice(1);
    assert.equal(rows.length, 2, r.output);
    assert.match(rows[0], /^root\s+1\s+0\b.*\bbash$/);
    assert.match(rows[1], /\bps -ef$/);
  });

  it("4. after exit the lab's ps is broken (the mount replaced the lab's /proc), the machine's is not", async () => {
    await runCell(engine, 'exit');
    const broken = await runCell(engine, 'ps');
    assert.notEqual(broken.exitCode, 0);
    assert.match(broken.output, /Error, do this: mount -t proc proc \/proc/);
    assert.equal(hostProcMounts(), procMountsBefore, "this machine's own /proc is untouched");
    const repaired = await runCell(engine, 'umount /proc\nps -o pid=,comm= -p $$');
    assert.equal(repaired.exitCode, 0);
    assert.match(repaired.output, /^\s*2 bash\n$/);
  });

  it('5. with --mount, the mount stays in the new mount namespace and the lab is unharmed', async () => {
    const inside = await runCell(engine, 'unshare --pid --mount --fork bash\nmount -t proc proc /proc\nps -e -o pid=,comm=');
    assert.match(inside.output, /^\s*1 bash\n\s*\d+ ps\n$/, 'only the namespace: its bash as PID 1, and ps');
    const after = await runCell(engine, 'exit\nps -e -o comm=');
    assert.equal(after.exitCode, 0);
    assert.match(after.output, /tini\nbash\n/);
  });

  it('6. --mount-proc does both in one step', async () => {
    const inside = await runCell(engine, 'unshare --pid --fork --mount-proc bash\necho $$\nps -e -o pid=,comm=');
    assert.match(inside.output, /^1\n\s*1 bash\n\s*\d+ ps\n$/);
    const after = await runCell(engine, 'exit\nps -e -o comm= | head -2');
    assert.equal(after.output, 'exit\ntini\nbash\n');
  });
});

interface LabReport {
  mode: string;
  dir: string;
  init: number;
  pidns: string;
  mntns: string;
  processes: number[];
  outputs: string[];
}

/** Start a process that owns a lab with `cells` run in it; resolves with its report. */
async function labOwner(cells: [number, string, boolean][], asUser?: number): Promise<{ child: ChildProcess; report: LabReport }> {
  const argv = [LAB_CHILD, JSON.stringify(cells)];
  const child = asUser === undefined
    ? spawn(process.execPath, argv, { stdio: ['pipe', 'pipe', 'inherit'] })
    : spawn('setpriv', [`--reuid=${asUser}`, `--regid=${asUser}`, '--clear-groups', process.execPath, ...argv], { stdio: ['pipe', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`lab owner exited with ${code} before reporting`)));
  });
  return { child, report: JSON.parse(line) };
}

async function assertLabGone(report: LabReport, existedBefore: Map<number, string>): Promise<void> {
  await assertAllGone(report.processes, 5000);
  assert.deepEqual(processesInNamespace(report.pidns, existedBefore), [], 'no process in the lab PID namespace');
  assert.deepEqual(processesInNamespace(report.mntns, existedBefore), [], 'no process holds the lab mount namespace');
}

/** A lab holding the stubborn processes of issue 4: a setsid sleep, and a foreground one ignoring HUP and TERM. */
const STUBBORN: [number, string, boolean][] = [
  [1, 'setsid sleep 1000 &', true],
  [1, 'unshare --pid --fork --mount-proc bash', true],
  [1, 'nohup sleep 1001 >/dev/null 2>&1 &', true],
  [2, 'trap "" HUP TERM; sleep 1002', false],
  [1, 'trap "" HUP TERM; sleep 1003', false],
];

describe('the lab: nothing outlives its kernel', function () {
  this.timeout(60000);

  it('shutdown ends every process of the lab, stubborn ones included', async () => {
    const { child, report } = await labOwner(STUBBORN);
    assert.equal(report.mode, 'lab');
    assert.ok(report.processes.length >= 8, `the lab runs what we started: ${report.processes.length} processes`);
    const before = snapshotProcesses();
    child.stdin!.write('shutdown\n');
    await new Promise((r) => child.once('exit', r));
    await assertLabGone(report, before);
  });

  it('SIGKILL of the kernel ends every process of the lab; the next kernel removes its files', async () => {
    const { child, report } = await labOwner(STUBBORN);
    const before = snapshotProcesses();
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    await assertLabGone(report, before);
    assert.ok(existsSync(report.dir), 'a killed kernel cannot remove its own files');
    const next = new ShellEngine({ cwd: '/tmp' });
    await next.shutdown();
    assert.ok(!existsSync(report.dir), `the next kernel removed ${report.dir}`);
  });

  it('SIGKILL during a flood ends the lab too', async () => {
    const { child, report } = await labOwner([[1, 'yes', false]]);
    const before = snapshotProcesses();
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    await assertLabGone(report, before);
    // Its files (and its lab's cgroup) are a next kernel's to remove (tested above): one removes them.
    await new ShellEngine({ cwd: '/tmp' }).shutdown();
    assert.ok(!existsSync(report.dir), `the next kernel removed ${report.dir}`);
  });

  it('a rootless lab, as an unprivileged user, runs the steps and leaves nothing', async function () {
    const { child, report } = await labOwner(
      [
        [1, 'id -u; hostname; echo $$', true],
        [1, 'unshare --pid --fork bash', true],
        [1, 'echo $$; mount -t proc proc /proc; ps -e -o pid=,comm=', true],
        [1, 'exit', true],
        [1, 'ps', true],
        [1, 'umount /proc; unshare --pid --fork --mount-proc bash -c "ps -e -o pid=,comm="', true],
      ],
      65534,
    );
    assert.equal(report.mode, 'rootless');
    assert.match(report.outputs[0], /^completed:0:0\nlab\n2\n$/, 'root inside, with the lab hostname, the shell PID 2 as in a root lab');
    assert.match(report.outputs[2], /^completed:0:1\n\s*1 bash\n\s*\d+ ps\n$/);
    assert.match(report.outputs[4], /Error, do this: mount -t proc proc \/proc/, 'the destructive step breaks the lab, as as root');
    assert.match(report.outputs[5], /^completed:0:\s*1 ps\n$/, 'bash -c runs ps as the namespace\'s PID 1');
    const before = snapshotProcesses();
    child.stdin!.write('shutdown\n');
    await new Promise((r) => child.once('exit', r));
    await assertLabGone(report, before);
  });
});
