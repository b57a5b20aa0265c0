/**
 * Completion: what the cursor is on (the scanner), then candidates read directly, never by running
 * anything — the terminal's PATH directories, current directory and environment, the cell's own
 * variables and functions, cell options — or, for a command's options and their arguments,
 * bash-completion in a separate bash (bash-completion.ts), else the man page or `--help`.
 */
import { readdirSync, statSync } from 'node:fs';
import { completeWithBashCompletion, completionWords } from './bash-completion.js';
import { CELL_OPTIONS, cellOptionAt } from './cell-options.js';
import { BUILTIN_SET, COMMAND_NAME, SHELL_VARIABLES, commandLine, resolveCommand } from './commands.js';
import { MAX_INTROSPECT_CHARS, codePointsFromUnits, requestCursor, unitsFromCodePoints } from './cursor.js';
import { commandDocs } from './documentation.js';
import { scanContext, wordEnd, type CursorContext } from './scanner.js';
import { aliases, hostPath, kernelView, passwdHomes, pathDirs, type TerminalView } from './terminal-view.js';
import { OPENERS, cellFunctions, cellVariables, expandWord, requote, trimEnd } from './words.js';

export interface Completion {
  matches: string[];
  /** Code points, as the protocol counts them. */
  start: number;
  end: number;
}

interface Range {
  matches: string[];
  start: number;
  end: number;
}

const MAX_MATCHES = 1000;

/**
 * Completion candidates for the word at the cursor (`cursorPos`: the request's, in code points).
 * `view`: the terminal whose point of view counts (else the kernel's).
 */
export async function complete(code: string, cursorPos: unknown, view: TerminalView = kernelView()): Promise<Completion> {
  const cursor = requestCursor(cursorPos, code);
  if (code.length > MAX_INTROSPECT_CHARS) return { matches: [], start: cursor, end: cursor };
  const at = unitsFromCodePoints(code, cursor);
  let r: Range;
  try {
    r = await completeAt(code, at, view);
  } catch {
    r = { matches: [], start: at, end: at };
  }
  const matches = [...new Set(r.matches)].slice(0, MAX_MATCHES);
  return { matches, start: codePointsFromUnits(code, r.start), end: codePointsFromUnits(code, r.end) };
}
async function completeAt(code: string, cursor: number, view: TerminalView): Promise<Range> {
  const none: Range = { matches: [], start: cursor, end: cursor };
  const option = cellOptionAt(code, cursor);
  if (option) {
    const names = Object.keys(CELL_OPTIONS).filter((n) => n.startsWith(option.prefix));
    return { matches: names.map((n) => `${n}: `), start: option.start, end: option.end };
  }
  const ctx = scanContext(code, cursor);
  if (ctx.kind === 'comment' || ctx.kind === 'heredoc') return none;
  if (ctx.kind === 'parameter') {
    const m = /^\$\{([A-Za-z_]\w*)?$/.exec(code.slice(ctx.start, cursor));
    if (!m) return none;
    let end = cursor;
    while (end < code.length && /\w/.test(code[end])) end++;
    const close = code[end] === '}';
    if (close) end++;
    return { matches: variableNames(view, code, cursor, m[1] ?? '').map((n) => `\${${n}}`), start: ctx.start, end };
  }
  if (ctx.kind === 'arithmetic') {
    const prefix = code.slice(ctx.start, cursor);
    let end = cursor;
    while (end < code.length && /\w/.test(code[end])) end++;
    return { matches: variableNames(view, code, cursor, prefix), start: ctx.start, end };
  }

  const prefix = code.slice(ctx.start, cursor);
  const end = wordEnd(code, cursor, ctx.quote);

  // $NAME at the end of the word (not in single quotes, the $ not escaped).
  const v = /\$([A-Za-z_]\w*)?$/.exec(prefix);
  if (v && ctx.quote !== 'single' && ctx.quote !== 'ansi' && !/(^|[^\\])(\\\\)*\\$/.test(prefix.slice(0, v.index))) {
    let vEnd = cursor;
    while (vEnd < code.length && /\w/.test(code[vEnd])) vEnd++;
    return { matches: variableNames(view, code, cursor, v[1] ?? '').map((n) => `$${n}`), start: ctx.start + v.index, end: vEnd };
  }

  switch (ctx.role) {
    case 'command':
      if (prefix.includes('/')) return completeFiles(view, ctx, code, cursor, end, 'commands');
      return completeCommands(view, ctx, code, cursor, end);
    case 'assignment': {
      // The value: files, after the `=` (or the last `:` of a PATH-like list).
      const eq = prefix.indexOf('=');
      const valueStart = ctx.start + Math.max(eq, prefix.lastIndexOf(':')) + 1;
      if (code[valueStart] === '(') return none;
      return completeFiles(view, { ...ctx, start: valueStart }, code, cursor, end, 'files');
    }
    case 'redirect':
    case 'cond':
    case 'for-list':
      return completeFiles(view, ctx, code, cursor, end, 'files');
    case 'argument':
      return completeArgument(view, ctx, code, cursor, end);
    default:
      return none;
  }
}

function variableNames(view: TerminalView, code: string, cursor: number, prefix: string): string[] {
  const names = new Set<string>([...view.env.keys(), ...SHELL_VARIABLES, ...cellVariables(code.slice(0, cursor)).keys()]);
  return [...names].filter((n) => n.startsWith(prefix) && /^[A-Za-z_]\w*$/.test(n)).sort();
}

interface DirListing {
  mtimeMs: number;
  executables: string[];
}
const dirCache = new Map<string, DirListing>();

function executablesIn(dir: string): string[] {
  let mtimeMs: number;
  try {
    mtimeMs = statSync(dir).mtimeMs;
  } catch {
    return [];
  }
  const cached = dirCache.get(dir);
  if (cached && cached.mtimeMs === mtimeMs) return cached.executables;
  const executables: string[] = [];
  try {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) continue;
      try {
        const st = statSync(`${dir}/${e.name}`);
        if (st.isFile() && st.mode & 0o111) executables.push(e.name);
      } catch {
        /* a dangling link */
      }
    }
  } catch {
    return [];
  }
  if (dirCache.size > 200) dirCache.clear();
  dirCache.set(dir, { mtimeMs, executables });
  return executables;
}

function completeCommands(view: TerminalView, ctx: CursorContext, code: string, cursor: number, end: number): Range {
  const value = ctx.prefixValue;
  if (value === null) return { matches: [], start: ctx.start, end };
  const names = new Set<string>();
  const add = (n: string) => {
    if (n.startsWith(value)) names.add(n);
  };
  for (const n of BUILTIN_SET) add(n);
  for (const n of aliases(view).keys()) add(n);
  for (const n of cellFunctions(code.slice(0, cursor))) add(n);
  for (const dir of pathDirs(view)) for (const n of executablesIn(hostPath(view, dir))) add(n);
  const matches = [...names].sort().map((n) => OPENERS[ctx.quote] + requote(n, ctx.quote, true));
  return { matches, start: ctx.start, end };
}

function completeFiles(view: TerminalView, ctx: CursorContext, code: string, cursor: number, end: number, what: 'files' | 'commands' | 'dirs'): Range {
  const none: Range = { matches: [], start: ctx.start, end };
  const raw = code.slice(ctx.start, cursor);
  const vars = new Map<string, string | null>([...view.env, ...cellVariables(code.slice(0, cursor))]);
  const home = view.env.get('HOME') ?? null;

  // ~user
  const user = /^~([A-Za-z0-9_.-]*)$/.exec(raw);
  if (user) {
    const users = passwdHomes(view);
    const matches = [...users.keys()].filter((u) => u.startsWith(user[1])).sort().map((u) => `~${u}/`);
    return { matches, start: ctx.start, end };
  }

  const slash = raw.lastIndexOf('/');
  const rawDir = raw.slice(0, slash + 1);
  const full = expandWord(raw, vars, home);
  const dir = expandWord(rawDir, vars, home);
  if (!full || !dir || !full.value.startsWith(dir.value)) return none;
  const base = full.value.slice(dir.value.length);
  if (base.includes('/')) return none;
  const dirHost = dir.value === '' ? view.cwd : dir.value.startsWith('/') ? hostPath(view, dir.value) : hostPath(view, trimEnd(dir.value, '/') || '.');
  let entries: { name: string; isDir: boolean; exec: boolean }[] = [];
  try {
    for (const e of readdirSync(dirHost, { withFileTypes: true })) {
      if (!e.name.startsWith(base)) continue;
      if (e.name.startsWith('.') && !base.startsWith('.')) continue;
      let isDir = e.isDirectory();
      let exec = false;
      if (e.isSymbolicLink() || what === 'commands') {
        try {
          const st = statSync(`${dirHost}/${e.name}`);
          isDir = st.isDirectory();
          exec = st.isFile() && (st.mode & 0o111) !== 0;
        } catch {
          /* dangling */
        }
      }
      entries.push({ name: e.name, isDir, exec });
    }
  } catch {
    return none;
  }
  if (what === 'commands') entries = entries.filter((e) => e.isDir || e.exec);
  if (what === 'dirs') entries = entries.filter((e) => e.isDir);
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  // A quote opened in the name's own part is written again; one opened before the last `/` is in rawDir.
  const opener = dir.quote === full.quote ? '' : OPENERS[full.quote];
  const matches = entries.map((e) => rawDir + opener + requote(e.name, full.quote, !e.isDir) + (e.isDir ? '/' : ''));
  return { matches, start: ctx.start, end };
}

async function completeArgument(view: TerminalView, ctx: CursorContext, code: string, cursor: number, end: number): Promise<Range> {
  const raw = code.slice(ctx.start, cursor);
  const { raws, argv } = commandLine(ctx, { raw, value: ctx.prefixValue });
  const current = argv.length - 1;
  const { index, position } = resolveCommand(argv, current);
  if (position === 'command') {
    if (raw.includes('/')) return completeFiles(view, ctx, code, cursor, end, 'commands');
    return completeCommands(view, ctx, code, cursor, end);
  }
  const command = argv[index];
  const words = completionWords(raws.slice(index));
  if (words && command) {
    const r = await completeWithBashCompletion(view, command, words);
    if (r && r.replies.length) {
      const start = ctx.start + words.curOffset;
      // Hidden files only when asked for with a leading dot, as for nslab's own file names.
      const cur = raw.slice(words.curOffset);
      const replies = r.filenames && !cur.startsWith('.') ? r.replies.filter((m) => !/(^|\/)\.[^/]*$/.test(m)) : r.replies;
      const matches = replies.map((m) => {
        if (!r.filenames) return m;
        let isDir = false;
        try {
          isDir = statSync(hostPath(view, m)).isDirectory();
        } catch {
          /* not a file */
        }
        return requote(m, 'none', true) + (isDir && !m.endsWith('/') ? '/' : '');
      });
      return { matches: [...new Set(matches)].sort(), start, end: Math.max(end, start) };
    }
    if (r && !r.fallback && !raw.startsWith('-')) return { matches: [], start: ctx.start, end };
  }
  const value = ctx.prefixValue;
  if (value !== null && value.startsWith('-') && command && COMMAND_NAME.test(command)) {
    const docs = await commandDocs(command, view);
    const eq = value.indexOf('=');
    if (docs && eq < 0) {
      const names = new Set<string>();
      for (const e of docs.options) for (const n of e.names) if (n.startsWith(value)) names.add(n);
      return { matches: [...names].sort(), start: ctx.start, end };
    }
  }
  // `--file=/et`, `if=/de`: the file name after the `=` (readline breaks words there too).
  const eq = /^[^'"\\$`]*=/.exec(raw);
  if (eq) return completeFiles(view, { ...ctx, start: ctx.start + eq[0].length }, code, cursor, end, 'files');
  return completeFiles(view, ctx, code, cursor, end, 'files');
}
