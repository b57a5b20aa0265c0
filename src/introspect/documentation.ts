/**
 * Documentation: man pages, `--help` of well-known tools, bash's `help` — read as plain text, cut
 * into option entries and summaries for completion and inspection. man and `help` get a validated
 * name after `--`; a program the user names is never run for its `--help` unless it is a known tool.
 */
import { existsSync } from 'node:fs';
import { COMMAND_NAME } from './commands.js';
import { language, type TerminalView } from './terminal-view.js';
import { SYSTEM_PATH, runProcess, which } from '../common/processes.js';
import { trimEnd } from './words.js';

export const BASH = which('bash') ?? '/bin/bash';
let MAN = which('man');

/** Tests: behave as on a machine with another `man` (null: none, as in minimised images). */
export function setManProgramForTests(path: string | null | undefined): void {
  MAN = path === undefined ? which('man') : path;
  docsCache.clear();
}

export interface OptionEntry {
  names: string[];
  /** The option takes the next word as its argument (`-t PID`, `--propagation MODE`). */
  takesArgument: boolean;
  /** The entry as the page shows it: its heading line and description, dedented. */
  lines: string[];
}

export interface Docs {
  /** man page (plain text) or --help output. */
  text: string;
  source: 'man' | 'help';
  options: OptionEntry[];
}

/**
 * Commands whose `--help` nslab may run to read their options: well-known tools that only print
 * help for it. Anything else is read from its man page only — a program the user names is never
 * run just because the cursor is on it (a script may ignore `--help` and do its job).
 */
const SAFE_HELP = new Set([
  'unshare', 'nsenter', 'mount', 'umount', 'findmnt', 'lsns', 'setpriv', 'chroot', 'ps', 'pgrep', 'pkill', 'kill', 'ls', 'cat', 'echo',
  'sleep', 'ip', 'ping', 'hostname', 'id', 'ipcs', 'ipcmk', 'ipcrm', 'mkdir', 'touch', 'grep', 'sed', 'head', 'tail', 'wc', 'sort', 'uniq',
  'cut', 'tr', 'env', 'stat', 'readlink', 'pstree', 'killall', 'fuser', 'free', 'uptime', 'date', 'uname', 'df', 'du', 'cp', 'mv', 'ln',
  'rm', 'rmdir', 'chmod', 'chown', 'whoami', 'nproc', 'lsblk', 'prlimit', 'timeout', 'nice', 'nohup', 'setsid', 'stdbuf', 'taskset', 'chrt',
]);
/** Where `--help` alone is only a pointer to more help. */
export const HELP_ARGS: Record<string, string[]> = { ps: ['--help', 'all'] };

const docsCache = new Map<string, Promise<Docs | null>>();

export function commandDocs(command: string, view: TerminalView): Promise<Docs | null> {
  if (!COMMAND_NAME.test(command)) return Promise.resolve(null);
  const lang = manLanguage(language(view));
  const key = `${command}\0${lang}`;
  let p = docsCache.get(key);
  if (!p) {
    p = loadDocs(command, lang);
    if (docsCache.size > 300) docsCache.clear();
    docsCache.set(key, p);
    // A failure (timeout) is not remembered.
    void p.then((d) => {
      if (!d) docsCache.delete(key);
    });
  }
  return p;
}

/** The language for man's -L ('' = the default pages). */
export function manLanguage(lang: string): string {
  const m = /^([a-z]{2,3})(_[A-Z]{2})?/.exec(lang);
  if (!m || m[1] === 'en') return '';
  return m[0];
}

/**
 * The width man formats pages to. Jupyter does not tell a kernel how wide the help panel is, so
 * pages are formatted unwrapped — one line per paragraph, whatever its length (groff fills a
 * paragraph up to the width; examples and tables keep their lines) — and the panel wraps them
 * to its own width. At 80 columns the text came hard-wrapped and wrapped raggedly again in a
 * narrower panel. 4000: longer than any paragraph of the pages the tutorial uses (bash's longest
 * is under 3000 characters); trailing padding is trimmed.
 */
export const MAN_WIDTH = 4000;

async function loadDocs(command: string, lang: string): Promise<Docs | null> {
  if (MAN) {
    const args = ['--nj', '--nh', '-S', '1:8:6', ...(lang ? ['-L', lang] : []), '-P', 'cat', '--', command];
    const r = await runProcess(MAN, args, {
      env: { PATH: SYSTEM_PATH, LANG: 'C.UTF-8', MANWIDTH: String(MAN_WIDTH), MANPAGER: 'cat', PAGER: 'cat', GROFF_NO_SGR: '1' },
      timeoutMs: 5000,
    });
    const text = plainText(r.stdout);
    // A formatted page starts with its header, NAME(SECTION); anything else (a stub `man` of a
    // minimised image) is not a page.
    if (r.status === 0 && /^\s*\S+\(\w+\)/.test(text)) return { text, source: 'man', options: parseOptionEntries(text) };
  }
  if (SAFE_HELP.has(command)) {
    const file = SYSTEM_PATH.split(':').map((d) => `${d}/${command}`).find((f) => existsSync(f));
    if (file) {
      const r = await runProcess(file, HELP_ARGS[command] ?? ['--help'], { env: { PATH: SYSTEM_PATH, LANG: 'C.UTF-8', COLUMNS: '80' }, timeoutMs: 3000 });
      const text = plainText(r.stdout || r.stderr);
      if (text.trim()) return { text, source: 'help', options: parseOptionEntries(text) };
    }
  }
  return null;
}

/** Plain text from man/--help output: no overstrike (x\bx, _\bx), no colours, ASCII hyphens. */
export function plainText(s: string): string {
  return s
    .replace(/.\x08/g, '')
    .replace(/\x1b\[[0-9;]*[A-Za-z]/g, '')
    .replace(/[\u2010\u2011\u2212]/g, '-')
    .replace(/\r/g, '')
    .split('\n')
    .map((l) => trimEnd(l, ' \t'))
    .join('\n');
}

const indentOf = (l: string) => /^ */.exec(l)![0].length;

/**
 * Option entries of a man page or --help text: a line indented I that starts with `-`, then its
 * description — the rest of that line after two spaces, and the following lines indented more
 * than I (blank lines included when more of the description follows).
 */
export function parseOptionEntries(text: string): OptionEntry[] {
  const lines = text.split('\n');
  const out: OptionEntry[] = [];
  for (let k = 0; k < lines.length; k++) {
    const line = lines[k];
    const m = /^( {1,24})(-{1,2}[A-Za-z0-9?#@][^\s]*.*)$/.exec(line);
    if (!m) continue;
    const indent = m[1].length;
    const body = m[2];
    const gap = /\s{2,}/.exec(body);
    const spec = gap ? body.slice(0, gap.index) : body;
    // Continuation lines are indented deeper than the heading — as deep as the description
    // column when the description starts on the heading's line (`ps --help`'s ` f, --forest`
    // under `-f` is an entry of its own, not a continuation).
    const minIndent = gap ? Math.max(indent + 1, indent + gap.index + gap[0].length - 1) : indent + 1;
    let j = k + 1;
    const block = [line];
    while (j < lines.length) {
      const l = lines[j];
      if (l.trim() === '') {
        let n = j + 1;
        while (n < lines.length && lines[n].trim() === '') n++;
        if (n < lines.length && indentOf(lines[n]) >= minIndent) {
          for (; j < n; j++) block.push('');
          continue;
        }
        break;
      }
      if (indentOf(l) < minIndent) break;
      block.push(l);
      j++;
    }
    // A heading needs a description: on its line after a gap, or on the next lines.
    if (!gap && block.length === 1) continue;
    const names: string[] = [];
    for (const n of spec.matchAll(/(?:^|[\s,|/])(--?[A-Za-z0-9?#@][\w-]*)(?=$|[\s,=[<|/])/g)) names.push(n[1]);
    if (!names.length) continue;
    const lastName = names[names.length - 1];
    const after = spec.slice(spec.lastIndexOf(lastName) + lastName.length);
    const takesArgument = /^=/.test(after) || /^ +[^-\s[]/.test(after) || /^ +\[?<?[a-z]/i.test(after) && !/^ *\[=/.test(after);
    out.push({ names, takesArgument, lines: dedent(block) });
    if (block.length > 1) k = j - 1;
  }
  return out;
}

/** Lines shifted left by the indentation of the first one (never cutting into text). */
function dedent(lines: string[]): string[] {
  const first = lines.find((l) => l.trim());
  const ind = first === undefined ? 0 : indentOf(first);
  return lines.map((l) => l.slice(Math.min(ind, indentOf(l))).replace(/\s+$/, ''));
}

interface ManSection {
  title: string;
  lines: string[];
}

/** Sections of a formatted man page (headings start in column 0; header and footer dropped). */
export function manSections(text: string): ManSection[] {
  const lines = text.split('\n');
  while (lines.length && !lines[0].trim()) lines.shift();
  while (lines.length && !lines[lines.length - 1].trim()) lines.pop();
  if (lines.length && /\(\w+\)\s*$/.test(lines[0])) lines.shift();
  if (lines.length && /\(\w+\)\s*$/.test(lines[lines.length - 1])) lines.pop();
  const out: ManSection[] = [];
  for (const l of lines) {
    if (/^\S/.test(l)) out.push({ title: l.trim(), lines: [] });
    else if (out.length) out[out.length - 1].lines.push(l);
  }
  return out;
}

/** NAME, SYNOPSIS and the start of DESCRIPTION of a man page (any language: by position). */
export function manSummary(text: string): string {
  const sections = manSections(text);
  if (!sections.length) return '';
  const find = (re: RegExp, fallback: number) => sections.find((s) => re.test(s.title)) ?? sections[fallback];
  const name = find(/^(NAME|名前|名称)$/i, 0);
  const synopsis = find(/^(SYNOPSIS|書式|概要|形式)$/i, 1);
  const description = find(/^(DESCRIPTION|説明|解説)$/i, 2);
  const out: string[] = [];
  const body = (s: ManSection, max: number) => {
    const ls = dedent(trimBlank(s.lines));
    const cut = ls.length > max;
    return [...ls.slice(0, max).map((l) => '  ' + l), ...(cut ? ['  …'] : [])];
  };
  if (name) out.push(...body(name, 4).map((l) => l.trim()), '');
  if (synopsis && synopsis !== name) out.push(synopsis.title, ...body(synopsis, 10), '');
  if (description && description !== name && description !== synopsis) {
    // The first paragraphs: whole ones (a paragraph is one line when the page is unwrapped),
    // about 600 characters or 12 lines, whichever comes first.
    const ls = dedent(trimBlank(description.lines));
    const keep: string[] = [];
    let chars = 0;
    for (const l of ls) {
      if (!l.trim() && (keep.length >= 4 || chars >= 600)) break;
      keep.push(l);
      chars += l.length;
      if (keep.length >= 12) break;
    }
    out.push(description.title, ...trimBlank(keep).map((l) => (l ? '  ' + l : '')));
    if (keep.length < ls.length) out.push('  …');
  }
  return out.join('\n').trim();
}

export function trimBlank(lines: string[]): string[] {
  let a = 0;
  let b = lines.length;
  while (a < b && !lines[a].trim()) a++;
  while (b > a && !lines[b - 1].trim()) b--;
  return lines.slice(a, b);
}

/** The entries for `option` (`--mount-proc`, `--mount-proc=/x`, or a cluster `-ef`). */
export function optionEntries(options: OptionEntry[], option: string): OptionEntry[] {
  const name = option.replace(/=.*$/, '');
  const exact = options.find((e) => e.names.includes(name));
  if (exact) return [exact];
  if (/^-[A-Za-z0-9]{2,}$/.test(name)) {
    const each = [...name.slice(1)].map((ch) => options.find((e) => e.names.includes(`-${ch}`)));
    if (each.every((e) => e)) return [...new Set(each as OptionEntry[])];
  }
  return [];
}

const helpCache = new Map<string, Promise<string>>();

export function builtinHelp(name: string): Promise<string> {
  let p = helpCache.get(name);
  if (!p) {
    p = runProcess(BASH, ['--norc', '--noprofile', '-c', 'help -- "$1"', 'nslab-help', name], { env: { PATH: SYSTEM_PATH, LANG: 'C.UTF-8' }, timeoutMs: 3000 }).then((r) => r.stdout);
    helpCache.set(name, p);
  }
  return p;
}
