/**
 * nscheck's verdicts without a machine (issue 18): /proc trees laid out in a temporary folder as
 * proc(5) describes them — the checker (`self`) as the child of the shell under test, the lab's
 * PID 1, other terminals — and a fake runner for the commands it runs (ip, ping, nsenter).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXERCISES } from '../../src/lab/exercises/checks.js';
import { main } from '../../src/lab/exercises/main.js';
import type { Runner } from '../../src/lab/exercises/probe.js';

const TYPES = ['pid', 'mnt', 'uts', 'ipc', 'net', 'user', 'cgroup', 'time'];
const LAB: Record<string, string> = Object.fromEntries(TYPES.map((t, i) => [t, `${t}:[40265310${i}0]`]));
const LAB_LINES = Object.values(LAB);
const ALL_CAPS = '000001ffffffffff';

interface FakeProcess {
  pid: number;
  ppid: number;
  nspid?: number[];
  name?: string;
  /** Namespaces other than the lab's, by type. */
  ns?: Record<string, string>;
  capEff?: string;
  uid?: number;
  terminal?: number;
  mountinfo?: string[];
  uidMap?: string;
  cgroup?: string;
  timens?: string;
  /** Files under its root: path → names. */
  files?: Record<string, string[]>;
}

const mount = (id: number, target: string, fstype: string, optional = '', root = '/') => `${id} 1 0:${id} ${root} ${target} rw,relatime ${optional ? optional + ' ' : ''}- ${fstype} ${fstype} rw`;
const LAB_MOUNTS = [mount(20, '/', 'ext4'), mount(21, '/proc', 'proc')];

let roots: string[] = [];

/** A /proc: the processes, `self` = the checker (a child of `shellPid`), and the per-reader files. */
function fakeProc(processes: FakeProcess[], shellPid: number | null, reader: { hostname?: string; msgQueues?: number } = {}): string {
  const root = mkdtempSync(join(tmpdir(), 'nscheck-test-'));
  roots.push(root);
  const all = shellPid === null ? processes : [...processes, { pid: 999, ppid: shellPid, name: 'node', ns: processes.find((p) => p.pid === shellPid)?.ns }];
  for (const p of all) {
    const dir = join(root, String(p.pid));
    mkdirSync(join(dir, 'ns'), { recursive: true });
    writeFileSync(join(dir, 'status'), [
      `Name:\t${p.name ?? 'bash'}`, `Pid:\t${p.pid}`, `PPid:\t${p.ppid}`, `Uid:\t${p.uid ?? 0}\t${p.uid ?? 0}\t${p.uid ?? 0}\t${p.uid ?? 0}`,
      `NSpid:\t${(p.nspid ?? [p.pid]).join('\t')}`, `CapEff:\t${p.capEff ?? ALL_CAPS}`, '',
    ].join('\n'));
    writeFileSync(join(dir, 'environ'), `PATH=/bin\0${p.terminal ? `NSLAB_TERMINAL=${p.terminal}\0` : ''}`);
    for (const t of TYPES) symlinkSync(p.ns?.[t] ?? LAB[t], join(dir, 'ns', t));
    symlinkSync(p.ns?.time_for_children ?? p.ns?.time ?? LAB.time, join(dir, 'ns', 'time_for_children'));
    writeFileSync(join(dir, 'mountinfo'), (p.mountinfo ?? LAB_MOUNTS).join('\n') + '\n');
    writeFileSync(join(dir, 'uid_map'), p.uidMap ?? '         0          0 4294967295\n');
    writeFileSync(join(dir, 'cgroup'), p.cgroup ?? '0::/user.slice/session-1.scope\n');
    writeFileSync(join(dir, 'timens_offsets'), p.timens ?? 'monotonic           0         0\nboottime            0         0\n');
    for (const [path, names] of Object.entries(p.files ?? {})) {
      mkdirSync(join(dir, 'root', path), { recursive: true });
      for (const n of names) writeFileSync(join(dir, 'root', path, n), '');
    }
  }
  if (shellPid !== null) symlinkSync('999', join(root, 'self'));
  mkdirSync(join(root, 'sys', 'kernel'), { recursive: true });
  writeFileSync(join(root, 'sys', 'kernel', 'hostname'), `${reader.hostname ?? 'lab'}\n`);
  writeFileSync(join(root, 'sys', 'kernel', 'cap_last_cap'), '40\n');
  mkdirSync(join(root, 'sysvipc'));
  const header = '       key      msqid perms      cbytes       qnum lspid lrpid   uid   gid  cuid  cgid      stime      rtime      ctime\n';
  writeFileSync(join(root, 'sysvipc', 'msg'), header + '  12345678          0   644           0          0     0     0     0     0     0     0          0          0 1700000000\n'.repeat(reader.msgQueues ?? 0));
  return root;
}

/** A fake runner: `ip -j -d addr` answers `interfaces`, ping answers true for `reachable`, nsenter hostnames by PID. */
function runner(opts: { interfaces?: object[]; reachable?: string[]; hostnames?: Record<number, string> } = {}): Runner {
  return (file: string, args: string[]) => {
    if (file === 'ip') return { status: 0, stdout: JSON.stringify(opts.interfaces ?? [{ ifname: 'lo', flags: ['LOOPBACK', 'UP'], addr_info: [{ family: 'inet', local: '127.0.0.1', prefixlen: 8 }] }]) };
    if (file === 'ping') return { status: (opts.reachable ?? []).includes(args.at(-1)!) ? 0 : 1, stdout: '' };
    if (file === 'nsenter') {
      const name = opts.hostnames?.[Number(args[1])];
      return name === undefined ? { status: 1, stdout: '' } : { status: 0, stdout: name + '\n' };
    }
    return { status: null, stdout: '' };
  };
}

const TINI: FakeProcess = { pid: 1, ppid: 0, name: 'tini' };
const LAB_SHELL: FakeProcess = { pid: 2, ppid: 1, terminal: 1 };

function check(id: string, processes: FakeProcess[], shellPid: number | null, reader: Parameters<typeof fakeProc>[2] = {}, run: Runner = runner()) {
  const { code, text } = main([id], fakeProc(processes, shellPid, reader), LAB_LINES, run);
  return { code, text };
}

function assertDone(r: { code: number; text: string }, what: RegExp) {
  assert.equal(r.code, 0, r.text);
  assert.match(r.text, /^できました: /);
  assert.match(r.text, what);
}

function assertNotYet(r: { code: number; text: string }, what: RegExp) {
  assert.equal(r.code, 1, r.text);
  assert.match(r.text, /^まだです: /);
  assert.match(r.text, what);
}

describe('nscheck: every exercise judged on a fake /proc', () => {
  afterEach(() => {
    for (const r of roots) rmSync(r, { recursive: true, force: true });
    roots = [];
  });

  it('every exercise: a shell still in the lab is told where it is, with its $$', () => {
    for (const e of EXERCISES) {
      const r = check(e.id, [TINI, LAB_SHELL, { pid: 4, ppid: 0, terminal: 3 }], 4);
      assertNotYet(r, /まだ外側 \(ラボ\) の/);
      if (e.id.startsWith('pid-')) assert.match(r.text, /\$\$ は 4 です/);
    }
  });

  it('usage: an unknown exercise, no argument, --list, outside a lab', () => {
    assert.equal(main(['nope'], '/nonexistent', LAB_LINES).code, 2);
    assert.match(main(['nope'], '/nonexistent', LAB_LINES).text, /そのような演習はありません: nope/);
    assert.equal(main([], '/nonexistent', LAB_LINES).code, 2);
    const list = main(['--list'], '/nonexistent', LAB_LINES);
    assert.equal(list.code, 0);
    assert.equal(list.text.split('\n').length, EXERCISES.length);
    assert.equal(new Set(EXERCISES.map((e) => e.id)).size, EXERCISES.length, 'ids are unique');
    for (let n = 1; n <= 8; n++) assert.ok(EXERCISES.filter((e) => e.notebook === n).length >= 2, `notebook ${n} has 2 or more`);
    const host = main(['pid-one'], '/nonexistent', []);
    assert.equal(host.code, 2);
    assert.match(host.text, /ラボの名前空間がわかりません/);
  });

  it('a /proc of an ended PID namespace (no self): not reached, and says how to get back', () => {
    const r = check('pid-one', [], null);
    assertNotYet(r, /この \/proc にはこのシェルが見えません.*umount \/proc/);
  });

  const NS2 = { pid: 'pid:[4026539002]' };
  const NESTED: FakeProcess = { pid: 12, ppid: 11, nspid: [12, 1], ns: NS2, terminal: 3 };

  it('pid-one: PID 1 of a new PID namespace; a new namespace where $$ is not 1 is not enough', () => {
    assertDone(check('pid-one', [TINI, LAB_SHELL, NESTED], 12), /PID 1 です \(ラボでは PID 12\)/);
    assertNotYet(check('pid-one', [TINI, LAB_SHELL, { ...NESTED, nspid: [13, 3] }], 12), /\$\$ は 3 で、1 ではありません/);
  });

  it('pid-proc: /proc of its own namespace, and a mount namespace of its own', () => {
    const own = { ...NESTED, ns: { ...NS2, mnt: 'mnt:[4026539100]' } };
    // A /proc mounted in the nested namespace: its PID 1 is the shell itself.
    assertDone(check('pid-proc', [{ ...own, pid: 1, ppid: 0, nspid: [1] }], 1), /ラボの \/proc はそのままです/);
    assertNotYet(check('pid-proc', [TINI, LAB_SHELL, own], 12), /\/proc がまだ外側/);
    assertNotYet(check('pid-proc', [TINI, LAB_SHELL, NESTED], 12), /マウント名前空間がラボと同じ.*--mount/);
  });

  const MNT_B = 'mnt:[4026539101]';
  it('mnt-private: /mnt tmpfs here, not in the lab', () => {
    const shell: FakeProcess = { pid: 9, ppid: 4, ns: { mnt: MNT_B }, mountinfo: [...LAB_MOUNTS, mount(40, '/mnt', 'tmpfs')], terminal: 3 };
    assertDone(check('mnt-private', [TINI, LAB_SHELL, shell], 9), /ラボからは見えません/);
    const labToo = { ...TINI, mountinfo: [...LAB_MOUNTS, mount(40, '/mnt', 'tmpfs')] };
    assertNotYet(check('mnt-private', [labToo, LAB_SHELL, shell], 9), /ラボからも \/mnt/);
    assertNotYet(check('mnt-private', [TINI, LAB_SHELL, { ...shell, mountinfo: LAB_MOUNTS }], 9), /tmpfs がマウントされていません/);
  });

  it('mnt-outside: /mnt tmpfs in the lab, not here', () => {
    const labMnt = { ...TINI, mountinfo: [...LAB_MOUNTS, mount(40, '/mnt', 'tmpfs')] };
    const shell: FakeProcess = { pid: 9, ppid: 4, ns: { mnt: MNT_B }, terminal: 4 };
    assertDone(check('mnt-outside', [labMnt, LAB_SHELL, shell], 9), /このシェルのマウント名前空間からは見えません/);
    assertNotYet(check('mnt-outside', [labMnt, LAB_SHELL, { ...shell, mountinfo: labMnt.mountinfo }], 9), /このシェルからも \/mnt/);
    assertNotYet(check('mnt-outside', [TINI, LAB_SHELL, shell], 9), /ラボのマウント名前空間の \/mnt に tmpfs がマウントされていません/);
  });

  const UTS_B = 'uts:[4026539201]';
  const UTS_C = 'uts:[4026539202]';
  it('uts-hostname: its own name, the lab still lab (asked through nsenter)', () => {
    const shell: FakeProcess = { pid: 9, ppid: 4, ns: { uts: UTS_B }, terminal: 3 };
    assertDone(check('uts-hostname', [TINI, LAB_SHELL, shell], 9, { hostname: 'exercise' }, runner({ hostnames: { 1: 'lab' } })), /exercise、ラボは lab/);
    assertNotYet(check('uts-hostname', [TINI, LAB_SHELL, shell], 9, { hostname: 'lab' }, runner({ hostnames: { 1: 'lab' } })), /ホスト名は lab です/);
    assertNotYet(check('uts-hostname', [TINI, LAB_SHELL, shell], 9, { hostname: 'exercise' }, runner({ hostnames: { 1: 'exercise' } })), /ラボのホスト名が exercise に変わっています/);
    assertNotYet(check('uts-hostname', [TINI, LAB_SHELL, shell], 9, { hostname: 'exercise' }, runner()), /確かめられません/);
  });

  it('uts-nested: inner here, outer in the shell it was started from, lab outside', () => {
    const outer: FakeProcess = { pid: 8, ppid: 4, ns: { uts: UTS_B }, terminal: 4 };
    const inner: FakeProcess = { pid: 9, ppid: 8, ns: { uts: UTS_C }, terminal: 4 };
    const t4: FakeProcess = { pid: 4, ppid: 0, terminal: 4 };
    const names = runner({ hostnames: { 1: 'lab', 8: 'outer' } });
    assertDone(check('uts-nested', [TINI, LAB_SHELL, t4, outer, inner], 9, { hostname: 'inner' }, names), /inner .* outer .* lab/);
    assertNotYet(check('uts-nested', [TINI, LAB_SHELL, t4, { ...inner, ppid: 4 }], 9, { hostname: 'inner' }, names), /1 段目\) がありません/);
    assertNotYet(check('uts-nested', [TINI, LAB_SHELL, t4, outer, inner], 9, { hostname: 'inner' }, runner({ hostnames: { 1: 'lab', 8: 'lab' } })), /1 段目の UTS 名前空間のホスト名は lab です/);
    // One namespace for both steps (the second `unshare --uts` forgotten): no outer step either.
    assertNotYet(check('uts-nested', [TINI, LAB_SHELL, t4, outer, { ...inner, ns: { uts: UTS_B } }], 9, { hostname: 'inner' }, names), /1 段目\) がありません/);
  });

  it('ipc-queue: a queue in its own IPC namespace', () => {
    const shell: FakeProcess = { pid: 9, ppid: 4, ns: { ipc: 'ipc:[4026539301]' }, terminal: 3 };
    assertDone(check('ipc-queue', [TINI, LAB_SHELL, shell], 9, { msgQueues: 1 }), /メッセージキューが 1 つ/);
    assertNotYet(check('ipc-queue', [TINI, LAB_SHELL, shell], 9, { msgQueues: 0 }), /メッセージキューがありません/);
  });

  it('ipc-mqueue: an mqueue mount with the queue mine, in its own IPC and mount namespaces', () => {
    const shell: FakeProcess = { pid: 9, ppid: 4, ns: { ipc: 'ipc:[4026539301]', mnt: MNT_B }, mountinfo: [...LAB_MOUNTS, mount(41, '/mnt', 'mqueue')], files: { '/mnt': ['mine'] }, terminal: 4 };
    assertDone(check('ipc-mqueue', [TINI, LAB_SHELL, shell], 9), /キュー mine があります/);
    assertNotYet(check('ipc-mqueue', [TINI, LAB_SHELL, { ...shell, files: { '/mnt': ['other'] } }], 9), /キュー mine がありません/);
    assertNotYet(check('ipc-mqueue', [TINI, LAB_SHELL, { ...shell, mountinfo: LAB_MOUNTS }], 9), /mqueue がマウントされていません/);
    assertNotYet(check('ipc-mqueue', [TINI, LAB_SHELL, { ...shell, ns: { ipc: 'ipc:[4026539301]' } }], 9), /ラボ\) のマウント名前空間/);
  });

  const NET: FakeProcess = { pid: 9, ppid: 4, ns: { net: 'net:[4026539401]' }, terminal: 3 };
  it('net-lo: lo up and a ping that arrives', () => {
    const up = [{ ifname: 'lo', flags: ['LOOPBACK', 'UP'], addr_info: [{ family: 'inet', local: '127.0.0.1', prefixlen: 8 }] }];
    assertDone(check('net-lo', [TINI, LAB_SHELL, NET], 9, {}, runner({ interfaces: up, reachable: ['127.0.0.1'] })), /lo は UP/);
    assertNotYet(check('net-lo', [TINI, LAB_SHELL, NET], 9, {}, runner({ interfaces: [{ ifname: 'lo', flags: ['LOOPBACK'] }] })), /lo はまだ DOWN/);
    assertNotYet(check('net-lo', [TINI, LAB_SHELL, NET], 9, {}, runner({ interfaces: up })), /ping が届きません/);
  });

  it('net-veth: 10.0.9.2 on an up veth here, 10.0.9.1 elsewhere and reachable', () => {
    const veth = (extra: object = {}) => [{ ifname: 'lo', flags: ['UP'] }, { ifname: 'ex1', flags: ['UP'], linkinfo: { info_kind: 'veth' }, addr_info: [{ family: 'inet', local: '10.0.9.2', prefixlen: 24 }], ...extra }];
    assertDone(check('net-veth', [TINI, LAB_SHELL, NET], 9, {}, runner({ interfaces: veth(), reachable: ['10.0.9.1'] })), /ex1 \(veth\) から 10\.0\.9\.1 に ping が届きます/);
    assertNotYet(check('net-veth', [TINI, LAB_SHELL, NET], 9, {}, runner({ interfaces: veth() })), /10\.0\.9\.1 \(ラボ側\) に ping が届きません/);
    assertNotYet(check('net-veth', [TINI, LAB_SHELL, NET], 9, {}, runner({ interfaces: veth({ flags: [] }), reachable: ['10.0.9.1'] })), /ex1 がまだ DOWN/);
    assertNotYet(check('net-veth', [TINI, LAB_SHELL, NET], 9, {}, runner({ interfaces: veth({ linkinfo: { info_kind: 'dummy' } }), reachable: ['10.0.9.1'] })), /veth ではありません/);
    // Both addresses on this side: the ping to 10.0.9.1 would answer itself.
    const both = veth({ addr_info: [{ family: 'inet', local: '10.0.9.2', prefixlen: 24 }, { family: 'inet', local: '10.0.9.1', prefixlen: 24 }] });
    assertNotYet(check('net-veth', [TINI, LAB_SHELL, NET], 9, {}, runner({ interfaces: both, reachable: ['10.0.9.1'] })), /10\.0\.9\.1 がこちら側にあります/);
    assertNotYet(check('net-veth', [TINI, LAB_SHELL, NET], 9, {}, runner({ interfaces: [] })), /10\.0\.9\.2\/24 の付いたインターフェースがありません/);
  });

  const USERNS: FakeProcess = { pid: 9, ppid: 4, ns: { user: 'user:[4026539501]' }, terminal: 3 };
  it('user-nomap: no uid_map and CapEff 0', () => {
    assertDone(check('user-nomap', [TINI, LAB_SHELL, { ...USERNS, uidMap: '', capEff: '0000000000000000', uid: 65534 }], 9), /CapEff は 0000000000000000 です \(uid 65534\)/);
    assertNotYet(check('user-nomap', [TINI, LAB_SHELL, { ...USERNS, uidMap: '0 0 1\n' }], 9), /uid_map があります/);
    assertNotYet(check('user-nomap', [TINI, LAB_SHELL, { ...USERNS, uidMap: '' }], 9), /CapEff が 000001ffffffffff で、0 ではありません/);
  });

  it('user-root: mapped root with every capability', () => {
    assertDone(check('user-root', [TINI, LAB_SHELL, { ...USERNS, uidMap: '0 0 1\n' }], 9), /uid 0、CapEff 000001ffffffffff/);
    assertNotYet(check('user-root', [TINI, LAB_SHELL, { ...USERNS, uidMap: '' }], 9), /0 \(root\) の対応付けがありません/);
    assertNotYet(check('user-root', [TINI, LAB_SHELL, { ...USERNS, uidMap: '0 0 1\n', capEff: '0000000000000000' }], 9), /すべてのケーパビリティ/);
  });

  // The lab's own cgroup2 at /sys/fs/cgroup, writable; seen from a namespace rooted at a child
  // cgroup its root is `/..`, from one rooted at the lab's cgroup `/`.
  const LAB_CGROUPFS = { files: { '/sys/fs/cgroup': ['cgroup.procs'] } };
  const belowLab = [...LAB_MOUNTS, mount(30, '/sys/fs/cgroup', 'cgroup2', '', '/..')];
  const atLab = [...LAB_MOUNTS, mount(30, '/sys/fs/cgroup', 'cgroup2')];
  const CG: FakeProcess = { pid: 9, ppid: 4, ns: { cgroup: 'cgroup:[4026539601]' }, cgroup: '12:pids:/\n0::/\n', terminal: 3, mountinfo: belowLab, ...LAB_CGROUPFS };
  it('cgroup-root: a namespace rooted at a child of the lab\'s cgroup, every line ends in /', () => {
    assertDone(check('cgroup-root', [TINI, LAB_SHELL, CG], 9), /根 \(\/\) に見えます/);
    assertNotYet(check('cgroup-root', [TINI, LAB_SHELL, { ...CG, cgroup: '12:pids:/\n0::/../lab\n' }], 9), /\/ でない行があります: 0::\/\.\.\/lab/);
    assertNotYet(check('cgroup-root', [TINI, LAB_SHELL, { ...CG, mountinfo: atLab }], 9), /根が、ラボの cgroup と同じです/);
    assertNotYet(check('cgroup-root', [TINI, LAB_SHELL, { ...CG, mountinfo: belowLab, ns: {} }], 9), /まだ外側 \(ラボ\) の cgroup 名前空間/);
  });

  it('cgroup-root: a lab without a cgroup the learner may change (rootless, v1): a new namespace is enough', () => {
    assertDone(check('cgroup-root', [TINI, LAB_SHELL, { ...CG, mountinfo: atLab, files: {} }], 9), /根 \(\/\) に見えます/);
    assertDone(check('cgroup-root', [TINI, LAB_SHELL, { ...CG, mountinfo: [...LAB_MOUNTS, mount(30, '/sys/fs/cgroup', 'tmpfs')], files: {} }], 9), /根 \(\/\) に見えます/);
  });

  it('cgroup-container: its own PID, mount and cgroup namespaces and /proc', () => {
    const shell: FakeProcess = { ...CG, pid: 1, ppid: 0, nspid: [1], ns: { ...CG.ns, pid: 'pid:[4026539002]', mnt: MNT_B } };
    assertDone(check('cgroup-container', [shell], 1), /ps には自分の名前空間だけ/);
    assertNotYet(check('cgroup-container', [TINI, LAB_SHELL, { ...shell, pid: 9, ppid: 4, nspid: [9, 1] }], 9), /\/proc がまだ外側/);
    assertNotYet(check('cgroup-container', [TINI, LAB_SHELL, { ...CG, ns: { ...CG.ns, mnt: MNT_B } }], 9), /ラボ\) の PID 名前空間/);
    assertNotYet(check('cgroup-container', [{ ...shell, mountinfo: atLab }], 1), /根が、ラボの cgroup と同じです/);
  });

  const TIME: FakeProcess = { pid: 9, ppid: 4, ns: { time: 'time:[4026539701]', user: 'user:[4026539501]' }, terminal: 3 };
  it('time-boottime: 172800 s of boottime; without --fork the shell itself stays outside', () => {
    assertDone(check('time-boottime', [TINI, LAB_SHELL, { ...TIME, timens: 'monotonic 0 0\nboottime 172800 0\n' }], 9), /172800 秒/);
    assertNotYet(check('time-boottime', [TINI, LAB_SHELL, { ...TIME, timens: 'monotonic 0 0\nboottime 86400 0\n' }], 9), /ずれは 86400 秒です/);
    const noFork: FakeProcess = { ...TIME, ns: { time: LAB.time, time_for_children: 'time:[4026539701]' } };
    assertNotYet(check('time-boottime', [TINI, LAB_SHELL, noFork], 9), /子だけが新しい名前空間に入ります \(--fork が要ります\)/);
  });

  it('time-monotonic: 3600 s of monotonic, boottime untouched', () => {
    assertDone(check('time-monotonic', [TINI, LAB_SHELL, { ...TIME, timens: 'monotonic 3600 0\nboottime 0 0\n' }], 9), /3600 秒/);
    assertNotYet(check('time-monotonic', [TINI, LAB_SHELL, { ...TIME, timens: 'monotonic 3600 0\nboottime 3600 0\n' }], 9), /boottime も 3600 秒/);
    assertNotYet(check('time-monotonic', [TINI, LAB_SHELL, { ...TIME, timens: 'monotonic 0 0\nboottime 0 0\n' }], 9), /monotonic のずれは 0 秒/);
  });

  it('the commands it runs all have a time limit', () => {
    const calls: number[] = [];
    const r: Runner = (_f, _a, timeoutMs) => { calls.push(timeoutMs); return { status: null, stdout: '' }; };
    check('net-veth', [TINI, LAB_SHELL, NET], 9, {}, r);
    check('uts-hostname', [TINI, LAB_SHELL, { pid: 9, ppid: 4, ns: { uts: UTS_B } }], 9, { hostname: 'exercise' }, r);
    assert.ok(calls.length >= 2);
    for (const t of calls) assert.ok(t > 0 && t <= 3000, `limit ${t}`);
  });
});
