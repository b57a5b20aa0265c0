/**
 * Install / remove the `nslab` kernelspec, in the places and with the flags of
 * `jupyter kernelspec install`: --user (the user's data dir), --prefix P (P/share/jupyter),
 * --sys-prefix (Debian's Jupyter lives in /usr), or system-wide (/usr/local/share/jupyter).
 * The kernel.json at the top of the repository is the template; argv is made absolute so the
 * kernel starts from any directory, with this Node binary.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository (or installed package) root: dist/src/cli/ is three levels down. */
export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export interface InstallTarget {
  user?: boolean;
  prefix?: string;
  sysPrefix?: boolean;
}

/** Where kernelspecs go for a target (the `kernels/` folder). */
export function kernelsDir(t: InstallTarget): string {
  if (t.prefix) return join(resolve(t.prefix), 'share', 'jupyter', 'kernels');
  if (t.sysPrefix) return '/usr/share/jupyter/kernels';
  if (t.user) {
    const data = process.env.JUPYTER_DATA_DIR || join(process.env.XDG_DATA_HOME || join(homedir(), '.local', 'share'), 'jupyter');
    return join(data, 'kernels');
  }
  return '/usr/local/share/jupyter/kernels';
}

interface Variant {
  name: string;
  displayName: string;
  env: Record<string, string>;
}
export const VARIANTS: Record<string, Variant> = {
  nslab: { name: 'nslab', displayName: 'Namespace Lab (bash)', env: {} },
  'nslab-host': { name: 'nslab-host', displayName: 'Namespace Lab (bash, no sandbox)', env: { NSLAB_LAB: 'host' } },
};

/** Write the kernelspec; returns its folder. */
export function installKernelspec(t: InstallTarget, variant: Variant = VARIANTS.nslab): string {
  const template = JSON.parse(readFileSync(join(PROJECT_ROOT, 'kernel.json'), 'utf8'));
  const main = join(PROJECT_ROOT, 'dist', 'src', 'cli', 'main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` first`);
  // The template's argv, with `node` and the entry point made absolute; Node flags stay (a
  // young generation of 1 MB keeps the kernel's peak memory below the peer bash kernel's,
  // for ~10% of throughput: README "Benchmarks").
  const argv = (template.argv as string[]).map((a) => (a === 'node' ? process.execPath : a.endsWith('main.js') ? main : a));
  const spec = {
    ...template,
    argv,
    display_name: variant.displayName,
    env: { ...template.env, ...variant.env },
  };
  const dir = join(kernelsDir(t), variant.name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'kernel.json'), JSON.stringify(spec, null, 2) + '\n');
  const resources = join(PROJECT_ROOT, 'kernel');
  for (const f of readdirSync(resources)) copyFileSync(join(resources, f), join(dir, f));
  return dir;
}

/** Remove the kernelspecs nslab installed at a target; returns the folders removed. */
export function uninstallKernelspec(t: InstallTarget): string[] {
  const removed: string[] = [];
  for (const v of Object.values(VARIANTS)) {
    const dir = join(kernelsDir(t), v.name);
    if (existsSync(join(dir, 'kernel.json'))) {
      rmSync(dir, { recursive: true, force: true });
      removed.push(dir);
    }
  }
  return removed;
}
