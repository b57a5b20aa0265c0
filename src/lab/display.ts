/**
 * How a program in the lab shows rich output: it writes one OSC sequence,
 * `ESC ] $NSLAB_DISPLAY ; <base64 of {"data": {mime: text}, "metadata": {...}}> BEL`, where the
 * kernel sets NSLAB_DISPLAY to its display marker's prefix (`6973;<nonce>;D`, see
 * src/shell/markers.ts). The shell's stream parser reads it back. Here: the writing side,
 * used by nstree and by the shell's tests.
 */

/** The variable that holds the display marker's prefix in every lab shell. */
export const DISPLAY_ENV = 'NSLAB_DISPLAY';

/**
 * Rich output a program in the lab asks for (a Jupyter mime bundle: `text/plain`,
 * `image/svg+xml`, …), as `display_data` carries it. The shell's parser reads one back.
 */
export interface DisplayBundle {
  data: Record<string, string>;
  metadata: Record<string, unknown>;
}

/** The sequence that shows `bundle` as rich output (no metadata: `{}`), given the prefix from NSLAB_DISPLAY. */
export function displaySequence(prefix: string, bundle: Pick<DisplayBundle, 'data'> & Partial<DisplayBundle>): string {
  const json = JSON.stringify({ data: bundle.data, metadata: bundle.metadata ?? {} });
  return `\x1b]${prefix};${Buffer.from(json, 'utf8').toString('base64')}\x07`;
}
