/**
 * The exercises of notebooks 01–08 and how each is checked: every check looks at the state the
 * exercise is about (the shell's namespaces against the lab's, its status, hostname, mounts,
 * interfaces, other terminals), never at anything the learner printed. A verdict is one line of
 * plain Japanese: 「できました: …」 or what is still missing.
 */
import type { Probe, ProcessView } from './probe.js';

export interface Verdict {
  ok: boolean;
  message: string;
}

export interface Exercise {
  id: string;
  /** The notebook it belongs to (its number). */
  notebook: number;
  /** What is to be reached, in a few words (for --list). */
  goal: string;
  check(p: Probe, shell: ProcessView): Verdict;
}

const done = (message: string): Verdict => ({ ok: true, message: `できました: ${message}` });
const notYet = (message: string): Verdict => ({ ok: false, message: `まだです: ${message}` });

const NAMES: Record<string, string> = {
  pid: ' PID ', mnt: 'マウント', uts: ' UTS ', ipc: ' IPC ', net: 'ネットワーク', user: 'ユーザー', cgroup: ' cgroup ', time: '時間',
};

/** null when the shell is in a namespace of `type` of its own, else why not. */
function ownNamespace(p: Probe, shell: ProcessView, type: string): Verdict | null {
  const mine = p.ns(shell.pid, type);
  if (mine === null) return notYet(`このシェルの${NAMES[type]}名前空間が読めません`);
  if (mine === p.labNs(type)) {
    const where = type === 'pid' ? `: $$ は ${shell.nspid.at(-1) ?? shell.pid} です` : '';
    return notYet(`まだ外側 (ラボ) の${NAMES[type]}名前空間にいます${where}`);
  }
  return null;
}

/**
 * null when the shell's cgroup namespace is rooted below the lab's cgroup (in a child cgroup the
 * learner made), or when the lab has no cgroup the learner can change (a rootless lab: then a new
 * namespace is all that is asked); else why not. A lab with a cgroup of its own has cgroup2 at
 * /sys/fs/cgroup, rooted at the lab's cgroup: seen from a namespace rooted below it, that mount's
 * root is `/..` (mountinfo shows cgroup paths as the reader's namespace sees them, and nscheck is
 * in the shell's: cgroup_namespaces(7)).
 */
function rootedBelowLab(p: Probe, shell: ProcessView): Verdict | null {
  const cgroupfs = p.mounts(shell.pid).filter((m) => m.target === '/sys/fs/cgroup').at(-1);
  if (cgroupfs?.fstype !== 'cgroup2' || !p.writable(shell.pid, '/sys/fs/cgroup/cgroup.procs')) return null;
  if (cgroupfs.root.split('/').includes('..')) return null;
  return notYet('新しい cgroup 名前空間の根が、ラボの cgroup と同じです: 子の cgroup を作ってシェルを移してから unshare --cgroup します');
}

function hex(n: bigint): string {
  return n.toString(16).padStart(16, '0');
}

export const EXERCISES: Exercise[] = [
  {
    id: 'pid-one', notebook: 1, goal: '新しい PID 名前空間で $$ が 1 のシェル',
    check(p, shell) {
      const own = ownNamespace(p, shell, 'pid');
      if (own) return own;
      const inner = shell.nspid.at(-1);
      if (inner !== 1) return notYet(`新しい PID 名前空間にはいますが、このシェルの $$ は ${inner} で、1 ではありません`);
      return done(`このシェルは新しい PID 名前空間の PID 1 です (ラボでは PID ${shell.nspid[0]})`);
    },
  },
  {
    id: 'pid-proc', notebook: 1, goal: 'ps が自分の PID 名前空間だけを見せ、ラボの /proc は無事',
    check(p, shell) {
      const own = ownNamespace(p, shell, 'pid');
      if (own) return own;
      if (p.ns(shell.pid, 'mnt') === p.labNs('mnt')) {
        return notYet('マウント名前空間がラボと同じです: ここで /proc をマウントするとラボの /proc を壊します (--mount が要ります)');
      }
      const procNs = p.ns(1, 'pid');
      if (procNs !== p.ns(shell.pid, 'pid')) return notYet('/proc がまだ外側の PID 名前空間のものです: ps にはラボのプロセスが見えます');
      return done('/proc はこのシェルの PID 名前空間のもので、ラボの /proc はそのままです');
    },
  },
  {
    id: 'mnt-private', notebook: 2, goal: '新しいマウント名前空間で /mnt に tmpfs、ラボからは見えない',
    check(p, shell) {
      const own = ownNamespace(p, shell, 'mnt');
      if (own) return own;
      if (!p.mounts(shell.pid).some((m) => m.target === '/mnt' && m.fstype === 'tmpfs')) return notYet('このシェルから見て /mnt に tmpfs がマウントされていません');
      const lab = p.labProcess('mnt');
      if (lab === null) return notYet('ラボのプロセスが見えません (この /proc からはラボが見えません)');
      if (p.mounts(lab).some((m) => m.target === '/mnt')) return notYet('ラボからも /mnt のマウントが見えます: ラボのマウント名前空間でマウントしていませんか');
      return done('/mnt の tmpfs はこのシェルのマウント名前空間にだけあり、ラボからは見えません');
    },
  },
  {
    id: 'mnt-outside', notebook: 2, goal: 'ラボの /mnt には tmpfs があるが、このシェル (別のマウント名前空間) には見えない',
    check(p, shell) {
      const own = ownNamespace(p, shell, 'mnt');
      if (own) return own;
      const lab = p.labProcess('mnt');
      if (lab === null) return notYet('ラボのプロセスが見えません (この /proc からはラボが見えません)');
      if (!p.mounts(lab).some((m) => m.target === '/mnt' && m.fstype === 'tmpfs')) return notYet('ラボのマウント名前空間の /mnt に tmpfs がマウントされていません');
      if (p.mounts(shell.pid).some((m) => m.target === '/mnt')) return notYet('このシェルからも /mnt のマウントが見えます: unshare --mount の前にマウントしていませんか');
      return done('ラボの /mnt には tmpfs があり、このシェルのマウント名前空間からは見えません');
    },
  },
  {
    id: 'uts-hostname', notebook: 3, goal: '新しい UTS 名前空間でホスト名 exercise、ラボは lab のまま',
    check(p, shell) {
      const own = ownNamespace(p, shell, 'uts');
      if (own) return own;
      const name = p.hostname();
      if (name !== 'exercise') return notYet(`このシェルのホスト名は ${name} です (exercise にします)`);
      const lab = p.labProcess('uts');
      const labName = lab === null ? null : p.hostnameOf(lab);
      if (labName === null) return notYet('ラボのホスト名を確かめられません');
      if (labName !== 'lab') return notYet(`ラボのホスト名が ${labName} に変わっています: ラボの UTS 名前空間で hostname lab に戻してください`);
      return done('このシェルのホスト名は exercise、ラボは lab のままです');
    },
  },
  {
    id: 'uts-nested', notebook: 3, goal: 'UTS 名前空間を 2 段: 外側の段は outer、このシェルは inner、ラボは lab',
    check(p, shell) {
      const own = ownNamespace(p, shell, 'uts');
      if (own) return own;
      const name = p.hostname();
      if (name !== 'inner') return notYet(`このシェルのホスト名は ${name} です (inner にします)`);
      const mine = p.ns(shell.pid, 'uts');
      // The shells this one was started from, innermost first: the first in another UTS
      // namespace that is not the lab's is the outer step.
      const seen = new Set<number>();
      for (let pid = shell.ppid; pid > 0 && !seen.has(pid); pid = p.process(pid)?.ppid ?? 0) {
        seen.add(pid);
        const ns = p.ns(pid, 'uts');
        if (ns === null || ns === mine) continue;
        if (ns === p.labNs('uts')) break;
        const outer = p.hostnameOf(pid);
        if (outer !== 'outer') return notYet(`1 段目の UTS 名前空間のホスト名は ${outer ?? '(読めません)'} です (outer にします)`);
        const lab = p.labProcess('uts');
        const labName = lab === null ? null : p.hostnameOf(lab);
        if (labName !== 'lab') return notYet(`ラボのホスト名が ${labName ?? '(読めません)'} です (lab のままにします)`);
        return done('inner (このシェル) ⊂ outer (1 段目) ⊂ lab (ラボ): 3 つの UTS 名前空間が別々のホスト名を持っています');
      }
      return notYet('このシェルを起動したシェルたちの中に、ラボとも自分とも違う UTS 名前空間 (1 段目) がありません');
    },
  },
  {
    id: 'ipc-queue', notebook: 4, goal: '新しい IPC 名前空間にメッセージキューが 1 つ以上',
    check(p, shell) {
      const own = ownNamespace(p, shell, 'ipc');
      if (own) return own;
      const n = p.messageQueues();
      if (n === 0) return notYet('この IPC 名前空間にはメッセージキューがありません');
      return done(`この IPC 名前空間にメッセージキューが ${n} つあります (ラボのものとは別です)`);
    },
  },
  {
    id: 'ipc-mqueue', notebook: 4, goal: '新しい IPC・マウント名前空間で mqueue をマウントし、キュー mine を作る',
    check(p, shell) {
      const own = ownNamespace(p, shell, 'ipc') ?? ownNamespace(p, shell, 'mnt');
      if (own) return own;
      const mq = p.mounts(shell.pid).filter((m) => m.fstype === 'mqueue');
      if (!mq.length) return notYet('このシェルのマウント名前空間に mqueue がマウントされていません');
      const withQueue = mq.find((m) => p.hasFile(shell.pid, m.target, 'mine'));
      if (!withQueue) return notYet(`${mq[0].target} の mqueue にキュー mine がありません`);
      return done(`${withQueue.target} の mqueue (この IPC 名前空間のもの) にキュー mine があります`);
    },
  },
  {
    id: 'net-lo', notebook: 5, goal: '新しいネットワーク名前空間で lo を有効にし 127.0.0.1 に ping が届く',
    check(p, shell) {
      const own = ownNamespace(p, shell, 'net');
      if (own) return own;
      const lo = p.interfaces().find((i) => i.name === 'lo');
      if (!lo || !lo.up) return notYet('この名前空間の lo はまだ DOWN です');
      if (!p.ping('127.0.0.1')) return notYet('127.0.0.1 に ping が届きません');
      return done('この名前空間の lo は UP で、127.0.0.1 に ping が届きます');
    },
  },
  {
    id: 'net-veth', notebook: 5, goal: 'veth で 10.0.9.2/24 (このシェル側) と 10.0.9.1/24 (ラボ側) をつなぎ ping が届く',
    check(p, shell) {
      const own = ownNamespace(p, shell, 'net');
      if (own) return own;
      const ifs = p.interfaces();
      if (ifs.some((i) => i.ipv4.some((a) => a.startsWith('10.0.9.1/')))) return notYet('10.0.9.1 がこちら側にあります: 10.0.9.1 はラボ側に付けます');
      const mine = ifs.find((i) => i.ipv4.includes('10.0.9.2/24'));
      if (!mine) return notYet('この名前空間に 10.0.9.2/24 の付いたインターフェースがありません');
      if (mine.kind !== 'veth') return notYet(`10.0.9.2 が付いている ${mine.name} は veth ではありません`);
      if (!mine.up) return notYet(`${mine.name} がまだ DOWN です`);
      if (!p.ping('10.0.9.1')) return notYet('10.0.9.1 (ラボ側) に ping が届きません: ラボ側の veth にアドレスを付けて UP にしましたか');
      return done(`${mine.name} (veth) から 10.0.9.1 に ping が届きます`);
    },
  },
  {
    id: 'user-nomap', notebook: 6, goal: '対応付け (uid_map) のないユーザー名前空間で CapEff が 0',
    check(p, shell) {
      const own = ownNamespace(p, shell, 'user');
      if (own) return own;
      if (p.uidMap(shell.pid).length) return notYet('このユーザー名前空間には uid_map があります (--map-root-user なしで入ります)');
      if (shell.capEff !== 0n) return notYet(`CapEff が ${hex(shell.capEff)} で、0 ではありません`);
      return done(`uid_map は空、CapEff は ${hex(0n)} です (uid ${shell.uid})`);
    },
  },
  {
    id: 'user-root', notebook: 6, goal: 'ユーザー名前空間の中で root (uid 0) になり、すべてのケーパビリティを持つ',
    check(p, shell) {
      const own = ownNamespace(p, shell, 'user');
      if (own) return own;
      if (!p.uidMap(shell.pid).some(([inside]) => inside === 0)) return notYet('uid_map に 0 (root) の対応付けがありません');
      if (shell.uid !== 0) return notYet(`このシェルの uid は ${shell.uid} で、0 ではありません`);
      if (shell.capEff !== p.allCaps()) return notYet(`CapEff が ${hex(shell.capEff)} で、すべてのケーパビリティ (${hex(p.allCaps())}) ではありません`);
      return done(`中では uid 0、CapEff ${hex(shell.capEff)} (この名前空間の中だけで有効)`);
    },
  },
  {
    id: 'cgroup-root', notebook: 7, goal: '子の cgroup を根とする新しい cgroup 名前空間で /proc/self/cgroup が / だけになる',
    check(p, shell) {
      const own = ownNamespace(p, shell, 'cgroup') ?? rootedBelowLab(p, shell);
      if (own) return own;
      const lines = p.cgroups(shell.pid);
      const deeper = lines.find((l) => !l.endsWith(':/'));
      if (!lines.length) return notYet('/proc/PID/cgroup が読めません');
      if (deeper) return notYet(`/proc/self/cgroup に / でない行があります: ${deeper}`);
      return done('このシェルの cgroup は、この名前空間の根 (/) に見えます');
    },
  },
  {
    id: 'cgroup-container', notebook: 7, goal: 'PID・マウント・cgroup 名前空間を分け (cgroup は子の cgroup が根)、ps には自分の名前空間だけ、cgroup は / だけ',
    check(p, shell) {
      const own = ownNamespace(p, shell, 'cgroup') ?? ownNamespace(p, shell, 'pid') ?? ownNamespace(p, shell, 'mnt') ?? rootedBelowLab(p, shell);
      if (own) return own;
      if (p.ns(1, 'pid') !== p.ns(shell.pid, 'pid')) return notYet('/proc がまだ外側の PID 名前空間のものです (--mount-proc)');
      const deeper = p.cgroups(shell.pid).find((l) => !l.endsWith(':/'));
      if (deeper) return notYet(`/proc/self/cgroup に / でない行があります: ${deeper}`);
      return done('PID・マウント・cgroup 名前空間が分かれ、ps には自分の名前空間だけ、cgroup は / に見えます');
    },
  },
  {
    id: 'time-boottime', notebook: 8, goal: '起動から 2 日 (172800 秒) ずれた時間名前空間のシェル',
    check(p, shell) {
      const mine = p.ns(shell.pid, 'time');
      if (mine === p.labNs('time') && p.ns(shell.pid, 'time_for_children') !== mine) {
        return notYet('このシェルは元の時間名前空間にいて、子だけが新しい名前空間に入ります (--fork が要ります)');
      }
      const own = ownNamespace(p, shell, 'time');
      if (own) return own;
      const boot = p.timeOffsets(shell.pid).boottime ?? 0;
      if (boot !== 172800) return notYet(`boottime のずれは ${boot} 秒です (172800 秒 = 2 日にします)`);
      return done('boottime が 172800 秒 (2 日) ずれた時間名前空間にいます');
    },
  },
  {
    id: 'time-monotonic', notebook: 8, goal: 'monotonic だけが 1 時間 (3600 秒) 進み、boottime はずれていない',
    check(p, shell) {
      const own = ownNamespace(p, shell, 'time');
      if (own) return own;
      const off = p.timeOffsets(shell.pid);
      if ((off.monotonic ?? 0) !== 3600) return notYet(`monotonic のずれは ${off.monotonic ?? 0} 秒です (3600 秒にします)`);
      if ((off.boottime ?? 0) !== 0) return notYet(`boottime も ${off.boottime} 秒ずれています (0 のままにします)`);
      return done('monotonic だけが 3600 秒ずれ、boottime は 0 のままです');
    },
  },
];

export function findExercise(id: string): Exercise | undefined {
  return EXERCISES.find((e) => e.id === id);
}
