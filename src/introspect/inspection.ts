/**
 * Inspection (Shift+Tab): bash's `help` for builtins and keywords, a man page summary (NAME,
 * SYNOPSIS, the start of DESCRIPTION; translated pages when the terminal's locale asks for them)
 * or `--help`; on an option, that option's own entry; on a variable, its value; on a cell option,
 * its help.
 */
import { CELL_OPTIONS, cellOptionLine } from './cell-options.js';
import { BUILTINS, COMMAND_NAME, KEYWORDS, SHELL_VARIABLES, commandLine, resolveCommand } from './commands.js';
import { MAX_INTROSPECT_CHARS, requestCursor, unitsFromCodePoints } from './cursor.js';
import { HELP_ARGS, builtinHelp, commandDocs, manSummary, optionEntries, trimBlank } from './documentation.js';
import { scanContext, wordEnd } from './scanner.js';
import { aliases, findInPath, kernelView, type TerminalView } from './terminal-view.js';
import { cellFunctions, cellVariables, expandWord } from './words.js';

/**
 * Help for what is under (or just before) the cursor (`cursorPos`: the request's, in code points),
 * as plain text; null if none. `view`: the terminal whose point of view counts (else the kernel's).
 */
export async function inspect(code: string, cursorPos: unknown, view: TerminalView = kernelView()): Promise<string | null> {
  if (code.length > MAX_INTROSPECT_CHARS) return null;
  const at = unitsFromCodePoints(code, requestCursor(cursorPos, code));
  try {
    const text = await inspectAt(code, at, view);
    return text ? tidy(text) : null;
  } catch {
    return null;
  }
}

async function inspectAt(code: string, cursor: number, view: TerminalView): Promise<string | null> {
  const option = cellOptionLine(code, cursor);
  if (option) return CELL_OPTIONS[option.name] ? `#| ${CELL_OPTIONS[option.name]}` : null;

  const ctx = scanContext(code, cursor);
  if (ctx.kind === 'parameter' || ctx.kind === 'arithmetic') {
    const m = /^\$?\{?([A-Za-z_]\w*)/.exec(code.slice(ctx.start));
    return m ? variableHelp(m[1], view, code, cursor) : null;
  }
  if (ctx.kind !== 'word') return null;
  // The whole word under the cursor (when the cursor is at a word's start, that word).
  const raw = code.slice(ctx.start, wordEnd(code, cursor, ctx.quote));

  // $NAME / ${NAME} under the cursor.
  for (const m of raw.matchAll(/\$\{?([A-Za-z_]\w*)\}?/g)) {
    const a = ctx.start + m.index;
    if (cursor >= a && cursor <= a + m[0].length && ctx.quote !== 'single') return variableHelp(m[1], view, code, cursor);
  }

  const value = expandWord(raw, new Map(), null)?.value ?? null;
  if (raw === '') {
    // Between words: the command the last word belongs to.
    const { argv } = commandLine(ctx, { raw: '', value: '' });
    if (argv.length < 2) return null;
    const { index } = resolveCommand(argv.slice(0, -1), argv.length - 2);
    const command = argv[index];
    return command ? commandHelp(command, view, code, cursor) : null;
  }
  if (ctx.role === 'command') return value ? commandHelp(value, view, code, cursor) : null;
  if (ctx.role === 'assignment') {
    const m = /^([A-Za-z_]\w*)/.exec(raw);
    return m ? variableHelp(m[1], view, code, cursor) : null;
  }
  if (ctx.role !== 'argument') return null;
  const { argv } = commandLine(ctx, { raw, value });
  const { index, position } = resolveCommand(argv, argv.length - 1);
  if (position === 'command') return value ? commandHelp(value, view, code, cursor) : null;
  const command = argv[index];
  if (!command) return null;
  if (value?.startsWith('-') && value !== '-' && value !== '--') {
    const help = await optionHelp(command, value, view);
    if (help) return help;
  }
  // The argument of an option (`--propagation private`): that option's entry.
  const prev = argv[argv.length - 2];
  if (argv.length - 2 > index && prev?.startsWith('-') && !prev.includes('=')) {
    const docs = await commandDocs(command, view);
    const entry = docs && optionEntries(docs.options, prev)[0];
    if (entry?.takesArgument) return optionHelp(command, prev, view);
  }
  return commandHelp(command, view, code, cursor);
}

function variableHelp(name: string, view: TerminalView, code: string, cursor: number): string | null {
  const cell = cellVariables(code.slice(0, cursor));
  if (cell.has(name)) {
    const v = cell.get(name);
    return v === null || v === undefined ? `${name}: a variable set in this cell` : `${name}=${v}   (set in this cell)`;
  }
  const v = view.env.get(name);
  if (v !== undefined) return `${name}=${v.length > 2000 ? v.slice(0, 2000) + '…' : v}\n\n(exported to the terminal's shell when it started)`;
  if (SHELL_VARIABLES.includes(name)) return `${name}: a variable bash sets (see man bash, "Shell Variables")`;
  return null;
}

/** Tabs expanded, trailing blanks off, runs of blank lines cut to one. */
function tidy(text: string): string {
  return text
    .split('\n')
    .map((l) => expandTabs(l).replace(/\s+$/, ''))
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

function expandTabs(line: string): string {
  if (!line.includes('\t')) return line;
  let out = '';
  for (const ch of line) out += ch === '\t' ? ' '.repeat(8 - (out.length % 8)) : ch;
  return out;
}

async function commandHelp(name: string, view: TerminalView, code: string, cursor: number): Promise<string | null> {
  if (KEYWORDS.includes(name) || BUILTINS.includes(name)) {
    let help = (await builtinHelp(name)).trim();
    if (help) {
      const lines = help.split('\n');
      if (lines.length > 45) help = `${lines.slice(0, 40).join('\n')}\n    … (help ${name})`;
      const file = findInPath(view, name);
      return file ? `${help}\n\n(${name} is a shell ${KEYWORDS.includes(name) ? 'keyword' : 'builtin'}; there is also ${file}: see man ${name})` : help;
    }
  }
  const alias = aliases(view).get(name);
  if (alias !== undefined) return `${name}: an alias for \`${alias}\` (in ~/.bashrc)`;
  if (cellFunctions(code.slice(0, cursor)).includes(name)) return `${name}: a shell function defined in this cell`;
  if (!COMMAND_NAME.test(name)) return null;
  const file = findInPath(view, name);
  const docs = await commandDocs(name, view);
  if (docs?.source === 'man') {
    const summary = manSummary(docs.text);
    if (summary) return `${summary}\n\n(man ${name}${file ? `; ${file}` : ''})`;
  }
  if (docs?.source === 'help') {
    const lines = trimBlank(docs.text.split('\n'));
    return `${lines.slice(0, 40).join('\n')}${lines.length > 40 ? '\n…' : ''}\n\n(${name} ${(HELP_ARGS[name] ?? ['--help']).join(' ')}${file ? `; ${file}` : ''})`;
  }
  return file ? `${name}: ${file} (no manual page is installed for it)` : null;
}

async function optionHelp(command: string, option: string, view: TerminalView): Promise<string | null> {
  const docs = await commandDocs(command, view);
  if (!docs) return null;
  const entries = optionEntries(docs.options, option);
  if (!entries.length) return null;
  const source = docs.source === 'man' ? `man ${command}` : `${command} ${(HELP_ARGS[command] ?? ['--help']).join(' ')}`;
  return `${command} ${option}\n\n${entries.map((e) => e.lines.join('\n')).join('\n\n')}\n\n(${source})`;
}
