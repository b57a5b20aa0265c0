/**
 * Kernel subshells in JupyterLab (4.6, the project .venv), in headless Chromium: the learner's
 * second terminal. Open the PID notebook, "New Subshell Console for Notebook" from the command
 * palette, then the article's step with two real frontends: `sleep 1000` in the console, found
 * and killed from the notebook; the other way round; a long command in the notebook does not
 * block the console; closing the console ends its terminal with nothing left.
 *
 * The server gets a temp copy of the notebook, this checkout's kernelspec (JUPYTER_PATH) and
 * private Jupyter dirs; it binds to 127.0.0.1 with a random token and is stopped by PID.
 * Screenshots go to artifacts/subshell-console/ (gitignored).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { jupyterScript } from '../../src/cli/python.js';
import {
  REPO, artifactsDir, formatProcs, freePort, installTempKernelspec, launchBrowser, makeTempDir, processTree, removeDir, waitGone,
  type BrowserSession, type Proc,
} from '../helpers/browser.js';

const NOTEBOOK = '01-pid-namespace.ipynb';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface LabServer {
  url(path: string): string;
  pid: number;
  log(): string;
  /** Every process the server's tree had (kernels, their labs). */
  seen(): Proc[];
  stop(): Promise<Proc[]>;
}

/** JupyterLab on a free loopback port with a random token; its settings and workspaces in `dir`. */
async function startJupyterLab(notebookDir: string, dir: string, env: NodeJS.ProcessEnv): Promise<LabServer> {
  const token = randomBytes(24).toString('hex');
  const port = await freePort();
  const child: ChildProcess = spawn(jupyterScript('jupyter-lab'), [
    '--ip=127.0.0.1', `--port=${port}`, '--ServerApp.port_retries=0', `--IdentityProvider.token=${token}`,
    '--allow-root', '--no-browser', `--ServerApp.root_dir=${notebookDir}`,
    `--LabApp.user_settings_dir=${join(dir, 'lab-settings')}`, `--LabApp.workspaces_dir=${join(dir, 'lab-workspaces')}`,
  ], { env, cwd: notebookDir, stdio: ['ignore', 'pipe', 'pipe'] });
  const pid = child.pid!;
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (output += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (output += d));
  let exited = false;
  const exit = new Promise<void>((r) => child.on('exit', () => { exited = true; r(); }));
  const seen = new Map<string, Proc>();
  const track = () => { for (const p of processTree(pid)) if (p.pid !== pid) seen.set(`${p.pid}:${p.start}`, p); };
  const tracker = setInterval(track, 250);
  const base = `http://127.0.0.1:${port}/`;
  const api = (method: string, path: string) =>
    fetch(new URL(path, base), { method, headers: { Authorization: `token ${token}` }, signal: AbortSignal.timeout(30_000) });
  const stop = async () => {
    track();
    clearInterval(tracker);
    if (!exited) {
      try {
        const kernels = (await (await api('GET', 'api/kernels')).json()) as { id: string }[];
        for (const k of kernels) await api('DELETE', `api/kernels/${k.id}`);
      } catch { /* the server is gone already */ }
      child.kill('SIGTERM');
      await Promise.race([exit, sleep(10_000)]);
      if (!exited) child.kill('SIGKILL');
    }
    const left = await waitGone([...seen.values()], 5000);
    for (const p of left) try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ }
    return left;
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited) throw new Error(`jupyter-lab exited before it served:\n${output}`);
    try {
      if ((await api('GET', 'api/status')).ok) break;
    } catch { /* not yet */ }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`jupyter-lab did not answer within 60 s:\n${output}`);
    }
    await sleep(250);
  }
  return { url: (path) => `${base}${path}?token=${token}`, pid, log: () => output, seen: () => [...seen.values()], stop };
}

/** Poll until `fn` is truthy (its value), or fail saying what was waited for. */
async function until<T>(what: string, fn: () => Promise<T | null | undefined | false>, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => null);
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(200);
  }
}

describe('e2e: a subshell console in JupyterLab is a second terminal of the lab @slow', function () {
  this.timeout(300_000);
  const shots = artifactsDir('subshell-console');
  let dir: string;
  let server: LabServer | null = null;
  let browser: BrowserSession | null = null;
  let page: Page;
  const left: Proc[] = [];

  before(async function () {
    dir = makeTempDir('nslab-subshell-console-');
    const notebooks = join(dir, 'notebooks');
    mkdirSync(notebooks);
    copyFileSync(join(REPO, 'notebooks', NOTEBOOK), join(notebooks, NOTEBOOK));
    const spec = installTempKernelspec(dir);
    server = await startJupyterLab(notebooks, dir, spec.env);
    browser = await launchBrowser({ viewport: { width: 1400, height: 1000 } });
    page = await browser.newPage();
  });

  after(async function () {
    if (browser) left.push(...(await browser.close()));
    if (server) left.push(...(await server.stop()));
    if (process.env.NSLAB_E2E_VERBOSE) process.stderr.write(server?.log() ?? '');
    removeDir(dir);
    assert.deepEqual(left, [], `processes left running (now killed):\n${formatProcs(left)}`);
  });

  const shot = async (name: string) => page.screenshot({ path: join(shots, `${name}.png`) });
  const kernelIdle = () => until('the kernel to be idle', async () => (await page.locator('.jp-Notebook-ExecutionIndicator').getAttribute('data-status')) === 'idle');
  const sleepsInLab = () => server!.seen().filter((p) => /^sleep 100\d\b/.test(p.cmd) && processTree(server!.pid).some((q) => q.pid === p.pid && q.start === p.start));
  const consolePanel = () => page.locator('.jp-CodeConsole');

  /** "New Subshell Console for Notebook" from the notebook's context menu; resolves when its subshell exists. */
  async function openSubshellConsole(): Promise<void> {
      // JupyterLab shows the console before its create_subshell_reply came back; a cell typed in that
      // moment goes to the main shell. The console has a websocket of its own: wait for the reply on it.
      let subshellReady = false;
      page.on('websocket', (ws) =>
        ws.on('framereceived', (f) => {
          if ((typeof f.payload === 'string' ? f.payload : f.payload.toString('latin1')).includes('"create_subshell_reply"')) subshellReady = true;
        }),
      );
      // The notebook's context menu (right click), as a learner finds it.
      const item = page.locator('.lm-Menu-item', { hasText: 'New Subshell Console for Notebook' });
      await until('the context menu', async () => {
        if (await item.isVisible()) return true;
        await page.keyboard.press('Escape');
        await page.locator('.jp-Notebook .jp-Cell').first().click({ button: 'right' });
        await sleep(500);
        return item.isVisible();
      });
      await shot('0-context-menu');
      await item.click();
      await consolePanel().waitFor();
      await until("the console's subshell", async () => subshellReady);
      await sleep(300);
      await until('the console to be ready', async () => (await consolePanel().locator('.jp-CodeConsole-promptCell .cm-content').count()) > 0);
  }

  /** Type `code` into a new cell above the notebook's first one and run it; the cell. */
  async function runInNotebook(code: string): Promise<Locator> {
    await page.locator('.jp-Notebook .jp-Cell').first().click();
    await page.keyboard.press('Escape');
    await page.keyboard.press('a');
    await page.keyboard.press('Enter');
    await page.keyboard.insertText(code);
    await page.keyboard.press('Shift+Enter');
    return page.locator('.jp-Notebook .jp-Cell').first();
  }

  /** Type `code` into the console's prompt and run it; the console cell it became. */
  async function runInConsole(code: string): Promise<Locator> {
    const before = await consolePanel().locator('.jp-CodeConsole-content .jp-Cell').count();
    await consolePanel().locator('.jp-CodeConsole-promptCell .cm-content').click();
    await page.keyboard.insertText(code);
    await page.keyboard.press('Shift+Enter');
    await until('the console cell', async () => (await consolePanel().locator('.jp-CodeConsole-content .jp-Cell').count()) > before);
    return consolePanel().locator('.jp-CodeConsole-content .jp-Cell').nth(before);
  }
  const textOf = (cell: Locator) => cell.locator('.jp-OutputArea').innerText();
  const waitText = (what: string, cell: Locator, re: RegExp, ms = 30_000) => until(what, async () => re.test(await textOf(cell)) && (await textOf(cell)), ms);

  it('opens the PID notebook on nslab and a "New Subshell Console for Notebook" that says it is terminal 2', async function () {
    await page.goto(server!.url(`lab/tree/${NOTEBOOK}`));
    await page.locator('.jp-Notebook .jp-Cell').first().waitFor();
    await kernelIdle();
    // JupyterLab asks whether to fetch its news (from the internet, blocked here): no.
    const noNews = page.locator('.Toastify__toast button', { hasText: /^No$/ });
    if (await noNews.count()) await noNews.first().click();
    await openSubshellConsole();
    const hello = await runInConsole('echo "console in terminal $NSLAB_TERMINAL, PID $$"');
    const text = await waitText('the console output', hello, /console in terminal/);
    assert.match(text, /this subshell is terminal 2 of the lab/);
    assert.match(text, /console in terminal 2, PID \d+/);
    await shot('1-console-opened');
  });

  it('sleep 1000 in the console is found and killed from the notebook', async function () {
    const sleeping = await runInConsole('sleep 1000');
    await until('sleep 1000 to run in the lab', async () => sleepsInLab().length === 1);
    const picture = await runInNotebook('nstree --text | grep -E "ターミナル|sleep"');
    const drawn = await waitText('nstree in the notebook', picture, /sleep 1000/);
    assert.match(drawn, /bash +← ターミナル 1/);
    assert.match(drawn, /bash +← ターミナル 2 \(コンソール\)/, 'nstree marks the console terminal');
    const kill = await runInNotebook('ps -ef | grep "[s]leep 1000"; kill $(pgrep -x sleep) && echo killed');
    const killText = await waitText('the kill in the notebook', kill, /killed/);
    assert.match(killText, /sleep 1000/);
    const ended = await waitText('the console sleep to end', sleeping, /exit status 143/);
    assert.match(ended, /ExitStatus/);
    await shot('2-notebook-killed-console-sleep');
  });

  it('the other way round: the notebook runs sleep 1000, the console is not blocked and kills it', async function () {
    await kernelIdle();
    const sleeping = await runInNotebook('sleep 1000');
    await until('sleep 1000 to run in the lab', async () => sleepsInLab().length === 1);
    const t0 = Date.now();
    const quick = await runInConsole('echo not blocked');
    await waitText('the console to answer', quick, /not blocked/);
    const answerMs = Date.now() - t0;
    assert.ok(answerMs < 10_000, `the console answered after ${answerMs} ms`);
    const kill = await runInConsole('pgrep -a -x sleep; kill $(pgrep -x sleep) && echo killed');
    assert.match(await waitText('the kill in the console', kill, /killed/), /sleep 1000/);
    assert.match(await waitText('the notebook sleep to end', sleeping, /exit status 143/), /ExitStatus/);
    await shot('3-console-killed-notebook-sleep');
  });

  it('closing the console ends its terminal and what runs there; the notebook kernel lives on', async function () {
    await runInConsole('setsid sleep 1001 & sleep 1002');
    await until('the console sleeps to run', async () => sleepsInLab().length === 2);
    // The console's tab carries the notebook's name: find it by the panel's id.
    const panelId = await page.locator('.jp-ConsolePanel').getAttribute('id');
    const tab = page.locator(`.lm-TabBar-tab[data-id="${panelId}"]`);
    await tab.hover();
    await tab.locator('.lm-TabBar-tabCloseIcon').click();
    await shot('4-closing-console');
    // JupyterLab may ask whether to shut the kernel down: the notebook still uses it, keep it.
    const keep = page.locator('.jp-Dialog button', { hasText: /Keep|No|Cancel/ });
    if (await keep.count()) await keep.first().click();
    await until('the console to close', async () => (await consolePanel().count()) === 0);
    await until('the console sleeps to end', async () => sleepsInLab().length === 0, 15_000);
    const check = await runInNotebook('pgrep -a sleep || echo "no sleep left"; nstree --text | grep -o "ターミナル [0-9]"');
    const text = await waitText('the notebook check', check, /ターミナル/);
    assert.equal(text.trim(), 'no sleep left\nターミナル 1', 'only terminal 1 is left');
    await shot('5-console-closed');
  });

  it('a restart ends the console\'s subshell with the lab: its next cell says so, the notebook goes on', async function () {
    await openSubshellConsole();
    const first = await runInConsole('echo "terminal $NSLAB_TERMINAL"');
    assert.match(await waitText('the new console', first, /terminal 2$/m), /this subshell is terminal 2/);
    await page.locator('.jp-Notebook .jp-Cell').first().click();
    await page.locator('.lm-MenuBar-item', { hasText: 'Kernel' }).click();
    await page.locator('.lm-Menu-item', { hasText: /^Restart Kernel…/ }).first().click();
    await page.locator('.jp-Dialog button', { hasText: 'Restart' }).click();
    await kernelIdle();
    await sleep(1000);
    const after = await runInConsole('echo after the restart');
    const text = await waitText('the console after the restart', after, /UnknownSubshell/);
    assert.match(text, /no subshell has this id \(it was deleted, or the kernel restarted since it was made\); nothing was run/);
    await shot('6-console-after-restart');
    const notebook = await runInNotebook('echo "notebook in terminal $NSLAB_TERMINAL, PID $$"');
    assert.match(await waitText('the notebook after the restart', notebook, /notebook in terminal/), /notebook in terminal 1, PID 2/);
  });
});
