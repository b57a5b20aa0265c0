/**
 * Shell integration markers: the shell itself tells nslab where a command ends and with which
 * status, by printing an OSC sequence from its prompt.
 *
 *   PS1 → ESC ] 6973 ; <nonce> ; P ; <exit status> ; <shell pid> BEL   ("prompt": ready for a command)
 *   PS2 → ESC ] 6973 ; <nonce> ; C ; <shell pid> BEL                   ("continuation": needs more input)
 *   a program → ESC ] 6973 ; <nonce> ; D ; <base64 of a JSON mime bundle> BEL   ("display": rich output)
 *
 * Each is wrapped in \x01 … \x02 so that readline knows it takes no columns; bash strips those
 * bytes, dash prints them verbatim (the stream parser drops them next to a marker).
 *
 * Why PS1 and not PROMPT_COMMAND: a nested interactive bash reads /etc/bash.bashrc and ~/.bashrc,
 * which overwrite PS1, and some bashrcs prepend `history -a;` to PROMPT_COMMAND, which resets $?.
 * `$?` expanded inside PS1 still holds the command's status, so we keep the marker in NSLAB_PS1
 * and let the (exported) PROMPT_COMMAND put it back into PS1 before every prompt.
 * dash has no PROMPT_COMMAND but uses the exported PS1 and expands `$?` and `$$` in it.
 * (README "How a cell runs", "Markers from the shell itself".)
 *
 * The nonce is random per kernel, so program output cannot end a cell by accident.
 * This file writes the markers (the environment bash gets) and reads them back
 * (parseMarkerPayload, for the stream parser).
 */
import { randomBytes } from 'node:crypto';
import { DISPLAY_ENV } from '../lab/display.js';
import { isPlainObject } from '../common/json.js';
import type { ParserEvent } from './types.js';

/** The OSC number nslab uses (unassigned in xterm's list). */
export const MARKER_OSC = '6973';

export const enum MarkerKind {
  /** The shell shows its primary prompt: the previous command finished. Args: status, pid. */
  Prompt = 'P',
  /** The shell shows its continuation prompt: the command typed so far is incomplete. */
  Continuation = 'C',
  /** A program in the lab shows rich output. Arg: base64 of `{"data": {mime: text}, "metadata": {}}`. */
  Display = 'D',
}

/**
 * The value of NSLAB_DISPLAY (src/lab/display.ts) in the lab: the prefix of the display marker.
 * Not a secret (PS1 carries the nonce too): it keeps stray output from becoming a display by
 * accident, as it keeps stray output from ending a command.
 */
export function displayPrefix(nonce: string): string {
  return `${MARKER_OSC};${nonce};${MarkerKind.Display}`;
}

export function newNonce(): string {
  return randomBytes(8).toString('hex');
}

export function promptMarkerTemplate(nonce: string): string {
  return `\x01\x1b]${MARKER_OSC};${nonce};${MarkerKind.Prompt};$?;$$\x07\x02`;
}
/**
 * `$$` is expanded by the shell when it shows the prompt; a program that prints the variable
 * (`env`, `printf %s "$PS2"`) prints a literal `$$`, which the parser does not take as a marker.
 */
export function continuationMarker(nonce: string): string {
  return `\x01\x1b]${MARKER_OSC};${nonce};${MarkerKind.Continuation};$$\x07\x02`;
}

/** Environment variables that make bash (outer and nested) and sh print the markers. */
export function markerEnvironment(nonce: string): Record<string, string> {
  const ps1 = promptMarkerTemplate(nonce);
  return {
    NSLAB_PS1: ps1,
    PS1: ps1,
    PS2: continuationMarker(nonce),
    PROMPT_COMMAND: 'PS1=$NSLAB_PS1',
    [DISPLAY_ENV]: displayPrefix(nonce),
  };
}

/**
 * One line that arms the markers in a shell that lost them (e.g. `env -i bash`, `su -`).
 * Typed while the terminal's echo is off, so it never shows. Leading space: kept out of
 * history where HISTCONTROL ignores space-prefixed lines.
 */
export function armingLine(nonce: string): string {
  // printf turns \001 \033 \007 \002 into bytes, so the typed line stays printable ASCII and works
  // in bash, dash and busybox sh alike (dash has no $'...'). '$?;$$' stays literal for PS1.
  const osc = (body: string) => `$(printf '\\001\\033]${MARKER_OSC};${nonce};${body}')`;
  const end = "$(printf '\\007\\002')";
  return ` NSLAB_PS1="${osc('P;')}"'$?;$$'"${end}"; PS1="$NSLAB_PS1"; PS2="${osc('C;')}"'$$'"${end}"; PROMPT_COMMAND='PS1=$NSLAB_PS1'; export NSLAB_PS1 PS1 PS2 PROMPT_COMMAND; bind 'set enable-bracketed-paste off' 2>/dev/null`;
}

/**
 * The reading side: an OSC payload (what is between `ESC ]` and its terminator) as the marker's
 * event, or null for any other OSC (which the stream parser drops). `nonce` is this kernel's.
 */
export function parseMarkerPayload(payload: string, nonce: string): ParserEvent | null {
  const [oscNumber, ownNonce, kind, ...args] = payload.split(';');
  if (oscNumber !== MARKER_OSC || ownNonce !== nonce) return null;
  if (kind === MarkerKind.Prompt && args.length === 2) {
    const exitCode = parseDecimal(args[0]);
    // An unexpanded template (`$?;$$`, e.g. from `env`) was printed by a program, not by the
    // shell's prompt: it must not end the command.
    if (exitCode === null) return null;
    return { kind: 'prompt', exitCode, shellPid: parseDecimal(args[1]) };
  }
  if (kind === MarkerKind.Display && args.length === 1) return parseDisplay(args[0]);
  if (kind === MarkerKind.Continuation) {
    const isMarker = args.length === 0 || (args.length === 1 && parseDecimal(args[0]) !== null);
    return isMarker ? { kind: 'continuation' } : null;
  }
  return null;
}

/**
 * What a lab program may show: text, pictures and data, never code a frontend would run
 * (`application/javascript` and the like). The notebook shows what the learner ran, but a
 * program should not be able to make the page itself do something.
 */
const DISPLAY_MIME_TYPES = new Set([
  'text/plain', 'text/html', 'text/markdown', 'text/latex',
  'image/svg+xml', 'image/png', 'image/jpeg', 'image/gif', 'application/json',
]);

/** A display marker's payload (base64 of a JSON mime bundle) as an event. */
function parseDisplay(base64: string): ParserEvent {
  const invalid = (reason: string): ParserEvent => ({ kind: 'display-invalid', reason });
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(base64) || base64.length % 4 !== 0) return invalid('not base64');
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(base64, 'base64')));
  } catch (err) {
    return invalid(err instanceof SyntaxError ? 'not JSON' : 'not UTF-8');
  }
  if (!isPlainObject(value) || !isPlainObject(value.data)) return invalid('no "data" object');
  const entries = Object.entries(value.data);
  if (entries.length === 0) return invalid('"data" is empty');
  const data: Record<string, string> = {};
  for (const [mime, text] of entries) {
    if (!DISPLAY_MIME_TYPES.has(mime)) return invalid(`"${mime.slice(0, 40)}" is not a mime type nslab shows (${[...DISPLAY_MIME_TYPES].join(', ')})`);
    if (typeof text !== 'string') return invalid(`"data" of ${mime} is not a string`);
    data[mime] = text;
  }
  const metadata = value.metadata === undefined ? {} : value.metadata;
  if (!isPlainObject(metadata)) return invalid('"metadata" is not an object');
  return { kind: 'display', bundle: { data, metadata } };
}


/** A non-negative decimal integer (no sign, no spaces), or null. */
function parseDecimal(text: string): number | null {
  if (!/^[0-9]{1,15}$/.test(text)) return null;
  return Number(text);
}
