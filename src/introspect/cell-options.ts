/**
 * Cell options (`#| name: value` in a cell's first lines) as completion and inspection see them:
 * their names and one line of help each. What they do is the kernel's (src/kernel/cell-options.ts).
 */

/** Help for each option (the names are the kernel's option names). */
export const CELL_OPTIONS: Record<string, string> = {
  terminal: 'terminal: N — run the cell in terminal N (1 = the lab\'s first shell; 2, 3, … are shells joined to the same lab, like docker exec).',
  wait: 'wait: false — type the cell and return at once; the command keeps running in its terminal.',
  timeout: 'timeout: S — interrupt the cell after S seconds.',
};

/** The cell option line (`#| name: value`, among the cell's first lines) that holds `pos`. */
export function cellOptionLine(code: string, pos: number): { name: string; nameStart: number } | null {
  const lineStart = code.lastIndexOf('\n', pos - 1) + 1;
  if (code.slice(0, lineStart).split('\n').slice(0, -1).some((l) => !/^\s*#\|/.test(l))) return null;
  const m = /^(\s*#\|\s*)([\w-]*)/.exec(code.slice(lineStart));
  return m ? { name: m[2], nameStart: lineStart + m[1].length } : null;
}

/** `#| na` with the cursor in the option's name: what to complete. */
export function cellOptionAt(code: string, cursor: number): { prefix: string; start: number; end: number } | null {
  const line = cellOptionLine(code, cursor);
  if (!line || cursor < line.nameStart || cursor > line.nameStart + line.name.length) return null;
  let end = line.nameStart + line.name.length;
  if (code[end] === ':') end++;
  if (code[end] === ' ') end++;
  return { prefix: code.slice(line.nameStart, cursor), start: line.nameStart, end };
}
