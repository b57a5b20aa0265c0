/**
 * The 演習 (exercises) at the end of notebooks 01–08, as nbgrader cells: a locked task, an
 * answer cell (nbgrader solution cell: the teacher's solution between `### BEGIN SOLUTION` and
 * `### END SOLUTION`, which `nbgrader generate_assignment` replaces by the bash code stub of
 * nbgrader_config.py), and a locked, graded check cell of one line, `nscheck <id>`
 * (src/lab/exercises/), which exits non-zero — an error in nbgrader's eyes, zero points — until
 * the goal is reached.
 *
 * Each exercise runs in a terminal of its own (3, 4), so a nested shell left open by one
 * answer disturbs neither the other exercise nor the tutorial's terminals 1 and 2; a restart
 * of the kernel gives a fresh lab.
 */
import { readFileSync, writeFileSync } from 'node:fs';

export interface ExerciseText {
  /** nscheck's exercise id; also the base of the nbgrader grade_ids. */
  id: string;
  title: string;
  /** The task (markdown): predict, run, check. */
  task: string;
  terminal: number;
  /** The teacher's answer: bash lines typed into that terminal. */
  solution: string[];
  points: number;
}

/** The placeholder that replaces a solution in the student version: a bash comment. */
export const CODE_STUB = '# ここに答えのコマンドを書きます (この行は消してもかまいません)';

export const BEGIN_SOLUTION = '### BEGIN SOLUTION';
export const END_SOLUTION = '### END SOLUTION';

const HOW = (n: number) => [
  '## 演習',
  '',
  'ここからは、自分でコマンドを書いて確かめます。それぞれの演習は次の順に進めます。',
  '',
  '1. **予想する**: 問題文を読み、何が起きるかを先に考えます。',
  '2. **実行する**: 「答え」のセルにコマンドを書いて実行します。',
  '3. **確かめる**: すぐ下の確認のセル (`nscheck 演習の名前`) を実行します。`できました: …` と出れば達成、`まだです: …` なら、何が足りないかが書いてあります。確認のセルは何度実行してもかまいません。',
  '',
  'まだのとき、確認のセルはエラー (`exit status 1`) で終わります。このセクションでは、それで正常です。採点 (nbgrader) では、エラーなしで終わった確認のセルに点が付きます。',
  '',
  `演習ごとに別のターミナル (${n === 2 ? '3 と 4' : '3、4'}) を使うので、途中で入れ子のシェルが残っても、ほかの演習には響きません。やり直したいときは、答えのセルに \`exit\` を書いて外側へ戻るか、カーネルを再起動します (再起動すると、ラボは最初からやり直しになります)。`,
  '',
  '`nscheck` は、シェルに表示された文字ではなく、シェルが実際にいる名前空間 (`/proc/$$/ns/*`)、`/proc/$$/status`、ホスト名、マウント、インターフェースを調べます。',
].join('\n');

export const NOTEBOOK_EXERCISES: Record<string, ExerciseText[]> = {
  '01-pid-namespace': [
    {
      id: 'pid-one', title: 'PID 1 のシェル', terminal: 3, points: 1,
      task: 'ターミナル 3 のシェルを、新しい PID 名前空間の **PID 1** にしてください (`echo $$` が `1` を表示する状態です)。\n\n予想: `--fork` を付けずに `unshare --pid bash` を実行すると、どうなるでしょうか。ステップ 1 の説明を思い出してから試し、`Cannot allocate memory` が出たら、なぜ出たのかを考えてください (やり直すには、カーネルを再起動するか、`exit` で戻ります)。',
      solution: ['unshare --pid --fork bash', 'echo $$'],
    },
    {
      id: 'pid-proc', title: '自分の名前空間だけを見せる ps', terminal: 4, points: 1,
      task: 'ターミナル 4 で、新しい PID 名前空間に入り、`ps -ef` にその名前空間のプロセスだけが表示されるようにしてください。ただし、ステップ 4 のようにラボの `/proc` を壊してはいけません。\n\n予想: ステップ 3 (`mount -t proc` だけ) とステップ 6 (`--mount-proc`) のどちらのやり方なら、ラボの `ps` は無事でしょうか。',
      solution: ['unshare --pid --fork --mount-proc bash', 'ps -ef'],
    },
  ],
  '02-mount-namespace': [
    {
      id: 'mnt-private', title: 'ラボには見えないマウント', terminal: 3, points: 1,
      task: 'ターミナル 3 で新しいマウント名前空間に入り、`/mnt` に tmpfs をマウントしてください。そのマウントは、ラボ (ターミナル 1・2) からは見えないようにします。\n\n予想: ラボの `/` は private です。中でマウントしたものは、外に伝わるでしょうか。',
      solution: ['unshare --mount bash', 'mount -t tmpfs tmpfs /mnt', 'findmnt /mnt'],
    },
    {
      id: 'mnt-outside', title: '自分には見えない、ラボのマウント', terminal: 4, points: 1,
      task: '逆向きです。ターミナル 4 で新しいマウント名前空間に入り、その**あとで**ラボのマウント名前空間の `/mnt` に tmpfs をマウントしてください。ターミナル 4 のシェルからは、そのマウントが見えないようにします。\n\nヒント: シェルは中にいたままで、ラボ (PID 1 の `tini`) のマウント名前空間でコマンドを 1 つだけ実行するには、`nsenter --target 1 --mount コマンド` を使います。\n\n予想: 順番を逆にして、先にマウントしてから `unshare --mount bash` で入ると、どうなるでしょうか。',
      solution: ['unshare --mount bash', 'nsenter --target 1 --mount mount -t tmpfs tmpfs /mnt', 'findmnt /mnt || echo このシェルからは見えません'],
    },
  ],
  '03-uts-namespace': [
    {
      id: 'uts-hostname', title: '自分だけのホスト名', terminal: 3, points: 1,
      task: 'ターミナル 3 のシェルのホスト名を `exercise` にしてください。ただし、ラボのホスト名は `lab` のままにします。\n\n予想: `unshare --uts` を付けずに `hostname exercise` を実行すると、ターミナル 2 の `hostname` は何を表示するでしょうか (試したら、`hostname lab` で戻しておきましょう)。',
      solution: ['unshare --uts bash', 'hostname exercise', 'hostname'],
    },
    {
      id: 'uts-nested', title: '入れ子の UTS 名前空間', terminal: 4, points: 1,
      task: 'ターミナル 4 で UTS 名前空間を 2 段作ってください。1 段目のホスト名は `outer`、その中に作った 2 段目 (このシェル) のホスト名は `inner` にし、ラボは `lab` のままにします。\n\n予想: 2 段目で `hostname inner` を実行したあと、1 段目のホスト名は何でしょうか。`nsenter --target 1 --uts hostname` でラボのホスト名も見てみましょう。',
      solution: ['unshare --uts bash', 'hostname outer', 'unshare --uts bash', 'hostname inner', 'hostname'],
    },
  ],
  '04-ipc-namespace': [
    {
      id: 'ipc-queue', title: '自分の名前空間のキュー', terminal: 3, points: 1,
      task: 'ターミナル 3 で新しい IPC 名前空間に入り、その中に System V のメッセージキューを 1 つ作ってください。\n\n予想: 作ったキューは、ターミナル 2 の `ipcs -q` に表示されるでしょうか。キューの ID は何番になるでしょうか。',
      solution: ['unshare --ipc bash', 'ipcmk -Q', 'ipcs -q'],
    },
    {
      id: 'ipc-mqueue', title: 'POSIX キューをファイルとして見る', terminal: 4, points: 1,
      task: 'ターミナル 4 で新しい IPC 名前空間とマウント名前空間に入り、その IPC 名前空間の mqueue ファイルシステムを `/mnt` にマウントして、`mine` という名前の POSIX メッセージキューを作ってください。\n\n予想: マウント名前空間を分けずに mqueue をマウントすると、ラボのほうはどうなるでしょうか。',
      solution: ['unshare --ipc --mount bash', 'mount -t mqueue mqueue /mnt', 'touch /mnt/mine', 'ls /mnt'],
    },
  ],
  '05-network-namespace': [
    {
      id: 'net-lo', title: '新しい名前空間の lo', terminal: 3, points: 1,
      task: 'ターミナル 3 で新しいネットワーク名前空間に入り、その中で `127.0.0.1` に `ping` が届くようにしてください。\n\n予想: 入った直後の `ping -c 1 127.0.0.1` は、何と表示するでしょうか (ステップ 3 を思い出しましょう)。',
      solution: ['unshare --net bash', 'ip link set lo up', 'ping -c 1 127.0.0.1'],
    },
    {
      id: 'net-veth', title: 'veth でラボとつなぐ', terminal: 4, points: 2,
      task: 'ターミナル 4 のシェルを新しいネットワーク名前空間に入れ、ラボと veth ペアでつないでください。アドレスは、ラボ側が `10.0.9.1/24`、このシェル側が `10.0.9.2/24` です。このシェルから `ping -c 1 10.0.9.1` が届けば達成です。\n\nヒント: veth ペアは、入る前にラボで作れます。入ったあとで片方をこのシェルの名前空間へ移すには、ラボのネットワーク名前空間で `ip link set 名前 netns $$` を実行します (`nsenter --target 1 --net ip …`)。\n\n予想: アドレスを付けただけで、`UP` にしないと ping は届くでしょうか。',
      solution: [
        'ip link add ex0 type veth peer name ex1',
        'ip addr add 10.0.9.1/24 dev ex0',
        'ip link set ex0 up',
        'unshare --net bash',
        'nsenter --target 1 --net ip link set ex1 netns $$',
        'ip addr add 10.0.9.2/24 dev ex1',
        'ip link set ex1 up',
        'ping -c 1 10.0.9.1',
      ],
    },
  ],
  '06-user-namespace': [
    {
      id: 'user-nomap', title: '対応表のないユーザー名前空間', terminal: 3, points: 1,
      task: 'ターミナル 3 で、対応表 (`uid_map`) のない新しいユーザー名前空間に入ってください。そこでは `CapEff` が `0000000000000000` になります。\n\n予想: ラボの root のまま `--map-root-user` を付けずに `unshare --user bash` で入ると、`id` は何を表示するでしょうか。ケーパビリティが 0 になるのはなぜでしょうか。',
      solution: ['unshare --user bash', 'id', 'grep CapEff /proc/self/status'],
    },
    {
      id: 'user-root', title: '中の root', terminal: 4, points: 1,
      task: 'ターミナル 4 で新しいユーザー名前空間に入り、その中で uid 0 (root) になって、すべてのケーパビリティを持つシェルにしてください。\n\n予想: 演習 1 との違いは、どのオプション 1 つでしょうか。',
      solution: ['unshare --user --map-root-user bash', 'id', 'grep CapEff /proc/self/status'],
    },
  ],
  '07-cgroup-namespace': [
    {
      id: 'cgroup-root', title: '子の cgroup を根にする', terminal: 3, points: 1,
      task: 'ターミナル 3 のシェルを、ラボの cgroup の下に新しく作った子の cgroup (名前は自由です) に移し、その子の cgroup を根 (`/`) とする新しい cgroup 名前空間に入れてください。`/proc/self/cgroup` は `0::/` になり、ラボの PID 1 (`/proc/1/cgroup`) は `0::/..` に見えるはずです。\n\n予想: そのとき、ラボ (ターミナル 2) から同じシェルの `/proc/PID/cgroup` を読むと、何が表示されるでしょうか。',
      solution: ['mkdir /sys/fs/cgroup/ex1', 'echo $$ > /sys/fs/cgroup/ex1/cgroup.procs', 'unshare --cgroup bash', 'grep \'^0::\' /proc/self/cgroup', 'grep \'^0::\' /proc/1/cgroup'],
    },
    {
      id: 'cgroup-container', title: 'コンテナに近づける', terminal: 4, points: 1,
      task: 'ターミナル 4 で、コンテナのランタイムと同じ順番で、コンテナのようなシェルを作ってください。まず子の cgroup を作ってシェルを移し、それから PID・マウント・cgroup の名前空間をまとめて分けます。`ps -ef` にはその PID 名前空間のプロセスだけが表示され、`/proc/self/cgroup` はどの行も `/` で終わるようにします。\n\n予想: `unshare` のオプションは、いくつ要るでしょうか。',
      solution: ['mkdir /sys/fs/cgroup/ex2', 'echo $$ > /sys/fs/cgroup/ex2/cgroup.procs', 'unshare --cgroup --pid --fork --mount-proc bash', 'ps -ef', 'grep \'^0::\' /proc/self/cgroup'],
    },
  ],
  '08-time-namespace': [
    {
      id: 'time-boottime', title: '2 日前に起動したことにする', terminal: 3, points: 1,
      task: 'ターミナル 3 のシェルを、起動からの時間 (boottime) がラボより **2 日** 長い時間名前空間に入れてください。\n\n予想: ずれは秒で指定します。何秒でしょうか。`uptime -s` の日付はどう変わるでしょうか。',
      solution: ['unshare --user --map-root-user --time --fork --boottime 172800 bash', 'cat /proc/self/timens_offsets'],
    },
    {
      id: 'time-monotonic', title: 'monotonic だけをずらす', terminal: 4, points: 1,
      task: 'ターミナル 4 のシェルを、monotonic 時計だけが **1 時間** 進み、boottime はずれていない時間名前空間に入れてください。\n\n予想: このシェルの `cat /proc/uptime` は、ラボと比べてずれるでしょうか (`/proc/uptime` はどちらの時計を見せているでしょうか)。',
      solution: ['unshare --user --map-root-user --time --fork --monotonic 3600 bash', 'cat /proc/self/timens_offsets'],
    },
  ],
};

export interface NbCellOut {
  id: string;
  cell_type: 'markdown' | 'code';
  metadata: Record<string, unknown>;
  source: string;
  outputs?: unknown[];
  execution_count?: number | null;
}

/** The cell option line that puts a cell in the exercise's terminal, with its comment (as the notebooks write it). */
export function terminalLine(n: number): string {
  return `#| terminal: ${n}  # ${n} つ目のターミナルで実行`;
}

function nbgrader(fields: { grade_id: string; solution: boolean; grade: boolean; locked: boolean; points?: number }): Record<string, unknown> {
  return { nbgrader: { schema_version: 3, task: false, ...fields } };
}

/** The 演習 section of a notebook as nbformat cells (teacher's version, not executed). */
export function exerciseCells(notebook: string): NbCellOut[] {
  const list = NOTEBOOK_EXERCISES[notebook];
  if (!list) return [];
  const cells: NbCellOut[] = [{
    id: 'exercises', cell_type: 'markdown', source: HOW(list.length), metadata: nbgrader({ grade_id: 'exercises', solution: false, grade: false, locked: true }),
  }];
  list.forEach((e, i) => {
    cells.push({
      id: `${e.id}-task`, cell_type: 'markdown', source: `### 演習 ${i + 1}: ${e.title} (${e.points} 点)\n\n${e.task}\n\n答えはターミナル ${e.terminal} で実行されます (セルの先頭の \`#| terminal: ${e.terminal}\` の行は、そのまま残してください)。`,
      metadata: nbgrader({ grade_id: `${e.id}-task`, solution: false, grade: false, locked: true }),
    });
    cells.push({
      id: `${e.id}-answer`, cell_type: 'code', source: [terminalLine(e.terminal), BEGIN_SOLUTION, ...e.solution, END_SOLUTION].join('\n'),
      metadata: nbgrader({ grade_id: `${e.id}-answer`, solution: true, grade: false, locked: false }), outputs: [], execution_count: null,
    });
    cells.push({
      id: e.id, cell_type: 'code', source: `${terminalLine(e.terminal)}\nnscheck ${e.id}`,
      // The teacher's run must reach every goal (a check of the reruns, see README "Checks").
      metadata: { ...nbgrader({ grade_id: e.id, solution: false, grade: true, locked: true, points: e.points }), nslab: { expect: [{ output: '/^できました: /m' }] } },
      outputs: [], execution_count: null,
    });
  });
  return cells;
}

/** Whether a cell belongs to the 演習 section (it carries nbgrader metadata). */
export function isExerciseCell(cell: { metadata?: Record<string, unknown> }): boolean {
  return typeof cell.metadata?.nbgrader === 'object' && cell.metadata?.nbgrader !== null;
}

/**
 * The student's view of an executed teacher's notebook, for handouts: solution regions replaced
 * by the code stub (as nbgrader's ClearSolutions does), and the answer and check cells without
 * outputs (an empty answer would not have reached them).
 */
export function studentView<T extends { cells: { cell_type: string; source: string | string[]; metadata?: Record<string, unknown>; outputs?: unknown[]; execution_count?: number | null }[] }>(nb: T): T {
  const copy = JSON.parse(JSON.stringify(nb)) as T;
  for (const cell of copy.cells) {
    const meta = cell.metadata?.nbgrader as { solution?: boolean; grade?: boolean } | undefined;
    if (!meta || cell.cell_type !== 'code') continue;
    const source = Array.isArray(cell.source) ? cell.source.join('') : cell.source;
    if (meta.solution) cell.source = clearSolution(source);
    if (meta.solution || meta.grade) {
      cell.outputs = [];
      cell.execution_count = null;
      // No output, so nothing its checks could promise (README "Checks").
      if (cell.metadata && typeof cell.metadata.nslab === 'object') delete cell.metadata.nslab;
    }
  }
  return copy;
}

/** Writes the student's view of an executed notebook beside it and returns its path (for handouts). */
export function writeStudentView(executedPath: string): string {
  const out = executedPath.replace(/\.ipynb$/, '') + '.student.ipynb';
  writeFileSync(out, JSON.stringify(studentView(JSON.parse(readFileSync(executedPath, 'utf8')))));
  return out;
}

/**
 * Appends the 演習 section to a notebook that has none. The closing 「次の一歩」 of its last
 * cell gives way to the exercises; its man-page pointer moves to a short closing cell.
 */
export function appendExercises<T extends { cells: { cell_type: string; source: string | string[]; metadata?: Record<string, unknown> }[] }>(nb: T, notebook: string): T {
  if (nb.cells.some(isExerciseCell) || !NOTEBOOK_EXERCISES[notebook]) return nb;
  const last = nb.cells[nb.cells.length - 1];
  const text = Array.isArray(last.source) ? last.source.join('') : last.source;
  const at = text.indexOf('\n## 次の一歩');
  let manPages: string | null = null;
  if (last.cell_type === 'markdown' && at >= 0) {
    manPages = /^- (詳しい説明は man ページにあります: .*)$/m.exec(text.slice(at))?.[1] ?? null;
    last.source = text.slice(0, at).trimEnd();
  }
  const cells = exerciseCells(notebook) as unknown as T['cells'];
  if (manPages) {
    cells.push({ id: 'exercises-end', cell_type: 'markdown', source: `## もっと知るには\n\n${manPages}`, metadata: { nbgrader: { schema_version: 3, task: false, grade_id: 'exercises-end', solution: false, grade: false, locked: true } } } as unknown as T['cells'][number]);
  }
  nb.cells.push(...cells);
  return nb;
}

/** Replaces each BEGIN/END SOLUTION region (markers included) by the stub, keeping its indent. */
export function clearSolution(source: string): string {
  const out: string[] = [];
  let inside = false;
  for (const line of source.split('\n')) {
    if (!inside && line.trim() === BEGIN_SOLUTION) {
      inside = true;
      out.push(line.slice(0, line.indexOf('#')) + CODE_STUB);
    } else if (inside && line.trim() === END_SOLUTION) {
      inside = false;
    } else if (!inside) {
      out.push(line);
    }
  }
  return out.join('\n');
}
