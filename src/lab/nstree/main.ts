/**
 * `nstree`: the namespace picture, as a command of the lab. Run inside the lab (and so in
 * nested namespace shells) by a small wrapper the kernel puts on the lab's PATH (see
 * tools.ts). It reads the /proc it sees, so a nested namespace with a remounted /proc shows
 * only itself, and says so.
 *
 * Output: where stdout is nslab's terminal (NSLAB_DISPLAY is set and stdout is a TTY), one
 * display marker carrying text/plain and image/svg+xml, which the kernel turns into
 * `display_data`; otherwise (a pipe, a file, another terminal) the text form.
 *
 * Usage: nstree [--text] [--svg]   (--text: the text form even in nslab; --svg: print the SVG)
 */
import { DISPLAY_ENV, displaySequence } from '../display.js';
import { relabel, withLabelFile } from './labels.js';
import { buildPicture, readSnapshot } from './model.js';
import { renderSvg, renderText } from './render.js';

/** Set by the wrapper: a file holding the lab's `pid:[inode]`. */
const LAB_FILE_ENV = 'NSLAB_LAB_PIDNS_FILE';
/** Set by the wrapper: the file of the names this lab's namespaces were given (labels.ts). */
const LABELS_FILE_ENV = 'NSLAB_NSTREE_LABELS_FILE';

function main(argv: string[]): number {
  process.title = 'nstree';
  const unknown = argv.filter((a) => a !== '--text' && a !== '--svg');
  if (unknown.length || argv.includes('--help')) {
    process.stderr.write(`usage: nstree [--text | --svg]\n${unknown.length ? `nstree: unknown argument ${unknown[0]}\n` : ''}`);
    return 2;
  }
  // /proc is read while the names are locked, so two nstree at once each see a /proc no older than the names.
  const picture = withLabelFile(process.env[LABELS_FILE_ENV] || null, (store) => {
    const snap = readSnapshot('/proc', process.env[LAB_FILE_ENV] || null);
    const named = relabel(store, snap, buildPicture(snap));
    return { store: named.store, result: named.picture };
  });
  const text = renderText(picture);
  if (argv.includes('--svg')) {
    process.stdout.write(renderSvg(picture) + '\n');
    return 0;
  }
  const prefix = process.env[DISPLAY_ENV];
  if (!argv.includes('--text') && prefix && /^[0-9]+;[^;\x00-\x1f]+;D$/.test(prefix) && process.stdout.isTTY) {
    process.stdout.write(displaySequence(prefix, { data: { 'text/plain': text, 'image/svg+xml': renderSvg(picture) } }));
  } else {
    process.stdout.write(text + '\n');
  }
  return 0;
}

process.exitCode = main(process.argv.slice(2));
