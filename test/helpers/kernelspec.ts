/**
 * End-to-end tests talk to nslab through real Jupyter clients, which find kernels by kernelspec.
 * `installKernelspec()` installs `nslab` into a throwaway prefix with nslab's own command
 * (`node dist/src/cli/main.js install --prefix DIR`), and `jupyterEnv()` points Jupyter at it
 * (JUPYTER_PATH) with its own data, runtime and config directories, so nothing of the user's
 * Jupyter setup is read or written. `runPython()` runs the project's Python (its .venv with the
 * pinned Jupyter stack, src/cli/python.ts) with a timeout, and makes sure
 * no kernel it launched outlives it.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jupyterPython } from '../../src/cli/python.js';
import { descendants, formatProcs, isAlive, killAll, processesWithEnv, waitGone, type Proc } from './processes.js';

/** The repository root (this file runs as dist/test/helpers/kernelspec.js). */
export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/** The project's Jupyter stack (src/cli/python.ts: the checkout's .venv from requirements.txt). */
export const PYTHON = jupyterPython();

export interface InstalledKernelspec {
  /** The temporary prefix; everything below is removed by cleanup(). */
  prefix: string;
  /** PREFIX/share/jupyter: what JUPYTER_PATH must name. */
  jupyterPath: string;
  /** PREFIX/share/jupyter/kernels/nslab */
  kernelDir: string;
  /** Environment for Jupyter processes: JUPYTER_PATH plus private data/runtime/config dirs. */
  env: NodeJS.ProcessEnv;
  cleanup(): void;
}

export function installKernelspec(): InstalledKernelspec {
  const prefix = mkdtempSync(join(tmpdir(), 'nslab-e2e-'));
  const cleanup = () => rmSync(prefix, { recursive: true, force: true });
  const r = spawnSync(process.execPath, [join(REPO, 'dist', 'src', 'cli', 'main.js'), 'install', '--prefix', prefix], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (r.status !== 0) {
    cleanup();
    throw new Error(`nslab install --prefix failed (${r.error?.message ?? `exit status ${r.status}`}):\n${r.stdout}${r.stderr}`);
  }
  const jupyterPath = join(prefix, 'share', 'jupyter');
  return { prefix, jupyterPath, kernelDir: join(jupyterPath, 'kernels', 'nslab'), env: jupyterTestEnv(jupyterPath, prefix), cleanup };
}

/**
 * The environment for a test's Jupyter processes: this one's, with JUPYTER_PATH naming
 * `jupyterPath` (where the test installed nslab's kernelspec) and private data, runtime, config and
 * IPython folders under `dir` (made here), so nothing of the user's is read or written. The one
 * place every test builds it.
 */
export function jupyterTestEnv(jupyterPath: string, dir: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...extra,
    JUPYTER_PATH: jupyterPath,
    JUPYTER_DATA_DIR: join(dir, 'jupyter-data'),
    JUPYTER_RUNTIME_DIR: join(dir, 'jupyter-runtime'),
    JUPYTER_CONFIG_DIR: join(dir, 'jupyter-config'),
    IPYTHONDIR: join(dir, 'ipython'),
    // No __pycache__ next to the test scripts, and output as it happens.
    PYTHONDONTWRITEBYTECODE: '1',
    PYTHONUNBUFFERED: '1',
    PYDEVD_DISABLE_FILE_VALIDATION: '1',
  };
  for (const k of ['JUPYTER_DATA_DIR', 'JUPYTER_RUNTIME_DIR', 'JUPYTER_CONFIG_DIR', 'IPYTHONDIR']) mkdirSync(env[k]!, { recursive: true });
  return env;
}

export interface PythonRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  ms: number;
  /** Processes the script launched that were still running after it ended (now killed). */
  leftovers: Proc[];
}

export interface PythonOptions {
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
  cwd?: string;
}

/**
 * Runs `/usr/bin/python3 ARGS…`. At the timeout it is killed with everything it started. Kernels
 * it launched (JPY_PARENT_PID = its PID) that outlive it are killed and returned as `leftovers`,
 * so a test can fail on them without leaving them behind.
 */
export function runPython(args: string[], opts: PythonOptions): Promise<PythonRun> {
  const started = Date.now();
  const child = spawn(PYTHON, args, { env: opts.env, cwd: opts.cwd ?? REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  const pid = child.pid!;
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    const tree = [...descendants(pid), ...processesWithEnv('JPY_PARENT_PID', String(pid))];
    child.kill('SIGKILL');
    killAll(tree);
  }, opts.timeoutMs);
  return new Promise((resolvePromise, reject) => {
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('exit', async (code, signal) => {
      clearTimeout(timer);
      const leftovers = await reapLaunched(pid, 3000);
      // A leftover kernel holds the pipes open: they close once it is gone.
      await Promise.race([new Promise((r) => child.once('close', r)), new Promise((r) => setTimeout(r, 2000))]);
      child.stdout.destroy();
      child.stderr.destroy();
      resolvePromise({ code, signal, stdout, stderr, timedOut, ms: Date.now() - started, leftovers });
    });
  });
}

/**
 * Kernels (and their children) launched by the process `launcherPid`, which has exited: waits up
 * to `graceMs` for them to end on their own, then kills the rest. Returns those that had to be killed.
 */
export async function reapLaunched(launcherPid: number, graceMs: number): Promise<Proc[]> {
  const kernels = processesWithEnv('JPY_PARENT_PID', String(launcherPid));
  // Their children too (nslab's lab does not pass JPY_PARENT_PID on to the learner's shell).
  const launched = [...kernels, ...kernels.flatMap((k) => descendants(k.pid))]
    .filter((p, i, all) => all.findIndex((q) => q.pid === p.pid) === i)
    .filter(isAlive);
  if (!launched.length) return [];
  const alive = await waitGone(launched, graceMs);
  killAll(alive);
  await waitGone(alive, 2000);
  return alive;
}

export function leftoverMessage(leftovers: Proc[]): string {
  return `processes left running (now killed):\n${formatProcs(leftovers)}`;
}
