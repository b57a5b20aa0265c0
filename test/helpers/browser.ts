/**
 * Helpers for the browser tests (issue 5): Debian's Chromium driven by playwright-core, a
 * throwaway nslab kernelspec, and the bookkeeping that makes sure a test leaves nothing running (browser, server, kernels, labs) and no temp dir behind.
 *
 * - `launchBrowser()` starts /usr/bin/chromium headless with a fresh user-data-dir and the flags
 *   this machine needs (no sandbox as root; no background networking, which the closed network
 *   refuses). Requests that leave the machine are aborted, so a page behaves the same offline.
 *   `close()` ends the browser and checks that none of its processes survived.
 * - `installTempKernelspec()` runs nslab's own `install --prefix` into a temp folder.
 * - Jupyter servers (JupyterLab 4, Notebook 7) and their pages: test/helpers/jupyterlab.ts.
 * - `screenshotStats()` decodes a PNG in the browser (canvas) to tell a blank shot from a real one.
 *
 * Processes are named by PID and start time (from /proc), so a reused PID is never taken for ours,
 * and only processes this module started, or their descendants, are ever signalled.
 */
import { killAll, listProcesses, processTree, waitGone, type Proc } from './processes.js';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { jupyterPython, jupyterScript } from '../../src/cli/python.js';
import { jupyterTestEnv } from './kernelspec.js';

/** The repository root (this file runs as dist/test/helpers/browser.js). */
export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const CHROMIUM = '/usr/bin/chromium';
/** The project's Jupyter stack (src/cli/python.ts). */
export const SYSTEM_PYTHON = jupyterPython();
export const SYSTEM_JUPYTER = jupyterScript('jupyter');
/** Flags for Chromium as root on a machine with a closed network (see the machine notes). */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Debian packages the browser tests need, for messages. */
export const NEEDED_PACKAGES = 'chromium fonts-noto-cjk (and the project .venv: bash scripts/setup-python.sh)';

// ---------------------------------------------------------------------------------------------
// Processes (read from /proc): shared with the other end-to-end helpers.
export { processTree, waitGone, formatProcs, type Proc } from './processes.js';

/** Rejects with `what` when `promise` takes longer than `ms`. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: no result after ${Math.round(ms / 1000)} s`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------------
// Files

/** A new temp folder (removed by the caller with `removeDir`). */
export function makeTempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function removeDir(dir: string | undefined): void {
  if (dir) rmSync(dir, { recursive: true, force: true });
}

/** REPO/artifacts/NAME (gitignored), created if needed: where screenshots of a run go. */
export function artifactsDir(name: string): string {
  const dir = join(REPO, 'artifacts', name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Fails early, with the packages to install, when a system program the tests need is missing. */
export function requireSystemPrograms(paths: string[]): void {
  const missing = paths.filter((p) => !existsSync(p));
  if (missing.length) throw new Error(`missing ${missing.join(', ')}: apt-get install -y ${NEEDED_PACKAGES}`);
}

// ---------------------------------------------------------------------------------------------
// Chromium

export interface BrowserSession {
  context: BrowserContext;
  userDataDir: string;
  /** A new page (tab) with default timeouts set. */
  newPage(): Promise<Page>;
  /**
   * Closes the browser, waits for all its processes to end, removes the user-data-dir.
   * Returns the processes that had to be killed (none when all is well).
   */
  close(): Promise<Proc[]>;
}

/** Chromium's processes: those whose command line names our user-data-dir. */
function chromiumProcesses(userDataDir: string): Proc[] {
  return listProcesses().filter((p) => p.cmd.includes(`--user-data-dir=${userDataDir}`));
}

/** Hosts a page may reach: this machine only. */
function isLocal(url: string): boolean {
  if (url.startsWith('file:') || url.startsWith('data:') || url.startsWith('blob:') || url.startsWith('about:')) return true;
  try {
    const host = new URL(url).hostname;
    return host === '127.0.0.1' || host === 'localhost' || host === '[::1]';
  } catch {
    return false;
  }
}

export interface LaunchOptions {
  viewport?: { width: number; height: number };
  /** Default timeout of page actions and waits (ms). */
  actionTimeoutMs?: number;
}

export async function launchBrowser(opts: LaunchOptions = {}): Promise<BrowserSession> {
  requireSystemPrograms([CHROMIUM]);
  const userDataDir = makeTempDir('nslab-chromium-');
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: opts.viewport ?? { width: 1280, height: 900 },
      deviceScaleFactor: 1,
      timeout: 60_000,
    });
  } catch (err) {
    killAll(chromiumProcesses(userDataDir));
    removeDir(userDataDir);
    throw err;
  }
  // Nothing leaves the machine: a page that tries (a CDN, fonts) is refused at once, not after a network timeout.
  await context.route((url) => !isLocal(url.href), (route) => route.abort('blockedbyclient'));
  const started = chromiumProcesses(userDataDir);
  const actionTimeout = opts.actionTimeoutMs ?? 30_000;
  let closed = false;
  return {
    context,
    userDataDir,
    async newPage() {
      const page = await context.newPage();
      page.setDefaultTimeout(actionTimeout);
      page.setDefaultNavigationTimeout(actionTimeout);
      return page;
    },
    async close() {
      if (closed) return [];
      closed = true;
      await withTimeout(context.close(), 20_000, 'closing Chromium').catch(() => undefined);
      // All Chromium processes of this profile, whether seen at the start or started later.
      const ours = [...started, ...chromiumProcesses(userDataDir)];
      const left = await waitGone(ours, 5000);
      killAll(left);
      await waitGone(left, 2000);
      removeDir(userDataDir);
      return left;
    },
  };
}

export interface ScreenshotStats {
  width: number;
  height: number;
  /** Distinct colours among sampled pixels. */
  colours: number;
  /** Fraction of pixels that differ from the most common colour (the background). */
  ink: number;
}

/** Decodes a PNG in a scratch page (canvas) and measures it: a blank shot has ~1 colour and no ink. */
export async function screenshotStats(session: BrowserSession, png: Buffer): Promise<ScreenshotStats> {
  const page = await session.newPage();
  try {
    return await page.evaluate(async (b64) => {
      const img = new Image();
      img.src = 'data:image/png;base64,' + b64;
      await img.decode();
      const canvas = document.createElement('canvas');
      canvas.width = img.naturalWidth;
      canvas.height = img.naturalHeight;
      const g = canvas.getContext('2d')!;
      g.drawImage(img, 0, 0);
      const data = g.getImageData(0, 0, canvas.width, canvas.height).data;
      const counts = new Map<number, number>();
      for (let i = 0; i < data.length; i += 4) {
        const key = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      const total = data.length / 4;
      const background = Math.max(...counts.values());
      return { width: canvas.width, height: canvas.height, colours: counts.size, ink: (total - background) / total };
    }, png.toString('base64'));
  } finally {
    await page.close();
  }
}

/**
 * The fonts Chromium really used to draw the text of the first element matching `selector`
 * (DevTools' CSS.getPlatformFontsForNode): family name and how many glyphs it drew.
 */
export async function platformFonts(page: Page, selector: string): Promise<{ familyName: string; glyphCount: number }[]> {
  const cdp = await page.context().newCDPSession(page);
  try {
    await cdp.send('DOM.enable');
    await cdp.send('CSS.enable');
    const { root } = await cdp.send('DOM.getDocument', { depth: 0 });
    const { nodeId } = await cdp.send('DOM.querySelector', { nodeId: root.nodeId, selector });
    if (!nodeId) throw new Error(`no element matches ${selector}`);
    const { fonts } = await cdp.send('CSS.getPlatformFontsForNode', { nodeId });
    return fonts.map((f) => ({ familyName: f.familyName, glyphCount: f.glyphCount }));
  } finally {
    await cdp.detach().catch(() => undefined);
  }
}

// ---------------------------------------------------------------------------------------------
// Kernelspec and Jupyter

export interface TempKernelspec {
  /** PREFIX/share/jupyter: what JUPYTER_PATH must name. */
  jupyterPath: string;
  /** Environment for Jupyter processes: JUPYTER_PATH plus private data/runtime/config/IPython dirs under `dir`. */
  env: NodeJS.ProcessEnv;
}

/** Installs this checkout's nslab kernelspec under `dir` with nslab's own installer (needs `npm run build`). */
export function installTempKernelspec(dir: string): TempKernelspec {
  const prefix = join(dir, 'prefix');
  const r = spawnSync(process.execPath, [join(REPO, 'dist', 'src', 'cli', 'main.js'), 'install', '--prefix', prefix], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (r.status !== 0) throw new Error(`nslab install --prefix failed (${r.error?.message ?? `exit status ${r.status}`}):\n${r.stdout}${r.stderr}`);
  const jupyterPath = join(prefix, 'share', 'jupyter');
  return { jupyterPath, env: jupyterTestEnv(jupyterPath, dir) };
}

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
  /** Processes of its tree still running when it ended (now killed). */
  leftovers: Proc[];
}

/**
 * Runs a command to its end (killed with its whole tree at the timeout). Its descendants are
 * tracked while it runs; any still running after it ended are killed and returned as leftovers.
 */
export function runCommand(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs: number }): Promise<CommandResult> {
  const started = Date.now();
  const child = spawn(cmd, args, { env: opts.env ?? process.env, cwd: opts.cwd ?? REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  const pid = child.pid;
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const seen = new Map<string, Proc>();
  const track = () => {
    if (pid) for (const p of processTree(pid)) if (p.pid !== pid) seen.set(`${p.pid}:${p.start}`, p);
  };
  const tracker = setInterval(track, 100);
  const timer = setTimeout(() => {
    track();
    stderr += `\n(killed after ${Math.round(opts.timeoutMs / 1000)} s)\n`;
    child.kill('SIGKILL');
    killAll([...seen.values()]);
  }, opts.timeoutMs);
  return new Promise((resolvePromise, reject) => {
    child.on('error', (err) => {
      clearInterval(tracker);
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', async (code) => {
      clearInterval(tracker);
      clearTimeout(timer);
      const left = await waitGone([...seen.values()], 3000);
      killAll(left);
      resolvePromise({ code, stdout, stderr, ms: Date.now() - started, leftovers: left });
    });
  });
}

/** A free TCP port on loopback (the kernel picks it; a tiny race until the server binds it). */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolvePort(addr.port) : reject(new Error('no port'))));
    });
  });
}
