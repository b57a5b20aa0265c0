/**
 * Install / remove the `nslab` kernelspec, in the places and with the flags of
 * `jupyter kernelspec install`: --user (the user's data dir), --prefix P (P/share/jupyter),
 * --sys-prefix (sys.prefix/share/jupyter of the user's Jupyter, found by src/cli/jupyter.ts), or
 * system-wide (/usr/local/share/jupyter).
 *
 * The kernel.json at the top of the package is the template. argv is made absolute so the kernel
 * starts from any directory: this Node binary (the one node-pty was compiled for) and this
 * package's main.js. Installed with `npm install -g`, the package is
 * PREFIX/lib/node_modules/nslab, a folder npm replaces in place on upgrade, so the kernelspec
 * keeps working across upgrades without a new `nslab install`. npx's cache is no such place
 * (npm clears it): installing from there warns.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository (or installed package) root: dist/src/cli/ is three levels down. */
export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** This package's version (package.json). */
export const PACKAGE_VERSION = (JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** The entry point a kernelspec's argv names. */
export const KERNEL_MAIN = join(PROJECT_ROOT, 'dist', 'src', 'cli', 'main.js');

export interface InstallTarget {
  user?: boolean;
  prefix?: string;
  /** sys.prefix of the user's Jupyter (src/cli/jupyter.ts finds it). */
  sysPrefix?: string;
}

/** Where kernelspecs go for a target (the `kernels/` folder). */
export function kernelsDir(t: InstallTarget): string {
  if (t.prefix) return join(resolve(t.prefix), 'share', 'jupyter', 'kernels');
  if (t.sysPrefix) return join(resolve(t.sysPrefix), 'share', 'jupyter', 'kernels');
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

/**
 * Why a kernelspec pointing at `root` may stop working, or null: npx runs packages from its
 * cache (~/.npm/_npx/HASH/node_modules), which npm clears and replaces.
 */
export function unstableLocation(root: string): string | null {
  if (/[\\/]_npx[\\/]/.test(root)) {
    return `nslab runs from npx's cache (${root}), which npm clears: the kernelspec would then point at a removed folder. ` +
      'Install the package for good (`npm install -g` it) and run `nslab install` from there.';
  }
  return null;
}

/** The kernelspec's argv: the template's, with `node` and the entry point made absolute. */
export function kernelArgv(template: string[], nodePath: string, main: string): string[] {
  // Node flags stay (a young generation of 1 MB keeps the kernel's peak memory below the peer
  // bash kernel's, for ~10% of throughput: README "Benchmarks").
  return template.map((a) => (a === 'node' ? nodePath : a.endsWith('main.js') ? main : a));
}

/** The parts of the repository's kernel.json template that are rewritten (the rest is copied). */
interface KernelJson {
  argv: string[];
  env?: Record<string, string>;
  metadata?: Record<string, unknown>;
  [field: string]: unknown;
}

/** Write the kernelspec; returns its folder. */
export function installKernelspec(t: InstallTarget, variant: Variant = VARIANTS.nslab): string {
  const template = JSON.parse(readFileSync(join(PROJECT_ROOT, 'kernel.json'), 'utf8')) as KernelJson;
  if (!existsSync(KERNEL_MAIN)) throw new Error(`${KERNEL_MAIN} is missing: run \`npm run build\` first`);
  const spec = {
    ...template,
    argv: kernelArgv(template.argv, process.execPath, KERNEL_MAIN),
    display_name: variant.displayName,
    env: { ...template.env, ...variant.env },
    // Which nslab wrote it: `nslab doctor` compares it with the one installed now.
    metadata: { ...template.metadata, nslab: { version: PACKAGE_VERSION } },
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
