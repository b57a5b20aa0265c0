/** Which programs are shells, by the name the kernel gives them (comm in /proc/PID/stat). */

/** Shells: nstree marks them in its picture (the first shell of each terminal, the one that ran it). */
export const SHELL_NAMES: ReadonlySet<string> = new Set(['bash', 'sh', 'dash', 'ash', 'busybox', 'zsh', 'ksh', 'mksh', 'fish']);

/**
 * Shells that take nslab's markers when one waits at the terminal without them (the arming line
 * sets PS1 and PROMPT_COMMAND in POSIX syntax): every shell but fish, whose syntax differs.
 */
export const MARKER_SHELL_NAMES: ReadonlySet<string> = new Set([...SHELL_NAMES].filter((name) => name !== 'fish'));

/** `s` as one word of sh: single-quoted, each `'` in it written as `'\''`. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
