import assert from 'node:assert/strict';
import { cellChecks, exitStatus, seenOutput } from '../../src/cli/checks.js';
import { cellLabel, checkErrors, checkExecuted, compareRuns, jupyterEnv } from '../../src/cli/handouts.js';
import type { ExecutionReport, NbCell, Notebook } from '../../src/cli/handouts.js';
import type { NbOutput } from '../../src/cli/normalize.js';

function code(id: string, source: string | string[], outputs: NbOutput[] = [], tags?: string[], expect?: unknown[]): NbCell {
  return { cell_type: 'code', id, source, metadata: { ...(tags ? { tags } : {}), ...(expect ? { nslab: { expect } } : {}) }, outputs, execution_count: 1 };
}
const stdout = (text: string): NbOutput => ({ output_type: 'stream', name: 'stdout', text });
function notebook(...cells: NbCell[]): Notebook {
  return { cells: [{ cell_type: 'markdown', id: 'md', source: '# t', metadata: {} }, ...cells], metadata: {} };
}
const ok = (index: number) => ({ index, status: 'ok', ename: null, evalue: null });
const err = (index: number, ename = 'ExitStatus', evalue = 'exit status 1') => ({ index, status: 'error', ename, evalue });
const errorOut = (ename: string, evalue: string): NbOutput => ({ output_type: 'error', ename, evalue, traceback: [] });

describe('handouts: judging an executed notebook', () => {
  it('names a cell by its 1-based index, id and first line that is not a cell option', () => {
    const nb = notebook(code('kill', 'kill "$(pgrep -x sleep)"'));
    assert.equal(cellLabel(nb, 1), 'cell 2 (id kill): kill "$(pgrep -x sleep)"');
    assert.equal(cellLabel(notebook(code('x', ['#| terminal: 2\n', 'sleep 1000'])), 1), 'cell 2 (id x): sleep 1000');
  });

  it('a clean run has no problems, also with a tagged cell that failed', () => {
    const nb = notebook(code('a', 'echo 1', [{ output_type: 'stream', name: 'stdout', text: '1\n' }]),
      code('b', 'false', [errorOut('ExitStatus', 'exit status 1')], ['raises-exception']));
    const report: ExecutionReport = { cells: [ok(1), err(2)], failure: null };
    assert.deepEqual(checkExecuted(nb, report), []);
  });

  it('a check that does not hold is a problem even in a raises-exception cell, naming cell, check and output', () => {
    const nb = notebook(code('k', 'kill 1', [stdout('hello\n'), errorOut('ExitStatus', 'exit status 1')], ['raises-exception'],
      [{ output: 'No such process' }, { exit: 1 }]));
    assert.deepEqual(checkExecuted(nb, { cells: [err(1)], failure: null }), [
      'cell 2 (id k): kill 1: check {"output":"No such process"}: the output does not show it\n      --- output seen ---\n      hello',
    ]);
  });

  it('every kind of check bites: output, absent, exit; regex and plain text; checks of cells that never ran are not judged', () => {
    const nb = notebook(
      code('a', 'echo', [stdout('root 1 0 tini\n')], undefined, [{ output: '/^root +1 +0 /m' }, { absent: '/^root +2/m' }, { absent: 'tini' }]),
      code('b', 'false', [errorOut('ExitStatus', 'exit status 1')], ['raises-exception'], [{ exit: 2 }]),
      code('c', 'true', [], undefined, [{ exit: 1 }]),
      code('d', 'never', [], undefined, [{ output: 'x' }]));
    const problems = checkExecuted(nb, { cells: [ok(1), err(2), ok(3)], failure: null });
    assert.deepEqual(problems.map((p) => p.split('\n')[0]), [
      'cell 2 (id a): echo: check {"absent":"tini"}: the output shows it',
      'cell 3 (id b): false: check {"exit":2}: expected exit status 2, got 1',
      'cell 4 (id c): true: check {"exit":1}: expected exit status 1, got 0',
    ]);
  });

  it('reads the output as the learner does: stdout and a picture\'s text in order, no colours, no stderr notices', () => {
    const outs: NbOutput[] = [stdout('\x1b[01;31mpid\x1b[0m pid_for_children\n'), { output_type: 'stream', name: 'stderr', text: 'nslab: notice\n' },
      { output_type: 'display_data', data: { 'text/plain': ['picture ', 'of ns1'], 'image/svg+xml': '<svg/>' } }];
    assert.equal(seenOutput(outs), 'pid pid_for_children\npicture of ns1');
    const nb = notebook(code('p', 'ls', outs, undefined, [{ output: '/\\bpid\\b/' }, { absent: '31m' }, { absent: '<svg' }, { absent: 'notice' }, { output: 'picture of ns1' }]));
    assert.deepEqual(checkExecuted(nb, { cells: [ok(1)], failure: null }), []);
  });

  it('quotes make a text that starts and ends with / plain text', () => {
    const [c] = cellChecks(code('q', 'x', [], undefined, [{ absent: '"/mnt/view"' }])).checks;
    assert.equal(c.matches!('see /mnt/view here'), true);
    assert.equal(c.matches!('mnt'), false);
  });

  it('the exit status is read from the kernel\'s reply', () => {
    assert.equal(exitStatus({ status: 'ok', ename: null, evalue: null }), 0);
    assert.equal(exitStatus({ status: 'error', ename: 'ExitStatus', evalue: 'exit status 32' }), 32);
    assert.equal(exitStatus({ status: 'error', ename: 'Interrupted', evalue: 'interrupted (exit status 130)' }), 130);
    assert.equal(exitStatus({ status: 'error', ename: 'Timeout', evalue: 'the cell ran longer than its timeout of 1 s' }), null);
  });

  it('badly written checks are named with their cell before anything runs', () => {
    const nb = notebook(code('b', 'echo', [], undefined, [{ output: '/(/' }, { exit: 300 }, { output: '' }, { contains: 'x' }, { output: 'a', absent: 'b' }, 'x']));
    nb.cells.push({ cell_type: 'code', id: 'n', source: 'ls', metadata: { nslab: { expect: { output: 'x' }, extra: 1 } } });
    const problems = checkErrors(nb);
    assert.equal(problems.length, 8, problems.join('\n'));
    assert.match(problems[0], /^cell 2 \(id b\): echo: metadata\.nslab\.expect\[0\] \{"output":"\/\(\/"\}: invalid regular expression/);
    assert.match(problems[1], /expect\[1\] \{"exit":300\}: exit must be an exit status from 0 to 255/);
    assert.match(problems[2], /expect\[2\] .*: the text is empty/);
    assert.match(problems[3], /expect\[3\] .*: unknown check "contains"/);
    assert.match(problems[4], /expect\[4\] .*: a check is \{"output": TEXT\}, \{"absent": TEXT\} or \{"exit": N\}/);
    assert.match(problems[5], /expect\[5\] "x": a check is/);
    assert.match(problems[6], /^cell 3 \(id n\): ls: metadata\.nslab: unknown key "extra"/);
    assert.match(problems[7], /^cell 3 \(id n\): ls: metadata\.nslab\.expect must be a list of checks/);
    assert.deepEqual(checkErrors(notebook(code('g', 'ls', [], undefined, [{ output: 'x' }]))), []);
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
