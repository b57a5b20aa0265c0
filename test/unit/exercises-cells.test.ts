/**
 * The 演習 cells (issue 18): nbgrader metadata of the teacher's version, the student's view the
 * handouts show (solutions replaced by the bash stub, as nbgrader's ClearSolutions does), and
 * appending the section to a notebook in place of its closing 「次の一歩」.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendExercises, clearSolution, CODE_STUB, exerciseCells, NOTEBOOK_EXERCISES, studentView, terminalLine } from '../../src/cli/exercises.js';
import { nbgraderConfig } from '../../src/cli/course.js';
import { EXERCISES } from '../../src/lab/exercises/checks.js';

type Cell = { cell_type: string; source: string | string[]; metadata: Record<string, any>; outputs?: unknown[]; execution_count?: number | null };

describe('演習 cells: nbgrader metadata, student view, appending', () => {
  it('every notebook 01-08 has 2-3 exercises, each known to nscheck, in terminals of their own', () => {
    assert.equal(Object.keys(NOTEBOOK_EXERCISES).length, 8);
    for (const [name, list] of Object.entries(NOTEBOOK_EXERCISES)) {
      assert.ok(list.length >= 2 && list.length <= 3, name);
      for (const e of list) {
        const known = EXERCISES.find((x) => x.id === e.id);
        assert.ok(known, `nscheck knows ${e.id}`);
        assert.equal(known.notebook, Number(name.slice(0, 2)));
        assert.ok(e.terminal >= 3 && e.terminal <= 9);
      }
      assert.equal(new Set(list.map((e) => e.terminal)).size, list.length, `${name}: one terminal per exercise`);
    }
  });

  it('cells: locked task, solution cell, graded locked one-line check; grade_ids unique', () => {
    const cells = exerciseCells('05-network-namespace') as Cell[];
    const ids = cells.map((c) => c.metadata.nbgrader.grade_id);
    assert.equal(new Set(ids).size, ids.length);
    const answers = cells.filter((c) => c.metadata.nbgrader.solution);
    const checks = cells.filter((c) => c.metadata.nbgrader.grade);
    assert.equal(answers.length, 2);
    assert.deepEqual(checks.map((c) => c.source), [`${terminalLine(3)}\nnscheck net-lo`, `${terminalLine(4)}\nnscheck net-veth`]);
    for (const c of checks) {
      assert.ok(c.metadata.nbgrader.locked && c.metadata.nbgrader.points > 0);
      assert.deepEqual(c.metadata.nslab.expect, [{ output: '/^できました: /m' }], "the teacher's run must reach the goal");
    }
    for (const c of cells.filter((c) => c.cell_type === 'markdown')) assert.ok(c.metadata.nbgrader.locked);
    assert.match(String(answers[0].source), /^#\| terminal: 3  # 3 つ目のターミナルで実行\n### BEGIN SOLUTION\nunshare --net bash\n[^]*\n### END SOLUTION$/);
  });

  it('the student view: the stub (a bash comment) instead of the solution, no outputs in answer or check cells', () => {
    assert.equal(clearSolution('#| terminal: 3\n### BEGIN SOLUTION\nunshare --pid --fork bash\n### END SOLUTION'), `#| terminal: 3\n${CODE_STUB}`);
    const r = spawnSync('bash', ['-n', '-c', clearSolution('  ### BEGIN SOLUTION\n  x\n  ### END SOLUTION')]);
    assert.equal(r.status, 0, 'the stub is valid bash');
    const nb = { cells: exerciseCells('01-pid-namespace') as Cell[] };
    for (const c of nb.cells) if (c.cell_type === 'code') { c.outputs = [{ output_type: 'stream', name: 'stdout', text: 'できました' }]; c.execution_count = 3; }
    const view = studentView(nb);
    for (const c of view.cells.filter((c) => c.cell_type === 'code')) {
      assert.deepEqual(c.outputs, []);
      assert.doesNotMatch(String(c.source), /SOLUTION|unshare/);
    }
    assert.equal(nb.cells[2].execution_count, 3, 'the original is untouched');
  });

  it('appending: the closing 次の一歩 gives way, its man-page line stays; a second append changes nothing', () => {
    const nb = { cells: [
      { cell_type: 'code', source: 'echo $$', metadata: {} },
      { cell_type: 'markdown', source: '## まとめ\n\n- a\n\n## 次の一歩\n\n- b\n- 詳しい説明は man ページにあります: `unshare(1)`。\n', metadata: {} },
    ] as Cell[] };
    appendExercises(nb, '01-pid-namespace');
    assert.equal(nb.cells[1].source, '## まとめ\n\n- a');
    assert.equal(nb.cells[2].source.toString().split('\n')[0], '## 演習');
    assert.equal(nb.cells.at(-1)!.source, '## もっと知るには\n\n詳しい説明は man ページにあります: `unshare(1)`。');
    const n = nb.cells.length;
    appendExercises(nb, '01-pid-namespace');
    assert.equal(nb.cells.length, n);
  });

  it('nbgrader_config.py: the Japanese stub for bash', () => {
    assert.match(nbgraderConfig('nslab'), new RegExp(`c\\.ClearSolutions\\.code_stub = \\{"bash": "${CODE_STUB.replace(/[()]/g, '\\$&')}"\\}`));
  });
});
