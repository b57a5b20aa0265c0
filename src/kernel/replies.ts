/**
 * What the kernel says in its replies and errors, apart from the handlers: error fields (one
 * plain traceback line, no invented stack), the texts of nslab's own errors and notices, and
 * small helpers for request fields.
 */
import type { ErrorFields, JsonObject } from '../protocol/messages.js';

export function errorFields(ename: string, evalue: string): ErrorFields {
  // The traceback is what frontends display: one plain line, no invented stack.
  return { ename, evalue, traceback: [`\x1b[31m${ename}\x1b[0m: ${evalue}`] };
}

export function shuttingDown(): ErrorFields {
  return errorFields('KernelShuttingDown', 'the kernel is shutting down (or restarting), and its lab with it; nothing was run');
}

export function subshellDeleted(terminal: number | null): ErrorFields {
  const what = terminal === null ? 'nothing was run' : `terminal ${terminal} and what ran in it ended`;
  return errorFields('SubshellDeleted', `this subshell was deleted (its console closed): ${what}`);
}

/** The first output of a subshell's first cell: which terminal it is, and how to reach it. */
export function introduction(terminal: number): string {
  return `nslab: this subshell is terminal ${terminal} of the lab: a shell of its own in the same lab as the notebook (terminal 1). ` +
    `A notebook cell that starts with "#| terminal: ${terminal}" runs here too; deleting the subshell (closing its console) ends this terminal and what runs in it.\n`;
}

/**
 * user_expressions are Python-centric (spec: "Execute"): nslab evaluates nothing it was not asked
 * to run as a cell, so each expression is answered explicitly with an error.
 */
export function answerUserExpressions(exprs: unknown): JsonObject {
  const out: JsonObject = {};
  if (exprs && typeof exprs === 'object') {
    for (const name of Object.keys(exprs)) {
      out[name] = { status: 'error', ename: 'NotSupported', evalue: 'nslab does not evaluate user_expressions', traceback: [] };
    }
  }
  return out;
}

export function clampCursor(pos: unknown, code: string): number {
  const n = typeof pos === 'number' && Number.isFinite(pos) ? Math.trunc(pos) : code.length;
  return Math.max(0, Math.min(code.length, n));
}

/**
 * Does `text` match the history-search `glob` (`*` any run, `?` one character)? A linear
 * two-pointer match: a regex made from the glob backtracks exponentially on `*a*a*a*…b`.
 */
export function globMatch(glob: string, text: string): boolean {
  let g = 0;
  let t = 0;
  let star = -1;
  let resume = 0;
  while (t < text.length) {
    if (g < glob.length && (glob[g] === '?' || glob[g] === text[t])) {
      g++;
      t++;
    } else if (g < glob.length && glob[g] === '*') {
      star = g++;
      resume = t;
    } else if (star >= 0) {
      g = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (g < glob.length && glob[g] === '*') g++;
  return g === glob.length;
}
