/**
 * `nscheck <exercise>`: checks one exercise of the notebooks against the real state of the shell
 * that ran it (its parent) and of the lab. Run inside the lab by a wrapper the kernel puts on
 * the lab's PATH (see ../tools.ts), like nstree.
 *
 * Prints one line of plain Japanese — 「できました: …」 (exit 0) or 「まだです: …」 what is still
 * missing (exit 1) — so that a graded check cell scores zero in nbgrader until the goal is
 * reached; 2: usage error or not in a lab. It never waits on the learner's processes: it reads
 * /proc, and the few commands it runs (ip, ping -W 1, nsenter … cat) each have a 3 s limit,
 * at most two per check.
 *
 * Usage: nscheck <exercise-id> | nscheck --list
 */
import { readFileSync } from 'node:fs';
import { EXERCISES, findExercise } from './checks.js';
import { Probe, realRunner, type Runner } from './probe.js';

/** Set by the wrapper: a file with the lab's namespaces, `type:[inode]` one a line. */
const LAB_FILE_ENV = 'NSLAB_LAB_NAMESPACES_FILE';

function labNamespaces(): string[] {
  const file = process.env[LAB_FILE_ENV];
  if (!file) return [];
  try { return readFileSync(file, 'utf8').split('\n').filter(Boolean); } catch { return []; }
}

export function main(argv: string[], proc = '/proc', lab: string[] = labNamespaces(), run: Runner = realRunner): { code: number; text: string } {
  if (argv.length === 1 && argv[0] === '--list') {
    return { code: 0, text: EXERCISES.map((e) => `${e.id.padEnd(15)} ${String(e.notebook).padStart(2, '0')}  ${e.goal}`).join('\n') };
  }
  const exercise = argv.length === 1 ? findExercise(argv[0]) : undefined;
  if (!exercise) {
    const why = argv.length === 1 ? `nscheck: そのような演習はありません: ${argv[0]}\n` : '';
    return { code: 2, text: `${why}usage: nscheck <演習の名前> (一覧は nscheck --list)` };
  }
  if (!lab.length) return { code: 2, text: 'nscheck: ラボの名前空間がわかりません (nslab のラボの中で実行してください)' };
  const probe = new Probe(proc, lab, run);
  const pid = probe.callerPid();
  const shell = pid === null ? null : probe.process(pid);
  if (!shell) {
    return { code: 1, text: 'まだです: この /proc にはこのシェルが見えません (終わった PID 名前空間の /proc です)。umount /proc するか、exit で戻ってください' };
  }
  const verdict = exercise.check(probe, shell);
  return { code: verdict.ok ? 0 : 1, text: verdict.message };
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  process.title = 'nscheck';
  const { code, text } = main(process.argv.slice(2));
  (code === 2 ? process.stderr : process.stdout).write(text + '\n');
  process.exitCode = code;
}
