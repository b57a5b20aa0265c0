/**
 * The Jupyter the user uses, for `nslab install --sys-prefix` (which, like
 * `jupyter kernelspec install --sys-prefix`, writes into that Jupyter's sys.prefix/share/jupyter)
 * and for `nslab doctor`.
 *
 * Found, in order: `--python PATH`; `$NSLAB_PYTHON`; in a checkout, its .venv (the pinned stack that
 * `npm run lab` uses, src/cli/python.ts; an installed package has none); the Python that runs the
 * `jupyter` first on PATH (read from its `#!` line, as pip writes console scripts).
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, openSync, readSync, closeSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { jupyterPython, PYTHON_ENV } from './python.js';

export interface JupyterChoice {
  /** The interpreter of that Jupyter. */
  python: string;
  /** How it was chosen, for messages: "--python", "$NSLAB_PYTHON", "`jupyter` on PATH: /x/bin/jupyter", … */
  source: string;
}

/** An executable named `name` on `path` (a PATH value), or null. */
export function onPath(name: string, path: string | undefined): string | null {
  for (const dir of (path ?? '').split(delimiter)) {
    if (!dir) continue;
    const file = join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      /* not here */
    }
  }
  return null;
}

/**
 * The interpreter a script's `#!` line names: `#!/x/bin/python3.11` → that file;
 * `#!/usr/bin/env python3` → python3 on `path`. Null for anything else (a binary, no `#!`).
 */
export function shebangInterpreter(firstLine: string, path: string | undefined): string | null {
  const m = /^#!\s*(\S+)(?:\s+(.*))?$/.exec(firstLine.trim());
  if (!m) return null;
  const [, program, rest] = m;
  if (/\/env$/.test(program)) {
    const name = (rest ?? '').split(/\s+/).find((w) => w && !w.startsWith('-'));
    return name ? onPath(name, path) : null;
  }
  return /python[\d.]*$/.test(program) ? program : null;
}

function firstLineOf(file: string): string {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(512);
    const n = readSync(fd, buf, 0, buf.length, 0);
    return buf.subarray(0, n).toString('utf8').split('\n')[0];
  } finally {
    closeSync(fd);
  }
}

/** The Python of the Jupyter in use, or null when none is found. */
export function findJupyter(explicitPython: string | undefined, env: NodeJS.ProcessEnv = process.env): JupyterChoice | null {
  if (explicitPython) return { python: explicitPython, source: '--python' };
  if (env[PYTHON_ENV]) return { python: env[PYTHON_ENV], source: `$${PYTHON_ENV}` };
  const checkout = jupyterPython({});
  if (checkout.includes('/') && existsSync(checkout)) return { python: checkout, source: "this checkout's .venv" };
  const jupyter = onPath('jupyter', env.PATH);
  if (jupyter) {
    const python = shebangInterpreter(firstLineOf(jupyter), env.PATH);
    if (python) return { python, source: `\`jupyter\` on PATH: ${jupyter}` };
  }
  return null;
}

export const NO_JUPYTER =
  'no Jupyter found: no `jupyter` on PATH and $NSLAB_PYTHON is not set. Name the Python of your Jupyter with ' +
  '--python PATH (for example --python ~/jupyter/bin/python), or install Jupyter: ' +
  '`python3 -m venv ~/jupyter && ~/jupyter/bin/pip install jupyterlab`';

/** sys.prefix of `python` (where `--sys-prefix` installs go: sys.prefix/share/jupyter/kernels). */
export function sysPrefixOf(python: string): string {
  const r = spawnSync(python, ['-c', 'import sys; print(sys.prefix)'], { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) throw new Error(`cannot run ${python} to ask for its sys.prefix: ${(r.stderr || r.error?.message || `exit status ${r.status}`).trim()}`);
  return r.stdout.trim();
}

export interface JupyterReport {
  python: string;
  pythonVersion: string;
  prefix: string;
  /** Package versions, absent where not installed: jupyter_core, jupyter_client, jupyterlab, notebook. */
  versions: Record<string, string>;
  /** Where that Jupyter finds each kernelspec (jupyter_client's KernelSpecManager), when it can. */
  kernelspecs: Record<string, string> | null;
  /** jupyter_client's data path, where it looks for kernelspecs. */
  path: string[];
}

const REPORT_SCRIPT = `
import json, sys
r = {"python": sys.executable, "pythonVersion": sys.version.split()[0], "prefix": sys.prefix, "versions": {}, "kernelspecs": None, "path": []}
for m in ("jupyter_core", "jupyter_client", "jupyterlab", "notebook"):
    try:
        r["versions"][m] = __import__(m).__version__
    except Exception:
        pass
try:
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_core.paths import jupyter_path
    r["kernelspecs"] = KernelSpecManager().find_kernel_specs()
    r["path"] = jupyter_path("kernels")
except Exception:
    pass
print(json.dumps(r))
`;

/** What that Python's Jupyter is and which kernelspecs it sees (it reads the same env as Jupyter). */
export function inspectJupyter(python: string, env: NodeJS.ProcessEnv = process.env): JupyterReport {
  const r = spawnSync(python, ['-c', REPORT_SCRIPT], { encoding: 'utf8', timeout: 60_000, env });
  if (r.status !== 0) throw new Error((r.stderr || r.error?.message || `exit status ${r.status}`).trim().split('\n').pop());
  return JSON.parse(r.stdout) as JupyterReport;
}
