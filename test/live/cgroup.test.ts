/**
 * The lab's own cgroup (src/lab/cgroup.ts): a root lab runs in a cgroup of its own, its cgroup
 * namespace is rooted there and cgroup2 is mounted at its /sys/fs/cgroup, so the learner sees
 * the same on every host and can make child cgroups; the cgroup and what the learner made in it
 * are gone when the lab ends, however it ends; the machine's mount table never changes.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { cgroupHelperCommand, cgroupOf, kernelCgroupPath } from '../../src/lab/cgroup.js';
import { ShellEngine } from '../../src/shell/engine.js';
import { runCell, startEngine } from '../helpers/engine.js';

const LAB_CHILD = fileURLToPath(new URL('../helpers/lab-child.js', import.meta.url));

/** cgroup lines of this machine's own mount table (the lab must add none). */
const cgroupMounts = () => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => / - cgroup2? /.test(l)).length;

/** The names of the kernel's v2 cgroup's children, listed through a helper of its own (no mount here). */
function childrenOfKernelCgroup(): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'nslab-cgroup-test-'));
  try {
    const c = cgroupHelperCommand(dir, 'cd "$1$2" && ls', [kernelCgroupPath(readFileSync('/proc/self/cgroup', 'utf8')) ?? '/']);
    const r = spawnSync(c.file, c.args, { encoding: 'utf8', timeout: 5000 });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.split('\n').filter(Boolean);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const labCgroups = () => childrenOfKernelCgroup().filter((n) => n.startsWith('nslab-'));

describe('the lab\'s own cgroup', function () {
  this.timeout(60000);
  let mountsBefore: number;
  let labsBefore: string[];

  before(function () {
    const probe = spawnSync('unshare', ['--mount', '--propagation', 'private', '--', 'true']);
    if (process.getuid?.() !== 0 || probe.status !== 0 || kernelCgroupPath(readFileSync('/proc/self/cgroup', 'utf8')) === null) {
      this.skip(); // a root lab with cgroup v2 only; a rootless lab runs without a cgroup of its own
    }
    mountsBefore = cgroupMounts();
    labsBefore = labCgroups();
  });
  afterEach(() => {
    assert.equal(cgroupMounts(), mountsBefore, "this machine's cgroup mounts are as before");
  });

  async function withLab(fn: (engine: ShellEngine, init: number) => Promise<void>): Promise<void> {
    const engine = await startEngine({ labMode: 'lab' });
    try {
      await fn(engine, engine.initPid!);
    } finally {
      await engine.shutdown();
    }
    assert.deepEqual(labCgroups(), labsBefore, 'the lab\'s cgroup is gone with the lab');
  }

  it('inside: cgroup2 at /sys/fs/cgroup, every line of /proc/self/cgroup is /, on every host', () => withLab(async (engine, init) => {
    const r = await runCell(engine, 'stat -fc %T /sys/fs/cgroup; grep -v ":/$" /proc/self/cgroup; echo end');
    assert.equal(r.output, 'cgroup2fs\nend\n');
    const outside = cgroupOf(init)!;
    assert.match(outside, /\/nslab-[A-Za-z0-9]{6}-1$/, 'from outside, the lab is in its own cgroup');
    assert.ok(labCgroups().includes(outside.split('/').at(-1)!));
    const t2 = await runCell(engine, 'grep "^0::" /proc/self/cgroup; [ "$(readlink /proc/self/ns/cgroup)" = "$(readlink /proc/1/ns/cgroup)" ] && echo same', { terminal: 2 });
    assert.equal(t2.output, '0::/\nsame\n', 'terminal 2 is in the lab\'s cgroup and cgroup namespace');
  }));

  it('the learner\'s child cgroups: 0::/child, a namespace rooted there, /.. above it; removed with the lab', () => withLab(async (engine) => {
    const r = await runCell(engine, [
      'mkdir /sys/fs/cgroup/demo /sys/fs/cgroup/demo/deeper',
      'echo $$ > /sys/fs/cgroup/demo/cgroup.procs',
      'grep "^0::" /proc/self/cgroup',
      'unshare --cgroup bash',
      'grep "^0::" /proc/self/cgroup /proc/1/cgroup',
    ].join('\n'));
    assert.equal(r.output, '0::/demo\n/proc/self/cgroup:0::/\n/proc/1/cgroup:0::/..\n');
    const t2 = await runCell(engine, 'grep "^0::" /proc/$(pgrep -P 2 -x bash)/cgroup', { terminal: 2 });
    assert.equal(t2.output, '0::/demo\n');
    // A process left in the deepest child: the lab's end must still remove every cgroup.
    await runCell(engine, 'echo $$ > /sys/fs/cgroup/demo/deeper/cgroup.procs; sleep 1000 &', { terminal: 3 });
  }));

  it('07\'s exercises need a child cgroup: a new namespace rooted at the lab\'s cgroup is not enough', () => withLab(async (engine) => {
    for (const [terminal, id, answer] of [[3, 'cgroup-root', 'unshare --cgroup bash'], [4, 'cgroup-container', 'unshare --cgroup --pid --fork --mount-proc bash']] as const) {
      await runCell(engine, answer, { terminal });
      const r = await runCell(engine, `nscheck ${id}`, { terminal });
      assert.equal(r.exitCode, 1, r.output);
      assert.match(r.output, /^まだです: 新しい cgroup 名前空間の根が、ラボの cgroup と同じです/m);
    }
  }));

  it('the machine\'s cgroup mounts are read-only in the lab: under the lab\'s own, and in a rootless lab without one', async () => {
    const probe = 'touch /sys/fs/cgroup/nslab-probe 2>&1; mkdir /sys/fs/cgroup/nslab-probe-dir 2>&1; true';
    await withLab(async (engine) => {
      const r = await runCell(engine, `umount /sys/fs/cgroup && stat -fc %T /sys/fs/cgroup; ${probe}`);
      assert.match(r.output, /Read-only file system[^]*Read-only file system/, r.output);
    });
    const rootless = await startEngine({ labMode: 'rootless' });
    try {
      const r = await runCell(rootless, probe);
      assert.match(r.output, /(Read-only file system|Permission denied)[^]*(Read-only file system|Permission denied)/, r.output);
    } finally {
      await rootless.shutdown();
    }
    assert.deepEqual(readdirSync('/sys/fs/cgroup').filter((n) => n.startsWith('nslab-probe')), [], 'nothing made in the machine\'s /sys/fs/cgroup');
    assert.deepEqual(childrenOfKernelCgroup().filter((n) => n.startsWith('nslab-probe')), []);
  });

  it('a lab that ends (its first shell exits) leaves no cgroup; the fresh lab has a new one', () => withLab(async (engine, init) => {
    const first = cgroupOf(init);
    await runCell(engine, 'mkdir /sys/fs/cgroup/x; exit');
    const r = await runCell(engine, 'grep "^0::" /proc/self/cgroup; ls -d /sys/fs/cgroup/x 2>&1 | grep -c "No such"');
    assert.equal(r.output, '0::/\n1\n');
    const second = cgroupOf(engine.initPid!);
    assert.notEqual(second, first);
    assert.deepEqual(labCgroups().filter((n) => !labsBefore.includes(n)), [second!.split('/').at(-1)], 'only the fresh lab\'s cgroup');
  }));

  it('a kernel killed with SIGKILL leaves its cgroup; the next kernel removes it', async () => {
    const child = spawn(process.execPath, [LAB_CHILD, JSON.stringify([[1, 'mkdir /sys/fs/cgroup/left', true]])], { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, NSLAB_LAB: 'lab' } });
    const line = await new Promise<string>((resolve) => createInterface({ input: child.stdout! }).once('line', resolve));
    const report = JSON.parse(line) as { init: number };
    const left = cgroupOf(report.init)!.split('/').at(-1)!;
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    for (let i = 0; i < 100 && spawnSync('kill', ['-0', String(report.init)]).status === 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(labCgroups().includes(left), 'left behind by the killed kernel');
    await new ShellEngine({ cwd: '/tmp' }).shutdown();
    assert.ok(!labCgroups().includes(left), 'removed by the next kernel, before any lab of its own');
  });
});
