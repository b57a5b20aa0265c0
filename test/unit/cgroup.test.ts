/**
 * The lab's own cgroup, the parts that need no root: where the kernel's v2 cgroup is read from,
 * and the helpers are valid shell that never mount outside a mount namespace of their own.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cgroupHelperCommand, cgroupMountTargets, createCgroupCommand, kernelCgroupPath, mountInLabCommand, moveIntoCgroupSetup, readOnlyInLabCommand, removeCgroupCommand } from '../../src/lab/cgroup.js';

describe('the lab\'s cgroup: paths and helper commands', () => {
  it('the kernel\'s v2 cgroup is the 0:: line; none on a v1-only host or outside its namespace', () => {
    assert.equal(kernelCgroupPath('4:memory:/process_api/abc\n0::/\n'), '/');
    assert.equal(kernelCgroupPath('0::/user.slice/user-0.slice/session-1.scope\n'), '/user.slice/user-0.slice/session-1.scope');
    assert.equal(kernelCgroupPath('4:memory:/x\n1:cpu:/\n'), null);
    assert.equal(kernelCgroupPath('0::/../other\n'), null);
    assert.equal(kernelCgroupPath(''), null);
  });

  it('every helper mounts only in a private mount namespace of its own', () => {
    const cg = { path: '/a/nslab-AbC123-1', mountDir: '/tmp/nslab-AbC123/cgroup' };
    for (const c of [createCgroupCommand(cg, '/tmp'), removeCgroupCommand(cg), cgroupHelperCommand(cg.mountDir, 'true', [])]) {
      assert.match(c.file, /unshare$/);
      assert.deepEqual(c.args.slice(0, 4), ['--mount', '--propagation', 'private', '--']);
      assert.match(c.args[6], /^mount -t cgroup2 nslab "\$1" \|\| exit 1; /);
      assert.equal(c.args[8], cg.mountDir);
      assert.equal(spawnSync('sh', ['-n', '-c', c.args[6]]).status, 0, 'valid sh');
    }
    assert.deepEqual(createCgroupCommand(cg, '/tmp').args.slice(9), ['/a', 'nslab-AbC123-1', '/tmp']);
    assert.deepEqual(createCgroupCommand({ ...cg, path: '/nslab-AbC123-1' }, '/tmp').args.slice(9), ['/', 'nslab-AbC123-1', '/tmp']);
    // The lab's own mount is made inside the lab's mount namespace, never here.
    const mount = mountInLabCommand(42, ['/sys/fs/cgroup', '/sys/fs/cgroup/unified']);
    assert.deepEqual(mount.args.slice(0, 4), ['--target=42', '--mount', '--cgroup', '--']);
    assert.match(mount.args[6], /remount,bind,ro "\$m" \|\| exit 1; done; exec mount -t cgroup2 nslab \/sys\/fs\/cgroup$/);
    assert.deepEqual(mount.args.slice(8), ['/sys/fs/cgroup', '/sys/fs/cgroup/unified']);
  });

  it('the move is one line of valid bash that moves the shell running it ($$)', () => {
    const line = moveIntoCgroupSetup({ path: "/it's/nslab-x-1", mountDir: '/tmp/a b' });
    assert.equal(spawnSync('bash', ['-n', '-c', line]).status, 0);
    assert.match(line, / "\$\$" 2>\/dev\/null$/);
    assert.match(line, /'\/tmp\/a b'/);
  });

  it('a lab without a cgroup of its own: every cgroup mount at and below /sys/fs/cgroup, parents first, made read-only in the lab', () => {
    const mountinfo = [
      '24 1 0:22 / /sys rw,nosuid - sysfs sysfs rw',
      '32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu',
      '31 24 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755',
      '40 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
      '41 24 0:40 / /sys/fs/cgroupx rw - tmpfs tmpfs rw',
      '42 31 0:41 / /sys/fs/cgroup/a\\040b rw - cgroup cgroup rw',
    ].join('\n');
    assert.deepEqual(cgroupMountTargets(mountinfo), ['/sys/fs/cgroup', '/sys/fs/cgroup/cpu', '/sys/fs/cgroup/unified', '/sys/fs/cgroup/a b']);
    const c = readOnlyInLabCommand(7, true, ['/sys/fs/cgroup', '/sys/fs/cgroup/cpu']);
    assert.deepEqual(c.args.slice(0, 5), ['--target=7', '--user', '--preserve-credentials', '--mount', '--']);
    assert.match(c.args[7], /mount -o remount,bind,ro "\$m"/);
    assert.deepEqual(c.args.slice(9), ['/sys/fs/cgroup', '/sys/fs/cgroup/cpu']);
    assert.equal(readOnlyInLabCommand(7, false, []).args[1], '--mount', 'a root lab enters only the mount namespace');
  });
});
