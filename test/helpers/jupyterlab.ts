/**
 * JupyterLab 4 (and Notebook 7) page helpers for the browser tests (issue 16): a Jupyter server
 * from the project's .venv with a temp kernelspec and private Jupyter dirs, and small functions
 * that do in a page what a learner does (open a notebook, Restart-and-Run-All, answer an input
 * box, interrupt, open the completer or the inspector) and read back what the learner sees.
 *
 * JupyterLab's own Galata helpers need @playwright/test and its browser download, which does not
 * work here; these helpers drive Debian's Chromium through playwright-core (test/helpers/browser.ts).
 * The lab server runs with `expose_app_in_browser`, so a test can read the notebook *model*
 * (window.jupyterapp) next to the DOM: JupyterLab renders only the cells in view (windowed
 * notebook), so what is drawn is checked by scrolling each cell into view (`scrollToCell`).
 *
 * Every server is named by its PID; `stop()` shuts its kernels down through the REST API, stops
 * it by PID and reports whatever of its process tree survived (then killed).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { jupyterScript } from '../../src/cli/python.js';
import { freePort, requireSystemPrograms, withTimeout } from './browser.js';
import { isAlive, killAll, processTree, readProc, waitGone, type Proc } from './processes.js';
import type { NbOutput } from '../../src/cli/normalize.js';

export const JUPYTER_LAB = jupyterScript('jupyter-lab');
export const JUPYTER_NOTEBOOK = jupyterScript('jupyter-notebook');
export const NSLAB_KERNEL = { name: 'nslab', display: 'Namespace Lab (bash)' };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// The server

export interface JupyterServer {
  /** http://127.0.0.1:PORT/ */
  baseUrl: string;
  token: string;
  pid: number;
  /** URL of a notebook (path relative to the root dir) in this server's UI, with the token. */
  notebookUrl(path: string): string;
  /** URL of the UI's start page (JupyterLab: the launcher), with the token. */
  homeUrl(): string;
  /** A REST call with the token; returns the parsed JSON (or null for 204). */
  api<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
  /** Everything the server printed so far. */
  log(): string;
  /** Shuts down every kernel through the API, stops the server by PID, waits for its whole tree. */
  stop(): Promise<ServerStopReport>;
}

export interface ServerStopReport {
  /** Kernels shut down through the API. */
  kernels: number;
  /** Processes of the server's tree (kernels, labs) still running 5 s after the API shut the kernels down. */
  survivedKernelShutdown: Proc[];
  /** Processes still running after the server stopped, which had to be killed. */
  leftovers: Proc[];
}

export interface JupyterServerOptions {
  /** `lab` (JupyterLab 4, the default) or `notebook` (Notebook 7). */
  ui?: 'lab' | 'notebook';
  rootDir: string;
  /** Environment with JUPYTER_PATH and private Jupyter dirs (installTempKernelspec). HOME is set to a temp dir too. */
  env: NodeJS.ProcessEnv;
  startTimeoutMs?: number;
}

/**
 * Starts the .venv's JupyterLab (or Notebook 7) on a free loopback port with a random token,
 * HOME and the JupyterLab settings/workspaces dirs inside the private JUPYTER_CONFIG_DIR, and the
 * app exposed to the page (window.jupyterapp).
 */
export async function startJupyterServer(opts: JupyterServerOptions): Promise<JupyterServer> {
  const ui = opts.ui ?? 'lab';
  const program = ui === 'lab' ? JUPYTER_LAB : JUPYTER_NOTEBOOK;
  requireSystemPrograms([program]);
  const token = randomBytes(24).toString('hex');
  const port = await freePort();
  const configDir = opts.env.JUPYTER_CONFIG_DIR!;
  const home = join(configDir, 'home');
  mkdirSync(home, { recursive: true });
  // A learner who answered "No" to "Would you like to get notified about official Jupyter news?"
  // (the question would cover the launcher, and its answer would be looked up on the internet).
  const settings = join(configDir, 'lab', 'user-settings');
  mkdirSync(join(settings, '@jupyterlab', 'apputils-extension'), { recursive: true });
  writeFileSync(join(settings, '@jupyterlab', 'apputils-extension', 'notification.jupyterlab-settings'), '{"fetchNews": "false"}\n');
  const env: NodeJS.ProcessEnv = {
    ...opts.env,
    HOME: home,
    JUPYTERLAB_SETTINGS_DIR: settings,
    JUPYTERLAB_WORKSPACES_DIR: join(configDir, 'lab', 'workspaces'),
  };
  const appClass = ui === 'lab' ? 'LabApp' : 'JupyterNotebookApp';
  const child: ChildProcess = spawn(program, [
    '--ServerApp.ip=127.0.0.1',
    `--ServerApp.port=${port}`,
    '--ServerApp.port_retries=0',
    `--IdentityProvider.token=${token}`,
    '--ServerApp.open_browser=False',
    '--allow-root',
    `--ServerApp.root_dir=${opts.rootDir}`,
    `--${appClass}.expose_app_in_browser=True`,
    // No look-ups of news or updates on the internet (the closed network refuses them).
    ...(ui === 'lab' ? ['--LabApp.news_url=', '--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate'] : []),
  ], { env, cwd: opts.rootDir, stdio: ['ignore', 'pipe', 'pipe'] });
  const pid = child.pid!;
  const self = readProc(pid);
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (output += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (output += d));
  let exited: number | null | undefined;
  const exit = new Promise<void>((r) => child.on('exit', (code) => { exited = code; r(); }));
  const baseUrl = `http://127.0.0.1:${port}/`;
  const seen = new Map<string, Proc>();
  const track = () => {
    for (const p of processTree(pid)) if (p.pid !== pid) seen.set(`${p.pid}:${p.start}`, p);
  };
  const tracker = setInterval(track, 250);

  const api = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(new URL(path.replace(/^\//, ''), baseUrl), {
      method,
      headers: { Authorization: `token ${token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status}: ${text.slice(0, 500)}`);
    return (text ? JSON.parse(text) : null) as T;
  };

  let stopped = false;
  const stop = async (): Promise<ServerStopReport> => {
    const report: ServerStopReport = { kernels: 0, survivedKernelShutdown: [], leftovers: [] };
    if (stopped) return report;
    stopped = true;
    track();
    if (exited === undefined) {
      try {
        for (const k of await api<{ id: string }[]>('GET', 'api/kernels')) {
          await api('DELETE', `api/kernels/${k.id}`);
          report.kernels++;
        }
        report.survivedKernelShutdown = await waitGone([...seen.values()], 5000);
      } catch (err) {
        output += `\n(shutting the kernels down through the API failed: ${(err as Error).message})\n`;
      }
      track();
      if (self && isAlive(self)) child.kill('SIGTERM');
      await withTimeout(exit, 10_000, 'jupyter server exit').catch(() => {
        if (self && isAlive(self)) child.kill('SIGKILL');
      });
    }
    clearInterval(tracker);
    const left = await waitGone([...seen.values()], 5000);
    killAll(left);
    await waitGone(left, 2000);
    report.leftovers = left;
    return report;
  };

  const timeout = opts.startTimeoutMs ?? 60_000;
  const deadline = Date.now() + timeout;
  for (;;) {
    if (exited !== undefined) {
      await stop();
      throw new Error(`${program} exited (${exited}) before it served:\n${output}`);
    }
    try {
      await api('GET', 'api/status');
      break;
    } catch {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`${program} did not answer on ${baseUrl} within ${timeout} ms:\n${output}`);
      }
      await sleep(200);
    }
  }
  const encode = (path: string) => path.split('/').map(encodeURIComponent).join('/');
  return {
    baseUrl,
    token,
    pid,
    // `reset`: a fresh workspace each time, so a page does not reopen (and start kernels for) the notebooks of earlier pages.
    notebookUrl: (path) => `${baseUrl}${ui === 'lab' ? 'lab/tree' : 'notebooks'}/${encode(path)}?${ui === 'lab' ? 'reset&' : ''}token=${token}`,
    homeUrl: () => `${baseUrl}${ui === 'lab' ? 'lab' : 'tree'}?token=${token}`,
    api,
    log: () => output,
    stop,
  };
}

/** A notebook of code cells (for the contents API: `server.api('PUT', 'api/contents/x.ipynb', scratchNotebook(...))`). */
export function scratchNotebook(sources: string[], kernel = { ...NSLAB_KERNEL, language: 'bash' }) {
  return {
    type: 'notebook',
    format: 'json',
    content: {
      nbformat: 4, nbformat_minor: 5,
      metadata: { kernelspec: { name: kernel.name, display_name: kernel.display, language: kernel.language } },
      cells: sources.map((source, i) => ({ cell_type: 'code', id: `c${i + 1}`, metadata: {}, execution_count: null, outputs: [], source })),
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Notebook model (window.jupyterapp)

/** An output as nbformat stores it: the same shape the reruns compare. */
export type ModelOutput = NbOutput;
export interface ModelCell {
  cell_type: string;
  source: string | string[];
  metadata: { tags?: string[] };
  execution_count?: number | null;
  outputs?: ModelOutput[];
}

/** Text of a cell's stream outputs, and of its error (ename: evalue), as nbformat has them. */
export function outputText(cell: ModelCell): { text: string; error: string } {
  let text = '';
  let error = '';
  for (const o of cell.outputs ?? []) {
    if (o.output_type === 'stream') text += Array.isArray(o.text) ? o.text.join('') : (o.text ?? '');
    if (o.output_type === 'error') error += `${o.ename}: ${o.evalue}\n`;
  }
  return { text, error };
}

/** A cell's source as one string (nbformat allows a list of lines). */
export const joinedSource = (s: string | string[]): string => (Array.isArray(s) ? s.join('') : s);

/** The current notebook's cells as JSON from the model in the page (every cell, drawn or not). */
export function modelCells(page: Page): Promise<ModelCell[]> {
  return page.evaluate(() => {
    const panel = (window as any).jupyterapp.shell.currentWidget;
    return panel.content.model.toJSON().cells;
  });
}

/** The kernel status the toolbar shows (`idle`, `busy`, `starting`, `restarting`, …), from the session context. */
export function kernelStatus(page: Page): Promise<string> {
  return page.evaluate(() => {
    const panel = (window as any).jupyterapp.shell.currentWidget;
    return panel?.sessionContext?.kernelDisplayStatus ?? 'none';
  });
}

/** The current notebook's kernel id (null when it has none). */
export function kernelId(page: Page): Promise<string | null> {
  return page.evaluate(() => (window as any).jupyterapp.shell.currentWidget?.sessionContext?.session?.kernel?.id ?? null);
}

/**
 * Waits until the current notebook's kernel is ready and idle, as the toolbar's execution
 * indicator shows it. Restart-and-Run-All must wait for this (notes/jupyter.md: the upstream
 * race that leaves every cell at [*] when the kernel websocket is still being replaced).
 */
export async function waitKernelIdle(page: Page, timeoutMs = 60_000): Promise<void> {
  await page.waitForFunction(() => {
    const panel = (window as any).jupyterapp?.shell?.currentWidget;
    const ctx = panel?.sessionContext;
    return !!ctx?.isReady && ctx.session?.kernel?.connectionStatus === 'connected' && ctx.kernelDisplayStatus === 'idle';
  }, null, { timeout: timeoutMs, polling: 100 });
}

/** Opens a notebook (lab/tree URL) in JupyterLab and waits until its kernel is connected and idle. */
export async function openNotebook(page: Page, server: JupyterServer, path: string, kernel = NSLAB_KERNEL): Promise<void> {
  await page.goto(server.notebookUrl(path), { waitUntil: 'domcontentloaded' });
  await page.waitForFunction((p) => {
    const w = (window as any).jupyterapp?.shell?.currentWidget;
    return w?.context?.path === p && w.content?.model;
  }, path, { timeout: 60_000, polling: 100 });
  await waitKernelIdle(page);
  assert.equal(await page.evaluate(() => (window as any).jupyterapp.shell.currentWidget.sessionContext.session.kernel.name), kernel.name, 'kernel name');
  // The toolbar names the kernel.
  await page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-KernelName').filter({ hasText: kernel.display }).waitFor();
}

/** Clicks a top menu (`Kernel`, `Run`, …) and then the item whose label starts with `item`. */
export async function menu(page: Page, top: string, item: string | RegExp): Promise<void> {
  await page.locator('.lm-MenuBar-itemLabel', { hasText: new RegExp(`^${top}$`) }).click();
  const label = typeof item === 'string' ? new RegExp(`^${item.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`) : item;
  await page.locator('.lm-Menu:not(.lm-MenuBar) .lm-Menu-item:visible .lm-Menu-itemLabel', { hasText: label }).first().click();
}

/** Clicks a dialog's accept button (Restart, Shut Down, …) and waits until the dialog is gone. */
export async function acceptDialog(page: Page): Promise<void> {
  const button = page.locator('.jp-Dialog .jp-Dialog-button.jp-mod-accept');
  await button.click();
  await page.locator('.jp-Dialog').waitFor({ state: 'detached' });
}

/** True when every code cell ran (has a number) and none is still queued or running. */
function allCellsRan(page: Page): Promise<boolean> {
  return page.evaluate(() => {
    const panel = (window as any).jupyterapp.shell.currentWidget;
    const cells = panel.content.model.cells;
    for (let i = 0; i < cells.length; i++) {
      const c = cells.get(i);
      if (c.type === 'code' && (c.executionState === 'running' || typeof c.executionCount !== 'number')) return false;
    }
    return panel.sessionContext.kernelDisplayStatus === 'idle';
  });
}

/**
 * Kernel → Restart Kernel and Run All Cells…, confirmed, the way a learner does it; waits until
 * every code cell has its number and the kernel is idle again. Returns the milliseconds from the
 * click on Restart to that moment. Waits for an idle kernel first (the upstream race).
 */
export async function restartAndRunAll(page: Page, timeoutMs = 180_000): Promise<number> {
  await waitKernelIdle(page);
  await menu(page, 'Kernel', 'Restart Kernel and Run All Cells');
  const started = Date.now();
  await acceptDialog(page);
  const deadline = started + timeoutMs;
  while (!(await allCellsRan(page))) {
    if (Date.now() > deadline) throw new Error(`Restart-and-Run-All did not finish in ${timeoutMs / 1000} s`);
    await sleep(100);
  }
  return Date.now() - started;
}

/** Kernel → Restart Kernel…, confirmed (also while a cell runs); waits until the new kernel is idle. */
export async function restartKernel(page: Page): Promise<void> {
  const before = await kernelId(page);
  await menu(page, 'Kernel', 'Restart Kernel…');
  await acceptDialog(page);
  // The same kernel id restarts in place: wait for it to go through restarting and back to idle.
  await page.waitForFunction(() => (window as any).jupyterapp.shell.currentWidget.sessionContext.kernelDisplayStatus !== 'idle', null,
    { timeout: 10_000, polling: 20 }).catch(() => undefined);
  await waitKernelIdle(page);
  assert.ok(await kernelId(page), `no kernel after the restart (before: ${before})`);
}

/** Selects cell `index` (0-based) and scrolls it into view (windowed notebook: only visible cells are drawn). */
export async function scrollToCell(page: Page, index: number): Promise<Locator> {
  await page.evaluate(async (i) => {
    const nb = (window as any).jupyterapp.shell.currentWidget.content;
    nb.activeCellIndex = i;
    await nb.scrollToItem(i, 'start');
  }, index);
  // The drawn cell for model index i: JupyterLab sets data-windowed-list-index on each rendered cell.
  const drawn = page.locator(`.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell[data-windowed-list-index="${index}"]`);
  await drawn.waitFor({ state: 'visible' });
  return drawn;
}

/** Runs cell `index` alone (select it, Shift+Enter) without waiting for it. */
export async function runCell(page: Page, index: number): Promise<void> {
  const cell = await scrollToCell(page, index);
  await cell.locator('.jp-InputArea-editor').click();
  await page.keyboard.press('Shift+Enter');
}

/** Waits until cell `index` has its execution number and the kernel is idle; returns the cell's model JSON. */
export async function waitCellRan(page: Page, index: number, timeoutMs = 30_000): Promise<ModelCell> {
  await page.waitForFunction((i) => {
    const panel = (window as any).jupyterapp.shell.currentWidget;
    const c = panel.content.model.cells.get(i);
    return typeof c.executionCount === 'number' && c.executionState !== 'running' && panel.sessionContext.kernelDisplayStatus === 'idle';
  }, index, { timeout: timeoutMs, polling: 100 });
  return (await modelCells(page))[index];
}

/** Replaces a cell's source through the model (what typing would give, without the editor's auto-closing of quotes). */
export async function setCellSource(page: Page, index: number, source: string): Promise<void> {
  await page.evaluate(([i, s]) => {
    (window as any).jupyterapp.shell.currentWidget.content.model.cells.get(i).sharedModel.setSource(s);
  }, [index, source] as const);
}

// ---------------------------------------------------------------------------------------------
// stdin, interrupt, completer, inspector

/** The input box a `read` raised in cell `index` (in its output area). */
export function inputBox(page: Page, index: number): Locator {
  return page.locator(`.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell[data-windowed-list-index="${index}"] .jp-Stdin input.jp-Stdin-input`);
}

/**
 * Waits for the input box of cell `index`, returns its prompt text and type (`text` or
 * `password`), types `answer` and Enter, and waits until the box has become the answered line.
 */
export async function answerInput(page: Page, index: number, answer: string): Promise<{ prompt: string; type: string | null }> {
  const box = inputBox(page, index);
  await box.waitFor({ state: 'visible', timeout: 30_000 });
  const stdin = page.locator(`.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell[data-windowed-list-index="${index}"] .jp-Stdin`);
  const prompt = await stdin.locator('.jp-Stdin-prompt').innerText();
  const type = await box.getAttribute('type');
  await box.click();
  await page.keyboard.type(answer);
  await page.keyboard.press('Enter');
  await stdin.waitFor({ state: 'detached', timeout: 30_000 });
  return { prompt, type };
}

/** Interrupts the kernel from the notebook toolbar's ■ button or from Kernel → Interrupt Kernel. */
export async function interrupt(page: Page, from: 'toolbar' | 'menu'): Promise<void> {
  if (from === 'toolbar') {
    await page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-NotebookPanel-toolbar [data-command="notebook:interrupt-kernel"]').click();
  } else {
    await menu(page, 'Kernel', 'Interrupt Kernel');
  }
}

/** Puts the cursor at the end of cell `index`'s text and presses Tab; returns the completer popup's items once shown. */
export async function openCompleter(page: Page, index: number): Promise<string[]> {
  const cell = await scrollToCell(page, index);
  await cell.locator('.jp-InputArea-editor .cm-content').click();
  await page.keyboard.press('Control+End');
  await page.keyboard.press('Tab');
  const completer = page.locator('.jp-Completer');
  await completer.waitFor({ state: 'visible', timeout: 15_000 });
  return completer.locator('.jp-Completer-item .jp-Completer-match').allInnerTexts();
}

/** Puts the cursor at the end of cell `index`'s text and presses Shift+Tab; returns the tooltip's text once shown. */
export async function openInspector(page: Page, index: number): Promise<string> {
  const cell = await scrollToCell(page, index);
  await cell.locator('.jp-InputArea-editor .cm-content').click();
  await page.keyboard.press('Control+End');
  await page.keyboard.press('Shift+Tab');
  const tooltip = page.locator('.jp-Tooltip');
  await tooltip.waitFor({ state: 'visible', timeout: 15_000 });
  return tooltip.innerText();
}

// ---------------------------------------------------------------------------------------------
// Saved notebooks

/** Saves the current notebook (File → Save, Ctrl+S) and waits until the document is clean. */
export async function saveNotebook(page: Page): Promise<void> {
  await page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook').click({ position: { x: 5, y: 5 } }).catch(() => undefined);
  await page.keyboard.press('Control+s');
  await page.waitForFunction(() => !(window as any).jupyterapp.shell.currentWidget.context.model.dirty, null, { timeout: 30_000, polling: 100 });
}

/** A saved notebook's cells read back through the contents API (outputs as the file has them). */
export async function savedCells(server: JupyterServer, path: string): Promise<ModelCell[]> {
  const nb = await server.api<{ content: { cells: ModelCell[] } }>('GET', `api/contents/${path.split('/').map(encodeURIComponent).join('/')}?content=1`);
  return nb.content.cells;
}
