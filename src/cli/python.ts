/**
 * Where the project's Jupyter stack lives: the one Python every command of nslab (handouts,
 * reruns, the tests, the benchmark) runs Jupyter's tools with.
 *
 * In order: `$NSLAB_PYTHON` (an interpreter that has the stack, for example a user's own venv);
 * the checkout's `.venv/bin/python` (made by scripts/setup-python.sh from the pinned
 * requirements.txt); else `python3` as found on PATH. Debian's own Jupyter packages are never
 * chosen on purpose: they are older (Notebook 6, nbconvert 6.5) than what nslab is tested with.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The checkout (this file runs as dist/src/cli/python.js). */
const CHECKOUT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** The environment variable that names the Python to use instead of the checkout's .venv. */
export const PYTHON_ENV = 'NSLAB_PYTHON';

/** The interpreter with the project's Jupyter stack. */
export function jupyterPython(env: NodeJS.ProcessEnv = process.env): string {
  const named = env[PYTHON_ENV];
  if (named) return named;
  const venv = join(CHECKOUT, '.venv', 'bin', 'python');
  return existsSync(venv) ? venv : 'python3';
}

/**
 * A console script installed beside that interpreter (`jupyter`, `jupyter-lab`, `papermill`,
 * `nbgrader`, `jupyterhub` …); its bare name (found on PATH) when the interpreter was found on PATH.
 */
export function jupyterScript(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const python = jupyterPython(env);
  return python.includes('/') ? join(dirname(python), name) : name;
}
