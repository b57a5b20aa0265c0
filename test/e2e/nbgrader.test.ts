/**
 * nbgrader for real (issue 18): a course folder made by `nslab course` from notebooks/, the
 * student version made by `nbgrader generate_assignment`, three submissions per notebook graded
 * by `nbgrader autograde` with the nslab kernel (each a fresh lab), the scores read back from
 * nbgrader's database through its Gradebook API, and `nbgrader generate_feedback`.
 *
 * The submissions: the solution (full points), the student version as released (zero for
 * every exercise, the tutorial cells as in the teacher's run), and a wrong answer to the first
 * exercise (zero for it, the second exercise still full).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { CODE_STUB, NOTEBOOK_EXERCISES, terminalLine } from '../../src/cli/exercises.js';
import { installKernelspec, leftoverMessage, PYTHON, REPO, runPython, type InstalledKernelspec } from '../helpers/kernelspec.js';

/** A wrong answer to each notebook's first exercise: a mistake a learner makes, or a printed word. */
const WRONG: Record<string, string> = {
  '01-pid-namespace': 'unshare --pid bash', // no --fork: the shell can no longer fork (Cannot allocate memory)
  '02-mount-namespace': 'echo "できました: /mnt の tmpfs はこのシェルのマウント名前空間にだけあり、ラボからは見えません"',
  '03-uts-namespace': 'unshare --uts bash\necho exercise',
  '04-ipc-namespace': 'ipcmk -Q',
  '05-network-namespace': 'unshare --net bash\necho 1',
  '06-user-namespace': 'unshare --user --map-root-user bash',
  '07-cgroup-namespace': 'echo 0::/',
  '08-time-namespace': 'unshare --user --map-root-user --time --fork --boottime 86400 bash',
};

interface Cell { cell_type: string; source: string | string[]; metadata: { nbgrader?: { grade_id: string; solution?: boolean; grade?: boolean }; tags?: string[] }; outputs?: { output_type: string; ename?: string }[] }
interface Nb { cells: Cell[] }
type Scores = Record<string, Record<string, { total: [number, number]; cells: Record<string, [number, number]> }>>;

const text = (s: string | string[]) => (Array.isArray(s) ? s.join('') : s);

describe('nbgrader: the notebooks as a course, generated, autograded and fed back for real @slow', function () {
  this.timeout(30 * 60 * 1000);
  let spec: InstalledKernelspec;
  let course: string;
  let env: NodeJS.ProcessEnv;
  const timings: string[] = [];

  before(() => {
    spec = installKernelspec();
    course = mkdtempSync(join(tmpdir(), 'nslab-course-'));
    // nbgrader runs `alembic` from PATH to set up its database.
    env = { ...spec.env, PATH: `${dirname(PYTHON)}:${process.env.PATH}` };
    const r = spawnSync(process.execPath, [join(REPO, 'dist', 'src', 'cli', 'main.js'), 'course', course], { encoding: 'utf8', timeout: 30000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(readFileSync(join(course, 'nbgrader_config.py'), 'utf8'), /c\.ClearSolutions\.code_stub = \{"bash": /);
  });
  after(() => {
    if (timings.length) console.log(`      autograde, one submission each (s): ${timings.join(', ')}`);
    spec?.cleanup();
    if (course) rmSync(course, { recursive: true, force: true });
  });

  async function nbgrader(args: string[], timeoutMs = 10 * 60 * 1000): Promise<number> {
    const r = await runPython(['-m', 'nbgrader', ...args], { env, cwd: course, timeoutMs });
    assert.equal(r.leftovers.length, 0, leftoverMessage(r.leftovers));
    assert.equal(r.code, 0, `nbgrader ${args.join(' ')}: exit ${r.code}\n${r.stderr.slice(-3000)}`);
    return r.ms;
  }

  for (const [name, exercises] of Object.entries(NOTEBOOK_EXERCISES)) {
    it(`${name}: the solution gets full points, an empty answer zero, a wrong first answer zero for that exercise`, async () => {
      await nbgrader(['generate_assignment', name, '--force']);
      const released = JSON.parse(readFileSync(join(course, 'release', name, `${name}.ipynb`), 'utf8')) as Nb;
      const answers = released.cells.filter((c) => c.metadata.nbgrader?.solution);
      assert.equal(answers.length, exercises.length);
      for (const [i, cell] of answers.entries()) {
        assert.equal(text(cell.source), `${terminalLine(exercises[i].terminal)}\n${CODE_STUB}`, 'the student sees the placeholder, not the solution');
      }
      const checks = released.cells.filter((c) => c.metadata.nbgrader?.grade);
      assert.deepEqual(checks.map((c) => text(c.source).split('\n').at(-1)), exercises.map((e) => `nscheck ${e.id}`));

      const submit = (student: string, answer: (id: string) => string | null) => {
        const nb = JSON.parse(JSON.stringify(released)) as Nb;
        for (const cell of nb.cells) {
          const id = cell.metadata.nbgrader?.solution ? cell.metadata.nbgrader.grade_id.replace(/-answer$/, '') : null;
          const a = id ? answer(id) : null;
          if (id && a !== null) cell.source = `#| terminal: ${exercises.find((e) => e.id === id)!.terminal}\n${a}`;
        }
        mkdirSync(join(course, 'submitted', student, name), { recursive: true });
        writeFileSync(join(course, 'submitted', student, name, `${name}.ipynb`), JSON.stringify(nb));
      };
      const solution = (id: string) => exercises.find((e) => e.id === id)!.solution.join('\n');
      submit('solution', solution);
      submit('empty', () => null);
      submit('wrong', (id) => (id === exercises[0].id ? WRONG[name] : solution(id)));

      for (const student of ['solution', 'empty', 'wrong']) {
        const ms = await nbgrader(['autograde', name, '--student', student, '--create', '--force']);
        timings.push(`${name.slice(0, 2)}/${student} ${(ms / 1000).toFixed(1)}`);
      }

      const r = await runPython([join(REPO, 'test', 'e2e', 'py', 'nbgrader_scores.py'), course], { env, timeoutMs: 60000 });
      assert.equal(r.code, 0, r.stderr);
      const scores = (JSON.parse(r.stdout) as Scores)[name];
      const full = exercises.reduce((s, e) => s + e.points, 0);
      const cell = (student: string, id: string) => scores[student].cells[id];
      assert.deepEqual(scores.solution.total, [full, full], 'the solution: full points');
      assert.deepEqual(scores.empty.total, [0, full], 'the empty answer: zero');
      for (const e of exercises) assert.deepEqual(cell('empty', e.id), [0, e.points]);
      assert.deepEqual(cell('wrong', exercises[0].id), [0, exercises[0].points], 'the wrong answer: zero for that exercise');
      for (const e of exercises.slice(1)) assert.deepEqual(cell('wrong', e.id), [e.points, e.points], 'the other exercises keep their points');

      // Nothing else broken: outside the exercises, exactly the cells tagged raises-exception failed.
      for (const student of ['solution', 'empty', 'wrong']) {
        const graded = JSON.parse(readFileSync(join(course, 'autograded', student, name, `${name}.ipynb`), 'utf8')) as Nb;
        graded.cells.forEach((c, i) => {
          if (c.cell_type !== 'code' || c.metadata.nbgrader) return;
          const failed = (c.outputs ?? []).some((o) => o.output_type === 'error');
          assert.equal(failed, (c.metadata.tags ?? []).includes('raises-exception'), `${student}: tutorial cell ${i} ${failed ? 'failed' : 'did not fail'}: ${text(c.source).slice(0, 80)}`);
        });
      }

      await nbgrader(['generate_feedback', name, '--force']);
      for (const student of ['solution', 'empty', 'wrong']) {
        const html = join(course, 'feedback', student, name, `${name}.html`);
        assert.ok(existsSync(html), `feedback for ${student}`);
        const page = readFileSync(html, 'utf8');
        const got = scores[student].total[0];
        assert.match(page, new RegExp(`Score: ${got.toFixed(1)} / ${full.toFixed(1)}`), `${student}'s feedback shows the score`);
      }
      // The learner reads in the feedback what the check said.
      assert.match(readFileSync(join(course, 'feedback', 'empty', name, `${name}.html`), 'utf8'), /まだです: まだ外側 \(ラボ\) の/);
      assert.match(readFileSync(join(course, 'feedback', 'solution', name, `${name}.html`), 'utf8'), /できました: /);
    });
  }
});
