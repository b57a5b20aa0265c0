import type { DisplayBundle } from '../lab/display.js';

export type { DisplayBundle };

/** Events of the PTY stream parser (pure: bytes in, events out). */
export type ParserEvent =
  /** Program output, cleaned: no markers, no OSC, no non-SGR escape sequences, CRLF → LF. */
  | { kind: 'output'; text: string }
  /** A primary prompt: the shell is ready. exitCode/shellPid are null if not numeric. */
  | { kind: 'prompt'; exitCode: number | null; shellPid: number | null }
  /** A continuation prompt (PS2): the shell needs more input to complete the command. */
  | { kind: 'continuation' }
  /** A display marker: a program asked for rich output (written as src/lab/display.ts says). */
  | { kind: 'display'; bundle: DisplayBundle }
  /** A display marker with our nonce whose payload could not be read; `reason` says why. */
  | { kind: 'display-invalid'; reason: string };
