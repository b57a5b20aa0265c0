/** Events of the PTY stream parser (pure: bytes in, events out). */
export type ParserEvent =
  /** Program output, cleaned: no markers, no OSC, no non-SGR escape sequences, CRLF → LF. */
  | { kind: 'output'; text: string }
  /** A primary prompt: the shell is ready. exitCode/shellPid are null if not numeric. */
  | { kind: 'prompt'; exitCode: number | null; shellPid: number | null }
  /** A continuation prompt (PS2): the shell needs more input to complete the command. */
  | { kind: 'continuation' };
