/**
 * `nslab notebooks DIR`: copies the tutorial notebooks that ship with the package into a folder
 * of the user's choice, where Jupyter can open, run and save them (the package's own folder is
 * replaced on every upgrade, and may not be writable).
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PROJECT_ROOT } from './install.js';

export const PACKAGE_NOTEBOOKS = join(PROJECT_ROOT, 'notebooks');

/** The tutorial notebooks, in order (00-index first). */
export function tutorialNotebooks(from: string = PACKAGE_NOTEBOOKS): string[] {
  return readdirSync(from).filter((f) => f.endsWith('.ipynb')).sort();
}

export class NotebooksExistError extends Error {}

/**
 * Copy every tutorial notebook into `dest` (made if missing). Refuses, copying nothing, when any of
 * them is already there, unless `force`: the user's own runs and notes would be overwritten.
 * Returns the files written.
 */
export function copyNotebooks(dest: string, opts: { force?: boolean; from?: string } = {}): string[] {
  const from = opts.from ?? PACKAGE_NOTEBOOKS;
  const target = resolve(dest);
  if (existsSync(target) && !statSync(target).isDirectory()) throw new Error(`${target} exists and is not a folder`);
  const names = tutorialNotebooks(from);
  const clashes = names.filter((n) => existsSync(join(target, n)));
  if (clashes.length && !opts.force) {
    throw new NotebooksExistError(
      `${target} already has ${clashes.join(', ')}; nothing was copied. ` +
        'Choose another folder, or add --force to overwrite them (your outputs and edits in them are lost).',
    );
  }
  mkdirSync(target, { recursive: true });
  return names.map((n) => {
    copyFileSync(join(from, n), join(target, n));
    return join(target, n);
  });
}
