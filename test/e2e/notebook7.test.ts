/**
 * Issue 16, point 2: `jupyter notebook` (Notebook 7, the project's .venv) works with nslab too.
 * One test, as a learner who prefers the one-document UI: open the PID tutorial, run its first
 * code cell, see its output. Temp kernelspec, private Jupyter dirs and HOME; nothing survives.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CHROMIUM, REPO, artifactsDir, formatProcs, installTempKernelspec, launchBrowser, makeTempDir, removeDir, requireSystemPrograms, screenshotStats,
  type BrowserSession, type Proc,
} from '../helpers/browser.js';
import { JUPYTER_NOTEBOOK, openNotebook, runCell, scrollToCell, startJupyterServer, waitCellRan, outputText, type JupyterServer } from '../helpers/jupyterlab.js';

const TUTORIAL = '01-pid-namespace.ipynb';

describe('Notebook 7: `jupyter notebook` runs a cell of the tutorial in headless Chromium @slow', function () {
  this.timeout(3 * 60 * 1000);
  let work: string | undefined;
  let server: JupyterServer | undefined;
  let session: BrowserSession | undefined;

  before(async function () {
    requireSystemPrograms([CHROMIUM, JUPYTER_NOTEBOOK]);
    work = makeTempDir('nslab-notebook7-');
    const spec = installTempKernelspec(join(work, 'spec'));
    mkdirSync(join(work, 'notebooks'));
    copyFileSync(join(REPO, 'notebooks', TUTORIAL), join(work, 'notebooks', TUTORIAL));
    server = await startJupyterServer({ ui: 'notebook', rootDir: join(work, 'notebooks'), env: spec.env });
    session = await launchBrowser();
  });

  after(async function () {
    const left: Proc[] = [];
    if (session) left.push(...(await session.close()));
    const stopped = server ? await server.stop() : null;
    if (stopped) left.push(...stopped.leftovers, ...stopped.survivedKernelShutdown);
    removeDir(work);
    assert.deepEqual(left, [], `processes left running:\n${formatProcs(left)}`);
  });

  it('opens 01, runs `echo $$` and shows 2 under the cell', async () => {
    const page = await session!.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    await openNotebook(page, server!, TUTORIAL);
    // Notebook 7 is its own page: the notebook fills it (no launcher, no side panels of JupyterLab).
    assert.equal(await page.locator('#main-panel .jp-NotebookPanel').count(), 1, 'a Notebook 7 page');
    // The tutorial's first `echo $$` cell, wherever the lesson puts it.
    const cells = (JSON.parse(readFileSync(join(REPO, 'notebooks', TUTORIAL), 'utf8')) as { cells: { cell_type: string; source: string | string[] }[] }).cells;
    const index = cells.findIndex((c) => c.cell_type === 'code' && [c.source].flat().join('') === 'echo $$');
    assert.ok(index >= 0, 'the tutorial has an `echo $$` cell');
    await runCell(page, index);
    const cell = await waitCellRan(page, index);
    assert.equal(outputText(cell).text, '2\n');
    const drawn = await scrollToCell(page, index);
    assert.equal((await drawn.locator('.jp-OutputArea-output').innerText()).trim(), '2', 'the output shows under the cell');
    assert.equal((await drawn.locator('.jp-InputPrompt').innerText()).trim(), '[1]:');
    const png = await page.screenshot({ path: join(artifactsDir('notebook7'), 'notebook7.png') });
    const s = await screenshotStats(session!, png);
    assert.ok(s.ink > 0.05, `notebook7.png looks blank: ${JSON.stringify(s)}`);
    assert.deepEqual(errors.filter((e) => /nslab|Namespace Lab/.test(e)), [], 'browser errors from nslab');
    await page.close();
  });
});
