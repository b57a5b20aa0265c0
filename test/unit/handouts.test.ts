import assert from 'node:assert/strict';
import { cellLabel, checkExecuted, compareRuns, jupyterEnv } from '../../src/cli/handouts.js';
import type { ExecutionReport, NbCell, Notebook } from '../../src/cli/handouts.js';
import type { NbOutput } from '../../src/cli/normalize.js';

function code(id: string, source: string | string[], outputs: NbOutput[] = [], tags?: string[]): NbCell {
  return { cell_type: 'code', id, source, metadata: tags ? { tags } : {}, outputs, execution_count: 1 };
}
function notebook(...cells: NbCell[]): Notebook {
  return { cells: [{ cell_type: 'markdown', id: 'md', source: '# t', metadata: {} }, ...cells], metadata: {} };
}
const ok = (index: number) => ({ index, status: 'ok', ename: null, evalue: null });
const err = (index: number, ename = 'ExitStatus', evalue = 'exit status 1') => ({ index, status: 'error', ename, evalue });
const errorOut = (ename: string, evalue: string): NbOutput => ({ output_type: 'error', ename, evalue, traceback: [] });

describe('handouts: judging an executed notebook', () => {
  it('names a cell by its 1-based index, id and first line that is not a cell option', () => {
    const nb = notebook(code('kill', '#| expect-exit: 1\n#| expect-output: No such process\nkill "$(pgrep -x sleep)"'));
    assert.equal(cellLabel(nb, 1), 'cell 2 (id kill): kill "$(pgrep -x sleep)"');
    assert.equal(cellLabel(notebook(code('x', ['#| terminal: 2\n', 'sleep 1000'])), 1), 'cell 2 (id x): sleep 1000');
  });

  it('a clean run has no problems, also with a tagged cell that failed', () => {
    const nb = notebook(code('a', 'echo 1', [{ output_type: 'stream', name: 'stdout', text: '1\n' }]),
      code('b', 'false', [errorOut('ExitStatus', 'exit status 1')], ['raises-exception']));
    const report: ExecutionReport = { cells: [ok(1), err(2)], failure: null };
    assert.deepEqual(checkExecuted(nb, report), []);
  });

  it('an ExpectationFailed is a problem even in a raises-exception cell', () => {
    const nb = notebook(code('k', 'kill 1', [errorOut('ExpectationFailed', 'expected the output to contain "No such process"\n--- output seen ---\nhello')], ['raises-exception']));
    const problems = checkExecuted(nb, { cells: [err(1, 'ExpectationFailed')], failure: null });
    assert.equal(problems.length, 1);
    assert.match(problems[0], /^cell 2 \(id k\): kill 1: expectation failed: expected the output to contain "No such process"\n {6}--- output seen ---\n {6}hello$/);
  });

  it('an ExpectationFailed that stopped the run is reported once, with its full text', () => {
    const nb = notebook(code('p', 'ps -ef', [errorOut('ExpectationFailed', 'expected the output to contain "tini"')]), code('q', 'echo never'));
    const report: ExecutionReport = {
      cells: [err(1, 'ExpectationFailed')],
      failure: { kind: 'error', index: 1, ename: 'ExpectationFailed', evalue: 'expected the output to contain "tini"', message: '' },
    };
    assert.deepEqual(checkExecuted(nb, report), ['cell 2 (id p): ps -ef: expectation failed: expected the output to contain "tini"']);
  });

  it('a raises-exception cell that ran and did not fail is a stale tag; one that never ran is not', () => {
    const nb = notebook(code('s', 'true', [], ['raises-exception']), code('boom', 'exit 3'), code('later', 'false', [], ['raises-exception']));
    const report: ExecutionReport = {
      cells: [ok(1), err(2, 'ExitStatus', 'exit status 3')],
      failure: { kind: 'error', index: 2, ename: 'ExitStatus', evalue: 'exit status 3', message: '' },
    };
    assert.deepEqual(checkExecuted(nb, report), [
      'cell 3 (id boom): exit 3: unexpected error ExitStatus: exit status 3',
      'cell 2 (id s): true: tagged raises-exception but did not fail (a stale tag, or the step no longer shows what the text says)',
    ]);
  });

  it('timeouts, dead kernels and kernels that do not start are named', () => {
    const nb = notebook(code('t', 'sleep 100'));
    assert.deepEqual(checkExecuted(nb, { cells: [], failure: { kind: 'timeout', index: 1, ename: 'CellTimeoutError', evalue: 'no result after 5 s', message: '' } }),
      ['cell 2 (id t): sleep 100: timed out (no result after 5 s)']);
    assert.deepEqual(checkExecuted(nb, { cells: [], failure: { kind: 'dead-kernel', index: 1, ename: 'DeadKernelError', evalue: 'Kernel died', message: '' } }),
      ['cell 2 (id t): sleep 100: the kernel died']);
    assert.match(checkExecuted(nb, { cells: [], failure: { kind: 'startup', index: null, ename: 'NoSuchKernel', evalue: 'No such kernel named nslab', message: '' } })[0],
      /^the kernel did not start: NoSuchKernel: No such kernel named nslab \(install it with `npm run install-kernel`/);
  });
});

describe('handouts: comparing a run with the committed notebook', () => {
  const ps = (pid: string, time: string) => `UID PID PPID C STIME TTY TIME CMD\nroot 1 0 0 ${time} pts/0 00:00:00 tini -- bash\nroot ${pid} 1 0 ${time} pts/0 00:00:00 sleep 1000\n`;
  const nbWith = (text: string) => notebook(code('ps', 'ps -ef', [{ output_type: 'stream', name: 'stdout', text }]));

  it('accepts what legitimately varies', () => {
    assert.deepEqual(compareRuns(nbWith(ps('12345', '03:49')), nbWith(ps('23456', '11:02')), { notebook: 'n.ipynb', run: 'run 1' }), []);
  });

  it('reports anything else as a unified diff naming notebook, cell and run', () => {
    const [d, ...rest] = compareRuns(nbWith(ps('7', '03:49')), nbWith(ps('8', '03:49')), { notebook: 'n.ipynb', run: 'run 2' });
    assert.equal(rest.length, 0);
    assert.equal(d, [
      '--- n.ipynb cell 2 (id ps): ps -ef (committed)',
      '+++ n.ipynb cell 2 (id ps): ps -ef (run 2)',
      '@@ -1,5 +1,5 @@',
      ' [stdout]',
      ' UID PID PPID C STIME TTY TIME CMD',
      ' root 1 0 <c> <stime> pts/<n> <time> tini -- bash',
      '-root 7 1 <c> <stime> pts/<n> <time> sleep 1000',
      '+root 8 1 <c> <stime> pts/<n> <time> sleep 1000',
      ' ',
      '',
    ].join('\n'));
  });

  it('a different number of cells is reported', () => {
    const a = nbWith('x\n');
    const b = notebook(...a.cells.slice(1), code('extra', 'echo'));
    assert.match(compareRuns(a, b, { notebook: 'n.ipynb', run: 'run 1' })[0], /2 cells committed, 3 in run 1/);
  });
});

describe('handouts: the environment for Jupyter', () => {
  it('puts the kernelspec folder first on JUPYTER_PATH', () => {
    assert.equal(jupyterEnv('/k', { JUPYTER_PATH: '/a' }).JUPYTER_PATH, '/k:/a');
    assert.equal(jupyterEnv(undefined, { NSLAB_KERNELSPEC_DIR: '/e' }).JUPYTER_PATH, '/e');
    assert.equal(jupyterEnv(undefined, {}).JUPYTER_PATH, undefined);
  });
});
