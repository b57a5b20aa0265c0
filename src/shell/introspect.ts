/**
 * Completion, inspection and is_complete for bash code — without ever running the code.
 *
 * Every helper here runs a separate, fresh bash (or man/whatis) in which the user's text is
 * only ever data: passed as a positional argument ("$1") to a builtin that does not evaluate
 * it (compgen -c/-f/-v with a prefix, help, type), or fed to `bash -n`, which parses and
 * executes nothing. Command substitutions, backquotes and `;` in the text stay inert.
 */
import { execFile, spawn } from 'node:child_process';

export type Completeness = { status: 'complete' | 'invalid' | 'unknown' } | { status: 'incomplete'; indent: string };

/**
 * Syntax check with `bash -n` (read commands, execute nothing). An unexpected end of file or
 * an unterminated here-document means more input would complete it.
 */
export function checkComplete(code: string): Promise<Completeness> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-n'], { stdio: ['pipe', 'ignore', 'pipe'], env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C' } });
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', () => resolve({ status: 'unknown' }));
    child.on('close', (status) => {
      clearTimeout(timer);
      const trailingBackslash = /\\\n?$/.test(code);
      if (/unexpected end of file|here-document at line \d+ delimited by end-of-file/.test(stderr) || trailingBackslash) {
        resolve({ status: 'incomplete', indent: continuationIndent(code) });
      } else if (status === 0) {
        resolve({ status: 'complete' });
      } else if (status === null) {
        resolve({ status: 'unknown' });
      } else {
        resolve({ status: 'invalid' });
      }
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(code.endsWith('\n') ? code : code + '\n');
  });
}

/** Indent continuation lines inside a compound command, as editors do. */
function continuationIndent(code: string): string {
  const last = code.split('\n').filter((l) => l.trim()).pop() ?? '';
  const base = /^\s*/.exec(last)![0];
  return /(\bdo|\bthen|\belse|\{|\(|\bin)\s*$/.test(last) ? base + '  ' : base;
}

/** The word around the cursor: [start, end) in `code`, split at shell metacharacters. */
export function wordAt(code: string, cursor: number): { start: number; end: number; word: string } {
  const stop = /[\s;|&<>()`'"$={}]/;
  let start = cursor;
  while (start > 0 && !stop.test(code[start - 1])) start--;
  // Keep a leading `$` for variables.
  if (start > 0 && code[start - 1] === '$') start--;
  let end = cursor;
  while (end < code.length && !stop.test(code[end])) end++;
  return { start, end, word: code.slice(start, end) };
}

function run(file: string, args: string[], cwd?: string): Promise<string> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd, timeout: 3000, maxBuffer: 4 * 1024 * 1024, env: { ...process.env, MANPAGER: 'cat', PAGER: 'cat', MANWIDTH: '80' } }, (_err, stdout) =>
      resolve(stdout ?? ''),
    );
  });
}

/**
 * Candidates for the word at the cursor: variables after `$`, options of the command after
 * `-`, commands in command position, else files (relative to `cwd`, the terminal's directory).
 */
export async function complete(code: string, cursor: number, cwd?: string): Promise<{ matches: string[]; start: number; end: number }> {
  const { start } = wordAt(code, cursor);
  const prefix = code.slice(start, cursor);
  let matches: string[];
  if (prefix.startsWith('$')) {
    const names = await run('bash', ['-c', 'compgen -v -- "$1"', 'nslab', prefix.slice(1)]);
    matches = lines(names).map((n) => '$' + n);
  } else if (prefix.startsWith('-')) {
    matches = (await commandOptions(commandOf(code, start))).filter((o) => o.startsWith(prefix));
  } else if (inCommandPosition(code, start)) {
    matches = lines(await run('bash', ['-c', 'compgen -c -- "$1"', 'nslab', prefix]));
  } else {
    matches = lines(await run('bash', ['-c', 'compgen -f -- "$1"', 'nslab', prefix], cwd));
  }
  return { matches: [...new Set(matches)].sort().slice(0, 500), start, end: cursor };
}

function lines(s: string): string[] {
  return s.split('\n').filter(Boolean);
}

function inCommandPosition(code: string, start: number): boolean {
  const before = code.slice(0, start).replace(/\s+$/, '');
  return before === '' || /[;&|(\n]$/.test(before) || /(^|\s)(sudo|then|do|else|exec|time|!)$/.test(before);
}

/** The command word of the simple command containing `pos`. */
function commandOf(code: string, pos: number): string {
  const segment = code.slice(0, pos).split(/[;&|\n(]/).pop() ?? '';
  return segment.trim().split(/\s+/)[0] ?? '';
}

/**
 * Commands whose `--help` nslab may run to read their options: well-known tools that only print
 * help for it. Anything else is read from its man page only — a program the user names is never
 * run just because the cursor is on it (a script may ignore `--help` and do its job).
 */
const SAFE_HELP = new Set([
  'unshare', 'nsenter', 'mount', 'umount', 'findmnt', 'lsns', 'setpriv', 'chroot', 'ps', 'pgrep', 'pkill',
  'kill', 'ls', 'cat', 'echo', 'sleep', 'ip', 'ping', 'hostname', 'id', 'ipcs', 'ipcmk', 'ipcrm', 'mkdir',
  'touch', 'grep', 'sed', 'head', 'tail', 'wc', 'sort', 'uniq', 'cut', 'tr', 'env', 'stat', 'readlink',
  'pstree', 'killall', 'fuser', 'top', 'free', 'uptime', 'date', 'uname', 'df', 'du', 'cp', 'mv', 'ln', 'tini',
]);

/** Usage text of a command: its man page, or `--help` for the tools in SAFE_HELP. */
async function usageText(command: string): Promise<string> {
  if (!/^[\w.+-]+$/.test(command)) return '';
  const man = await run('man', ['-P', 'cat', '--', command]);
  if (man.trim()) return man;
  const path = SAFE_HELP.has(command) ? (await run('bash', ['-c', 'type -P -- "$1"', 'nslab', command])).trim() : '';
  return path ? run(path, ['--help']) : '';
}

/** A command's long and short options, read from its usage text. */
async function commandOptions(command: string): Promise<string[]> {
  const help = await usageText(command);
  const found = new Set<string>();
  for (const m of help.matchAll(/(?:^|[\s,[])(--?[A-Za-z0-9][\w-]*)/g)) found.add(m[1]);
  return [...found];
}

/**
 * Help for the word at the cursor: bash's `help` for a builtin, else the man page's NAME line
 * and, for an option under the cursor, that option's lines from `--help`.
 */
export async function inspect(code: string, cursor: number): Promise<string | null> {
  const { start, word } = wordAt(code, cursor);
  if (!word) return null;
  if (word.startsWith('-')) {
    const command = commandOf(code, start);
    const help = await usageText(command);
    const optionLines = help.split('\n').filter((l) => new RegExp(`(^|[\\s,])${escapeRegExp(word.replace(/=.*/, ''))}\\b`).test(l));
    return optionLines.length ? `${command} ${word}\n\n${optionLines.join('\n')}` : null;
  }
  if (!/^[\w.+-]+$/.test(word)) return null;
  const kind = (await run('bash', ['-c', 'type -t -- "$1"', 'nslab', word])).trim();
  if (kind === 'builtin' || kind === 'keyword') {
    const help = await run('bash', ['-c', 'help -- "$1"', 'nslab', word]);
    return help.trim() || null;
  }
  if (kind !== 'file') return null;
  const summary = (await run('whatis', ['--', word])).trim();
  const usage = (await usageText(word)).split('\n').slice(0, 60).join('\n').trim();
  const text = [summary, usage].filter(Boolean).join('\n\n');
  return text || null;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
