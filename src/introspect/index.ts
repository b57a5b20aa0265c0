/**
 * Introspection: answers about a cell without running it — is_complete, completion, inspection —
 * as the terminal's shell sees things. The kernel asks through its `Introspection` port
 * (src/kernel/kernel.ts); src/cli hands it this object.
 *
 * The text is only ever data: no helper gets it as code. `bash -n` parses it from stdin; the
 * bash-completion helper gets words as positional parameters, and only words made of plain
 * characters (letters, digits, `-_.,:=+@%/~`), so nothing a completion function does with them
 * (`compgen -W`, `eval` in bash-completion's quoting helpers, unquoted expansion) can expand into
 * a command substitution — bash-completion 2.11's _quote_readline_by_ref evals a word that starts
 * with a quote, so `cat '$(cmd)` + Tab runs cmd even in a real terminal; such words never reach
 * the helper. man and `help` get a validated name after `--`.
 *
 * Rooms: scanner.ts (what the cursor is on) with command-list.ts and word-reader.ts; words.ts,
 * commands.ts, cell-options.ts (what words mean); terminal-view.ts (the terminal's point of view);
 * completion.ts, bash-completion.ts, documentation.ts (man, --help, help), inspection.ts,
 * is-complete.ts; cursor.ts (code points ⇄ UTF-16, the one place).
 */
import { complete } from './completion.js';
import { inspect } from './inspection.js';
import { checkComplete } from './is-complete.js';

export type { Completion } from './completion.js';
export type { Completeness } from './is-complete.js';
export type { TerminalView } from './terminal-view.js';
export { checkComplete, complete, inspect };

/** What the kernel's `Introspection` port is given. */
export const introspection = { isComplete: checkComplete, complete, inspect };
