/**
 * Issue 16, point 5: papermill runs a notebook with parameters on nslab. notebooks/03-uts-namespace
 * has a code cell tagged `parameters` (`NEW_HOSTNAME=my-container`) in the nested UTS shell, right
 * before the cell that runs `hostname "$NEW_HOSTNAME"`. `papermill … -p NEW_HOSTNAME papermill-box`
 * injects a cell after it in bash (papermill picks its bash translator from the kernel's language),
 * so the nested shell takes the new name while terminal 2, still in the lab's UTS namespace, keeps
 * `lab`. The kernelspec comes from a temp prefix with private Jupyter dirs; nothing survives.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { jupyterScript } from '../../src/cli/python.js';
import { REPO, formatProcs, installTempKernelspec, makeTempDir, removeDir, requireSystemPrograms, runCommand } from '../helpers/browser.js';
import { joinedSource, outputText, type ModelCell } from '../helpers/jupyterlab.js';

const PAPERMILL = jupyterScript('papermill');
const NOTEBOOK = join(REPO, 'notebooks', '03-uts-namespace.ipynb');

describe('papermill: 03-uts-namespace with -p NEW_HOSTNAME papermill-box @slow', function () {
  this.timeout(3 * 60 * 1000);

  it('injects a bash parameters cell, and the nested UTS shell takes the new hostname while terminal 2 keeps lab', async () => {
    requireSystemPrograms([PAPERMILL]);
    const source = JSON.parse(readFileSync(NOTEBOOK, 'utf8')) as { cells: ModelCell[] };
    const parameters = source.cells.findIndex((c) => (c.metadata.tags ?? []).includes('parameters'));
    assert.ok(parameters >= 0, '03-uts-namespace.ipynb has a cell tagged parameters');
    assert.match(joinedSource(source.cells[parameters].source), /^NEW_HOSTNAME=my-container$/m);

    const work = makeTempDir('nslab-papermill-');
    try {
      const spec = installTempKernelspec(join(work, 'spec'));
      const out = join(work, 'OUT.ipynb');
      const r = await runCommand(PAPERMILL, [NOTEBOOK, out, '-k', 'nslab', '-p', 'NEW_HOSTNAME', 'papermill-box', '--cwd', work],
        { env: { ...spec.env, HOME: join(work, 'spec') }, cwd: work, timeoutMs: 150_000 });
      assert.equal(r.code, 0, `papermill failed:\n${r.stdout}${r.stderr}`);
      assert.deepEqual(r.leftovers, [], `left running after papermill:\n${formatProcs(r.leftovers)}`);
      console.log(`      (papermill ran the notebook in ${(r.ms / 1000).toFixed(1)} s)`);

      const cells = (JSON.parse(readFileSync(out, 'utf8')) as { cells: ModelCell[] }).cells;
      assert.equal(cells.length, source.cells.length + 1, 'one cell injected');
      // papermill's bash translator: a comment and NAME=value, right after the parameters cell.
      const injected = cells[parameters + 1];
      assert.deepEqual(injected.metadata.tags, ['injected-parameters']);
      assert.equal(joinedSource(injected.source).trim(), '# Parameters\nNEW_HOSTNAME=papermill-box');
      const code = cells.filter((c) => c.cell_type === 'code');
      assert.ok(code.every((c) => typeof c.execution_count === 'number'), 'every code cell ran');
      for (const c of code) {
        const raises = (c.metadata.tags ?? []).includes('raises-exception');
        assert.equal(outputText(c).error !== '', raises, `errors only where tagged: ${joinedSource(c.source)}\n${outputText(c).error}`);
      }
      const sets = cells.findIndex((c) => /^hostname "\$NEW_HOSTNAME"$/m.test(joinedSource(c.source)));
      assert.equal(sets, parameters + 2, 'the cell that sets the hostname follows the parameters');
      assert.equal(outputText(cells[sets]).text, 'papermill-box\npapermill-box\n', 'hostname and uname -n in the nested UTS shell');
      // Terminal 2, still in the lab's UTS namespace, right after: its hostname is lab.
      const t2 = cells.slice(sets + 1).find((c) => /^#\| terminal: 2\b/m.test(joinedSource(c.source)) && /^hostname$/m.test(joinedSource(c.source)))!;
      assert.ok(t2, 'a terminal-2 hostname cell after it');
      assert.equal(outputText(t2).text, 'lab\n', 'terminal 2 keeps the lab\'s hostname');
      assert.ok(code.every((c) => !/^my-container$/m.test(outputText(c).text)), 'the default hostname was never set');
    } finally {
      removeDir(work);
    }
  });
});
