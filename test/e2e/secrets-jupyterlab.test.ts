/**
 * Issue 22 in JupyterLab, in Chromium: a `read -s` cell gets a masked input box whatever its
 * prompt, the notebook JupyterLab saves does not contain the secret (a plain `read` keeps its
 * answer, as JupyterLab saves it); and a shipped notebook, signed with `jupyter trust` as
 * `npm run lab` does, shows its nstree pictures as pictures when it is opened.
 * Its own small JupyterLab starter (the project's .venv, loopback, random token, private dirs).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { jupyterScript } from '../../src/cli/python.js';
import {
  artifactsDir, freePort, installTempKernelspec, launchBrowser, makeTempDir, processTree, REPO, removeDir, screenshotStats,
  waitGone, type BrowserSession, type Proc,
} from '../helpers/browser.js';

const SECRET = 'lab-s3cret-9f2b';

interface Lab { url: (path: string) => string; stop: () => Promise<Proc[]>; api: (method: string, path: string) => Promise<unknown> }

async function startJupyterLab(dir: string, env: NodeJS.ProcessEnv): Promise<Lab> {
  const token = randomBytes(24).toString('hex');
  const port = await freePort();
  const child: ChildProcess = spawn(jupyterScript('jupyter-lab'), [
    '--ServerApp.ip=127.0.0.1', `--ServerApp.port=${port}`, '--ServerApp.port_retries=0', `--IdentityProvider.token=${token}`,
    '--allow-root', '--no-browser', `--ServerApp.root_dir=${dir}`,
  ], { env, cwd: dir, stdio: ['ignore', 'ignore', 'ignore'] });
  const base = `http://127.0.0.1:${port}/`;
  const seen = new Map<string, Proc>();
  const tracker = setInterval(() => { for (const p of processTree(child.pid!)) seen.set(`${p.pid}:${p.start}`, p); }, 250);
  const api = async (method: string, path: string) => {
    const res = await fetch(new URL(path, base), { method, headers: { Authorization: `token ${token}` }, signal: AbortSignal.timeout(20_000) });
    if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status}`);
    const text = await res.text();
    return text ? JSON.parse(text) : null;
  };
  const stop = async () => {
    try {
      for (const k of (await api('GET', 'api/kernels')) as { id: string }[]) await api('DELETE', `api/kernels/${k.id}`);
    } catch { /* the server is gone already */ }
    if (child.exitCode === null) child.kill('SIGTERM');
    clearInterval(tracker);
    const left = await waitGone([...seen.values()], 10_000);
    for (const p of left) try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ }
    return left;
  };
  for (const deadline = Date.now() + 60_000; ;) {
    try {
      await api('GET', 'api/status');
      break;
    } catch (err) {
      if (Date.now() > deadline || child.exitCode !== null) {
        await stop();
        throw new Error(`JupyterLab did not start: ${(err as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, 300));
    }
  }
  return { url: (p) => `${base}lab/tree/${p}?token=${token}`, stop, api };
}

function notebook(cells: string[]): string {
  return JSON.stringify({
    cells: cells.map((source) => ({ cell_type: 'code', execution_count: null, metadata: {}, outputs: [], source })),
    metadata: { kernelspec: { name: 'nslab', display_name: 'Namespace Lab (bash)', language: 'bash' }, language_info: { name: 'bash' } },
    nbformat: 4, nbformat_minor: 5,
  }, null, 1);
}

describe('secrets and trusted pictures in JupyterLab (browser)', function () {
  this.timeout(300_000);
  let dir: string;
  let lab: Lab | undefined;
  let browser: BrowserSession | undefined;
  const shots = artifactsDir('secrets-jupyterlab');

  before(async () => {
    dir = makeTempDir('nslab-jlab-secrets-');
    const { env } = installTempKernelspec(dir);
    writeFileSync(join(dir, 'secret.ipynb'), notebook(['read -s -p "合言葉? " p; echo; echo "len ${#p}"', 'read -p "name? " x; echo "hi $x"']));
    copyFileSync(join(REPO, 'notebooks', '01-pid-namespace.ipynb'), join(dir, 'pid.ipynb'));
    // A notebook someone sends: the same pictures, but not what was signed here (the notary keys
    // trust on the notebook's contents, so an identical copy would count as signed).
    const sent = JSON.parse(readFileSync(join(REPO, 'notebooks', '01-pid-namespace.ipynb'), 'utf8'));
    sent.metadata.sent_by = 'someone else';
    writeFileSync(join(dir, 'untrusted.ipynb'), JSON.stringify(sent));
    // What scripts/run-lab.sh does for the shipped notebooks, in this test's private data dir.
    const trust = spawnSync(jupyterScript('jupyter'), ['trust', join(dir, 'pid.ipynb')], { env, encoding: 'utf8', timeout: 60_000 });
    assert.equal(trust.status, 0, trust.stderr);
    lab = await startJupyterLab(dir, env);
    browser = await launchBrowser({ viewport: { width: 1300, height: 900 }, actionTimeoutMs: 60_000 });
  });
  after(async () => {
    const killed = [...(browser ? await browser.close() : []), ...(lab ? await lab.stop() : [])];
    removeDir(dir);
    assert.deepEqual(killed, [], 'everything ended by itself');
  });

  it('masks the read -s box, shows the plain one, and saves no secret', async () => {
    const page = await browser!.newPage();
    await page.goto(lab!.url('secret.ipynb'));
    // The kernel is connected and idle (the status bar names it): a cell run earlier is dropped.
    await page.locator('#jp-main-statusbar', { hasText: 'Namespace Lab (bash) | Idle' }).waitFor();
    await page.locator('.jp-Cell').first().click();
    await page.keyboard.press('Shift+Enter');
    const box = page.locator('.jp-Stdin-input');
    await box.waitFor({ timeout: 30_000 }).catch(async (err) => {
      await page.screenshot({ path: join(shots, 'no-box.png') });
      throw err;
    });
    assert.equal(await box.evaluate((e) => (e as HTMLInputElement).type), 'password', 'the box of read -s is masked');
    assert.match(await page.locator('.jp-Stdin-prompt').first().innerText(), /合言葉\?/);
    await box.fill(SECRET);
    await page.screenshot({ path: join(shots, 'masked-box.png') });
    await box.press('Enter');
    await page.locator('.jp-OutputArea-output', { hasText: `len ${SECRET.length}` }).waitFor();
    await page.locator('.jp-Cell').nth(1).click();
    await page.keyboard.press('Shift+Enter');
    const plain = page.locator('.jp-Cell').nth(1).locator('.jp-Stdin-input');
    await plain.waitFor();
    assert.equal(await plain.evaluate((e) => (e as HTMLInputElement).type), 'text', 'a plain read is not masked');
    await plain.fill('abc');
    await plain.press('Enter');
    await page.locator('.jp-OutputArea-output', { hasText: 'hi abc' }).waitFor();
    await page.locator('.jp-NotebookPanel-toolbar [data-command="docmanager:save"]').first().click();
    const saved = async () => readFileSync(join(dir, 'secret.ipynb'), 'utf8');
    for (const deadline = Date.now() + 20_000; !(await saved()).includes('hi abc') && Date.now() < deadline;) await page.waitForTimeout(200);
    const png = await page.screenshot({ path: join(shots, 'after-save.png') });
    assert.ok((await screenshotStats(browser!, png)).colours > 10, "not a blank screenshot");
    const text = await saved();
    assert.match(text, /hi abc/);
    assert.match(text, new RegExp(`len ${SECRET.length}`));
    assert.ok(!text.includes(SECRET), 'the saved notebook does not contain the secret');
    assert.ok(!(await page.locator('.jp-Notebook').innerText()).includes(SECRET), 'nor does the page');
  });

  it('shows the pictures of a trusted shipped notebook on open; an untrusted copy shows text', async () => {
    const page = await browser!.newPage();
    await page.goto(lab!.url('pid.ipynb'));
    await page.locator('.jp-RenderedSVG').first().waitFor();
    await page.locator('.jp-RenderedSVG').first().scrollIntoViewIfNeeded();
    const png = await page.screenshot({ path: join(shots, 'trusted-nstree.png') });
    assert.ok((await screenshotStats(browser!, png)).colours > 10, "not a blank screenshot");
    assert.ok((await page.locator('.jp-RenderedSVG').count()) >= 1);
    const other = await browser!.newPage();
    await other.goto(lab!.url('untrusted.ipynb'));
    await other.locator('.jp-OutputArea-output').first().waitFor();
    await other.waitForTimeout(1000);
    await other.locator('.jp-CodeCell', { hasText: 'nstree' }).first().scrollIntoViewIfNeeded();
    await other.screenshot({ path: join(shots, 'untrusted-nstree.png') });
    assert.equal(await other.locator('.jp-RenderedSVG').count(), 0, 'not signed: no picture until it is run');
  });
});
