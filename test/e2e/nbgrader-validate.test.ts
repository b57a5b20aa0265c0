/**
 * nbgrader's own JupyterLab extension with nslab (issue 18): a student opens the released
 * notebook in JupyterLab 4 and presses nbgrader's "Validate" button; the server runs the notebook
 * with the nslab kernel (a fresh lab) and the dialog says "Success!" for the solution and names
 * both check cells for the untouched student version. Screenshots: artifacts/nbgrader-validate-*.png.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { NOTEBOOK_EXERCISES } from '../../src/cli/exercises.js';
import { artifactsDir, installTempKernelspec, launchBrowser, makeTempDir, removeDir, REPO, type BrowserSession } from '../helpers/browser.js';
import { startJupyterServer, type JupyterServer } from '../helpers/jupyterlab.js';
import { jupyterPython } from '../../src/cli/python.js';

const NAME = '03-uts-namespace';

describe('nbgrader Validate in JupyterLab with nslab, in headless Chromium @slow', function () {
  this.timeout(10 * 60 * 1000);
  let dir: string;
  let server: JupyterServer;
  let browser: BrowserSession;

  before(async () => {
    dir = makeTempDir('nslab-validate-');
    const spec = installTempKernelspec(dir);
    const env = { ...spec.env, PATH: `${dirname(jupyterPython())}:${process.env.PATH}` };
    const course = join(dir, 'course');
    const run = (cmd: string, args: string[]) => {
      const r = spawnSync(cmd, args, { cwd: course, env, encoding: 'utf8', timeout: 120000 });
      assert.equal(r.status, 0, `${cmd} ${args.join(' ')}:\n${r.stderr}`);
    };
    spawnSync(process.execPath, [join(REPO, 'dist', 'src', 'cli', 'main.js'), 'course', course], { encoding: 'utf8' });
    run(jupyterPython(), ['-m', 'nbgrader', 'generate_assignment', NAME]);
    const released = JSON.parse(readFileSync(join(course, 'release', NAME, `${NAME}.ipynb`), 'utf8'));
    const student = join(dir, 'student');
    spawnSync('mkdir', ['-p', student]);
    writeFileSync(join(student, 'empty.ipynb'), JSON.stringify(released));
    for (const cell of released.cells) {
      const id = cell.metadata?.nbgrader?.solution ? String(cell.metadata.nbgrader.grade_id).replace(/-answer$/, '') : null;
      const e = NOTEBOOK_EXERCISES[NAME].find((x) => x.id === id);
      if (e) cell.source = `#| terminal: ${e.terminal}\n${e.solution.join('\n')}`;
    }
    writeFileSync(join(student, 'solved.ipynb'), JSON.stringify(released));
    server = await startJupyterServer({ rootDir: student, env });
    browser = await launchBrowser({ viewport: { width: 1300, height: 900 } });
  });
  after(async () => {
    const left = await browser?.close();
    const report = await server?.stop();
    removeDir(dir);
    assert.deepEqual(left ?? [], []);
    assert.deepEqual(report?.leftovers ?? [], [], 'nothing of the server or its labs is left');
  });

  async function validate(file: string): Promise<string> {
    const page = await browser.newPage();
    await page.goto(server.notebookUrl(file));
    await page.locator('.jp-Notebook').waitFor({ timeout: 60000 });
    await page.getByRole('button', { name: 'Validate' }).click();
    const dialog = page.locator('.jp-Dialog');
    await dialog.getByText(/Validation Results/).waitFor({ timeout: 180000 });
    await page.screenshot({ path: join(artifactsDir('nbgrader-validate'), `${file}.png`) });
    const text = (await dialog.textContent()) ?? '';
    await page.close();
    return text;
  }

  it('the solution: "Success! Your notebook passes all the tests."', async () => {
    const text = await validate('solved.ipynb');
    assert.match(text, /Success! Your notebook passes all the tests\./);
    assert.doesNotMatch(text, /failed/);
  });

  it('the student version as released: both check cells named as failed', async () => {
    const text = await validate('empty.ipynb');
    assert.doesNotMatch(text, /Success/);
    assert.match(text, /The following cell failed:.*nscheck uts-hostname.*ExitStatus: exit status 1/s);
    assert.match(text, /The following cell failed:.*nscheck uts-nested/s);
  });
});
