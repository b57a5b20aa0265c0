/**
 * nscheck in a real lab (issue 18): for every exercise of the notebooks, the teacher's solution
 * passes, a wrong answer and an empty answer do not, and a shell left somewhere unexpected (a
 * nested shell of another kind left open, a killed terminal, a /proc of an ended PID namespace)
 * gets a "not yet" verdict — in bounded time, never a hang, never a wrong verdict. Each case
 * gets a fresh lab, typed into the exercise's own terminal as the notebook does.
 */
import assert from 'node:assert/strict';
import { NOTEBOOK_EXERCISES, type ExerciseText } from '../../src/cli/exercises.js';
import type { ShellEngine } from '../../src/shell/engine.js';
import { labNamespace, processesInNamespace, runCell, snapshotProcesses, startEngine } from '../helpers/engine.js';

/** A wrong answer per exercise: a common mistake, or printing the words a check would print. */
const WRONG: Record<string, string> = {
  'pid-one': 'unshare --pid bash', // without --fork: `Cannot allocate memory`, the shell cannot start nscheck
  'pid-proc': 'unshare --pid --fork bash\nmount -t proc proc /proc', // the lab's /proc overwritten
  'mnt-private': 'mount -t tmpfs tmpfs /mnt\nunshare --mount bash',
  'mnt-outside': 'mount -t tmpfs tmpfs /mnt\nunshare --mount bash',
  'uts-hostname': 'hostname exercise',
  'uts-nested': 'unshare --uts bash\nhostname outer\nhostname inner',
  'ipc-queue': 'ipcmk -Q\nunshare --ipc bash',
  'ipc-mqueue': 'unshare --ipc bash\nmount -t mqueue mqueue /mnt\ntouch /mnt/mine',
  'net-lo': 'echo "できました: この名前空間の lo は UP で、127.0.0.1 に ping が届きます"',
  'net-veth': 'unshare --net bash\nip link add ex0 type veth peer name ex1\nip addr add 10.0.9.2/24 dev ex1\nip link set ex1 up',
  'user-nomap': 'unshare --user --map-root-user bash',
  'user-root': 'unshare --user bash',
  'cgroup-root': 'echo 0::/',
  'cgroup-container': 'unshare --cgroup --pid --fork bash',
  'time-boottime': 'unshare --user --map-root-user --time --fork --boottime 86400 bash',
  'time-monotonic': 'unshare --user --map-root-user --time --fork --monotonic 3600 --boottime 3600 bash',
};

/** Kills every process of terminal `n` (its shells, nested ones included) from the lab's terminal 2. */
const killTerminal = (n: number) =>
  `for f in $(grep -lza '^NSLAB_TERMINAL=${n}$' /proc/[0-9]*/environ 2>/dev/null); do p=\${f#/proc/}; kill -9 \${p%/environ} 2>/dev/null; done; true`;

/** Somewhere unexpected: [what, cells typed before the check, each [terminal or null (the exercise's), code]]. */
const UNEXPECTED: [string, (e: ExerciseText) => [number | null, string][]][] = [
  ['a nested shell of another kind left open', (e) => [[null, e.id.startsWith('uts') ? 'unshare --ipc bash' : 'unshare --uts bash']]],
  ['the terminal killed after the solution (the next cell gets a fresh shell)', (e) => [[null, e.solution.join('\n')], [2, killTerminal(e.terminal)]]],
  ['the lab\'s /proc from a PID namespace that has ended', () => [[null, 'unshare --pid --fork bash\nmount -t proc proc /proc\nexit']]],
];

const MAX_CHECK_MS = 15000;

describe('nscheck in a real lab: every exercise, right, wrong, empty and unexpected', function () {
  this.timeout(120000);

  async function inFreshLab(fn: (engine: ShellEngine) => Promise<void>): Promise<void> {
    const engine = await startEngine();
    const ns = labNamespace(engine);
    try {
      await fn(engine);
    } finally {
      // Only processes that existed before the end count: a freed namespace number is reused.
      const before = snapshotProcesses();
      await engine.shutdown();
      if (ns) assert.deepEqual(processesInNamespace(ns, before), [], 'nothing of the lab is left');
    }
  }

  async function check(engine: ShellEngine, e: ExerciseText) {
    const r = await runCell(engine, `nscheck ${e.id}`, { terminal: e.terminal });
    assert.ok(r.ms < MAX_CHECK_MS, `the check took ${r.ms} ms`);
    return r;
  }

  for (const [notebook, exercises] of Object.entries(NOTEBOOK_EXERCISES)) {
    for (const e of exercises) {
      describe(`${notebook} ${e.id}`, () => {
        it('the solution: できました, exit 0', () => inFreshLab(async (engine) => {
          await runCell(engine, e.solution.join('\n'), { terminal: e.terminal });
          const r = await check(engine, e);
          assert.equal(r.exitCode, 0, r.output);
          assert.match(r.output, /^できました: /m);
        }));

        it(`a wrong answer (${WRONG[e.id].split('\n')[0]}…): not reached, non-zero`, () => inFreshLab(async (engine) => {
          await runCell(engine, WRONG[e.id], { terminal: e.terminal });
          const r = await check(engine, e);
          assert.notEqual(r.exitCode, 0, JSON.stringify(r));
          assert.doesNotMatch(r.output, /^できました/m);
          if (e.id !== 'pid-one') assert.match(r.output, /^まだです: /m);
          else assert.match(r.output, /fork: Cannot allocate memory/);
        }));

        it('an empty answer: still outside, non-zero', () => inFreshLab(async (engine) => {
          await runCell(engine, '# ここに答えのコマンドを書きます', { terminal: e.terminal });
          const r = await check(engine, e);
          assert.equal(r.exitCode, 1, r.output);
          assert.match(r.output, /^まだです: まだ外側 \(ラボ\) の/m);
        }));

        for (const [what, cells] of UNEXPECTED) {
          it(`somewhere unexpected: ${what}`, () => inFreshLab(async (engine) => {
            for (const [terminal, code] of cells(e)) await runCell(engine, code, { terminal: terminal ?? e.terminal });
            let r = await check(engine, e);
            if (r.outcome === 'exited') {
              // The kernel may learn that the terminal's shell was killed only when this cell
              // arrives: the cell ends with ShellExited (zero points, no verdict) and the next
              // one runs in a fresh shell.
              assert.doesNotMatch(r.output, /できました/);
              r = await check(engine, e);
              assert.match(r.notices, /fresh shell/);
            }
            assert.equal(r.exitCode, 1, r.output);
            assert.match(r.output, /^まだです: /m);
          }));
        }
      });
    }
  }
});
