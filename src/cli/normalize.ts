/**
 * What may differ between two runs of a notebook, and nothing else (used by `nslab rerun`).
 *
 * Pure functions: text in, text out. The rule, in full:
 *
 * - **PIDs that are not the namespace's own small numbers.** A lab is a fresh PID namespace, so
 *   the PIDs a tutorial shows there are small and the same on every run (tini 1, bash 2, …).
 *   Numbers above {@link SMALL_PID_MAX} in a PID position are the outside world's (the host's,
 *   or a lab grown by something unexpected) and become `<pid>`. PID positions are: the PID-like
 *   columns of a `ps` table (PID, PPID, PGID, SID, TGID, TPGID, LWP, SPID), `kill: (N)`
 *   messages of bash and procps, job lines `[1] N`, bash's `line 3:  N Terminated …`, and
 *   `pid N` / `PID: N`.
 * - **Times and dates.** `HH:MM`, `HH:MM:SS(.fff)`, ISO dates, `date`'s weekday/month forms
 *   (also in Japanese: `2026年 11月  6日`, `日曜日`), ps's `Nov29` start dates, `ls -l`'s
 *   `Dec  6 13:41` and its old-file form `Dec  6  2025` (a one-digit day is padded with a
 *   blank, in Japanese `12月  6 13:41`), `date -R`'s `06 Dec 2026`. Where several of these
 *   stand together with the year, a time zone and the blanks between them (`Sun Dec  6
 *   13:41:32 UTC 2026`, `Dec  6  2025`, `2026-12-06 13:41`), the whole run becomes one
 *   `<datetime>`: how wide the day is, and whether `ls` shows a time or a year, depends on the
 *   date the notebook is run on.
 * - **What `ps` measures.** The columns C, %CPU, %MEM, VSZ, RSS, SZ, STIME, START, TIME,
 *   ELAPSED of a `ps` table, and the terminal number in `pts/N` (the host allocates it).
 *   In `ps` tables (header and rows) runs of blanks count as one, since column widths follow
 *   the widths of the values.
 * - **What `ping` measures.** Round-trip times (`time=0.045 ms`, the summary's
 *   `rtt min/avg/max/mdev = …` and `time 1001ms`); the packet counts stay exact.
 * - **System V IPC keys.** `ipcmk` picks a random key, shown as `0x…` first in `ipcs` rows and
 *   after `Key:`/`key` labels; the ids (`msqid 0`) stay exact.
 *
 * Everything else must match byte for byte.
 */

/** The largest PID still taken as the namespace's own; larger ones are normalised. */
export const SMALL_PID_MAX = 99;

export interface NormalizeOptions {
  /** Override {@link SMALL_PID_MAX}. */
  smallPidMax?: number;
}

const PID_COLUMNS = new Set(['PID', 'PPID', 'PGID', 'PGRP', 'SID', 'SESS', 'TGID', 'TPGID', 'LWP', 'SPID', 'TID']);
/** Columns whose values are measurements or clock readings: replaced whatever they say. */
const MEASURED_COLUMNS: Record<string, string> = {
  C: '<c>', '%CPU': '<cpu>', CP: '<cpu>', '%MEM': '<mem>', VSZ: '<vsz>', RSS: '<rss>', SZ: '<sz>',
  STIME: '<stime>', START: '<stime>', LSTART: '<stime>', TIME: '<time>', ELAPSED: '<elapsed>', ETIME: '<elapsed>',
};
/** Last columns of a ps header that hold a command line (which may contain blanks). */
const COMMAND_COLUMNS = new Set(['CMD', 'COMMAND', 'ARGS', 'COMM']);

const MONTH = '(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)';
const WEEKDAY = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)';

/** Normalise one cell's output text (see the module comment for the rule). */
export function normalizeText(text: string, opts: NormalizeOptions = {}): string {
  const max = opts.smallPidMax ?? SMALL_PID_MAX;
  const lines = text.split('\n');
  let table: PsHeader | null = null;
  for (let i = 0; i < lines.length; i++) {
    const header = parsePsHeader(lines[i]);
    if (header) {
      table = header;
      lines[i] = collapseBlanks(lines[i]);
      continue;
    }
    if (table) {
      const row = normalizePsRow(lines[i], table, max);
      if (row !== null) {
        lines[i] = row;
        continue;
      }
      table = null;
    }
    lines[i] = normalizeLine(lines[i], max);
  }
  return lines.join('\n');
}

interface PsHeader {
  columns: string[];
  /** Whether the last column is a command line (so a row may have more fields than columns). */
  commandLast: boolean;
}

/** A `ps` header: upper-case column names only, one of them a PID column. */
export function parsePsHeader(line: string): PsHeader | null {
  const columns = line.trim().split(/\s+/);
  if (columns.length < 2) return null;
  if (!columns.every((c) => /^[A-Z%]+$/.test(c))) return null;
  if (!columns.some((c) => PID_COLUMNS.has(c))) return null;
  return { columns, commandLast: COMMAND_COLUMNS.has(columns[columns.length - 1]) };
}

/** Normalise a row of a `ps` table, or return null if the line is not one (the table ended). */
function normalizePsRow(line: string, header: PsHeader, max: number): string | null {
  const { columns, commandLast } = header;
  const fixed = commandLast ? columns.length - 1 : columns.length;
  const fields: string[] = [];
  const re = /\S+/g;
  let m: RegExpExecArray | null;
  let restStart = line.length;
  while (fields.length < fixed && (m = re.exec(line)) !== null) {
    fields.push(m[0]);
    restStart = m.index + m[0].length;
  }
  if (fields.length < fixed) return null;
  const rest = line.slice(restStart).trim();
  if (commandLast ? rest === '' : rest !== '') return null;
  for (let c = 0; c < fixed; c++) {
    const name = columns[c];
    if (PID_COLUMNS.has(name)) {
      if (!/^-?\d+$/.test(fields[c])) return null;
      if (Number(fields[c]) > max) fields[c] = '<pid>';
    } else if (name in MEASURED_COLUMNS) {
      fields[c] = MEASURED_COLUMNS[name];
    } else if (name === 'TTY' || name === 'TT') {
      fields[c] = normalizeTty(fields[c]);
    }
  }
  const command = commandLast ? normalizeLine(rest, max) : '';
  return [...fields, ...(command ? [command] : [])].join(' ');
}

function normalizeTty(tty: string): string {
  return tty.replace(/^pts\/\d+$/, 'pts/<n>');
}

function collapseBlanks(line: string): string {
  return line.trim().replace(/[ \t]+/g, ' ');
}

/** Normalise a line outside `ps` tables: PIDs in known positions, times, dates, pts numbers. */
function normalizeLine(line: string, max: number): string {
  const pid = (n: string) => (Number(n) > max ? '<pid>' : n);
  let s = line;
  // bash: `bash: kill: (12345) - No such process`; procps: `kill: (12345): No such process`.
  s = s.replace(/(kill: \()(\d+)(\))/g, (_a, p: string, n: string, q: string) => p + pid(n) + q);
  // Job started in the background: `[1] 12345` (a pipeline lists several PIDs).
  s = s.replace(/^(\[\d+\]\+?)((?:\s+\d+)+)\s*$/, (_a, job: string, pids: string) =>
    job + pids.replace(/\d+/g, (n) => pid(n)));
  // bash reporting a job's end: `bash: line 3:  12345 Terminated  sleep 1000`.
  s = s.replace(/(line \d+:\s+)(\d+)(\s+(?:Done|Killed|Terminated|Hangup|Interrupt|Quit|Aborted|Stopped|Segmentation fault|Exit \d+))/g,
    (_a, p: string, n: string, q: string) => p + pid(n) + q);
  // `pid 12345`, `PID: 12345`, `pid=12345`.
  s = s.replace(/\b(pid[ =:#]\s*)(\d+)/gi, (_a, p: string, n: string) => p + pid(n));
  s = normalizeDates(s);
  s = s.replace(/\bpts\/\d+\b/g, 'pts/<n>');
  // ping: `time=0.045 ms`, `rtt min/avg/max/mdev = 0.031/0.040/0.050/0.009 ms`, `, time 1001ms`.
  s = s.replace(/\btime[=<]\d+(?:\.\d+)? ?ms\b/g, 'time=<ms> ms');
  s = s.replace(/\b(rtt|round-trip) (min\/avg\/max(?:\/mdev|\/stddev)?) = [\d./]+ ms\b/g, '$1 $2 = <ms> ms');
  s = s.replace(/(packets transmitted, .*), time \d+ ?ms\b/g, '$1, time <ms>ms');
  // System V IPC keys (random from ipcmk): first in an `ipcs` row, or after a key label.
  s = s.replace(/^0x[0-9a-f]{8}(?=\s+\d)/, '<ipc-key>');
  s = s.replace(/\b([Kk]ey[:=]?\s*)0x[0-9a-f]{8}\b/g, '$1<ipc-key>');
  return s;
}

/** Time zones that `date` and friends print beside a time (only these, so a file name is never taken for one). */
const ZONE = '(?:UTC|GMT|JST|KST|CST|CET|CEST|EET|EEST|WET|WEST|BST|IST|EST|EDT|CDT|MST|MDT|PST|PDT)';
/** A numeric zone: `+0000`, `+09:00` (whose `09:00` was already read as a time). */
const OFFSET = '[+-](?:\\d{4}|\\d{2}:\\d{2}|<time>)';
const DATE_TOKEN = '(?:<weekday>|<date>|<time>)';
/**
 * A run of date tokens with what stands between and beside them: blanks (ls pads a one-digit
 * day), a comma (`date -R`), ISO's `T`, a time zone, a year (`2025`, only next to a date or a
 * time). Built once.
 */
const DATE_RUN = new RegExp(
  `${DATE_TOKEN}(?:`
  + `(?:,? +|T)(?:${DATE_TOKEN}|${ZONE}\\b|${OFFSET}|(?:19|20)\\d{2}(?![\\d:]))`
  + `|(?<=<time>)(?:Z\\b|${OFFSET})`
  + `)+`, 'g');

/**
 * Dates and times in one line (see the module comment). Dates first (they may contain times),
 * then times, then runs of them into one `<datetime>`.
 */
function normalizeDates(line: string): string {
  let s = line;
  s = s.replace(/(?<!\d)\d{4}-\d{2}-\d{2}(?!\d)/g, '<date>');
  s = s.replace(/\d{4}年\s*\d{1,2}月\s*\d{1,2}日/g, '<date>');
  // ls -l in Japanese: `12月  6 13:41`, ` 1月  5  2025` (month and day, no 日).
  s = s.replace(/(?<!\d)\d{1,2}月 {1,2}\d{1,2}(?= +\d)/g, '<date>');
  s = s.replace(/[月火水木金土日]曜日/g, '<weekday>');
  s = s.replace(new RegExp(`\\b${WEEKDAY}\\b`, 'g'), '<weekday>');
  // `Dec 16`, `Dec  6` (ls, date, last), `Dec06` (ps), and `06 Dec` (date -R).
  s = s.replace(new RegExp(`\\b${MONTH} {0,2}\\d{1,2}\\b`, 'g'), '<date>');
  s = s.replace(new RegExp(`\\b\\d{1,2} ${MONTH}\\b`, 'g'), '<date>');
  s = s.replace(/(?<![\d:])\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?(?![\d:])/g, '<time>');
  s = s.replace(/(?<![\d:])\d{1,2}:\d{2}(?![\d:])/g, '<time>');
  s = s.replace(/(?<!\d)\d{1,2}時\d{1,2}分(?:\d{1,2}秒)?/g, '<time>');
  // A run's leading blanks beyond one go with it: ls pads month names to one width (` 9月`, `12月`).
  return s.replace(DATE_RUN, '<datetime>').replace(/ {2,}<datetime>/g, ' <datetime>');
}

/** One output of a notebook cell, as nbformat 4 stores it (only what is compared). */
export interface NbOutput {
  output_type: string;
  name?: string;
  text?: string | string[];
  data?: Record<string, unknown>;
  ename?: string;
  evalue?: string;
  traceback?: string[];
}

/** nbformat's multiline strings are a string or a list of strings. */
export function joinSource(s: string | string[] | undefined): string {
  return Array.isArray(s) ? s.join('') : s ?? '';
}

/**
 * A cell's outputs as one text to compare: consecutive stream chunks of the same stream are
 * joined (how the kernel happened to split its output is not part of the result), each
 * stream, error and rich output is introduced by a line in brackets, and everything is
 * normalised with {@link normalizeText}. Errors compare by ename and evalue (tracebacks are
 * the kernel's decoration); rich outputs by their mime types and their text forms.
 */
export function comparableOutputs(outputs: NbOutput[], opts: NormalizeOptions = {}): string {
  const parts: string[] = [];
  let i = 0;
  while (i < outputs.length) {
    const out = outputs[i];
    if (out.output_type === 'stream') {
      let text = '';
      const name = out.name ?? 'stdout';
      while (i < outputs.length && outputs[i].output_type === 'stream' && (outputs[i].name ?? 'stdout') === name) {
        text += joinSource(outputs[i].text);
        i++;
      }
      parts.push(`[${name}]\n` + normalizeText(text, opts));
      continue;
    }
    if (out.output_type === 'error') {
      parts.push(`[error] ${out.ename ?? ''}: ${normalizeText(out.evalue ?? '', opts)}`);
    } else if (out.output_type === 'execute_result' || out.output_type === 'display_data') {
      const data = out.data ?? {};
      const mimes = Object.keys(data).sort();
      parts.push(`[${out.output_type}] ${mimes.join(' ')}`);
      for (const mime of mimes) {
        if (mime.startsWith('text/') || mime.endsWith('+xml') || mime.endsWith('json')) {
          const value = data[mime];
          const text = typeof value === 'string' || Array.isArray(value) ? joinSource(value as string | string[]) : JSON.stringify(value);
          parts.push(`[${mime}]\n` + normalizeText(text, opts));
        }
      }
    } else {
      parts.push(`[${out.output_type}]`);
    }
    i++;
  }
  return parts.join('\n');
}

/**
 * A unified diff of two texts, line by line ('' when they are equal), with `context` lines
 * around each change. Lines are compared exactly; the texts are small (one cell's output).
 */
export function unifiedDiff(a: string, b: string, labels: { a: string; b: string }, context = 3): string {
  if (a === b) return '';
  const x = a.split('\n');
  const y = b.split('\n');
  const ops = diffLines(x, y);
  const out: string[] = [`--- ${labels.a}`, `+++ ${labels.b}`];
  // Group the edit script into hunks with `context` lines of equal text around changes.
  let k = 0;
  while (k < ops.length) {
    while (k < ops.length && ops[k].op === ' ') k++;
    if (k >= ops.length) break;
    let start = Math.max(0, k - context);
    while (start > 0 && ops[start - 1].op !== ' ') start--;
    let end = k;
    // Extend while the next change is within 2*context equal lines.
    for (;;) {
      while (end < ops.length && ops[end].op !== ' ') end++;
      let eq = end;
      while (eq < ops.length && ops[eq].op === ' ') eq++;
      if (eq < ops.length && eq - end <= 2 * context) { end = eq; continue; }
      end = Math.min(ops.length, end + context);
      break;
    }
    const hunk = ops.slice(start, end);
    const aStart = hunk[0].ai;
    const bStart = hunk[0].bi;
    const aLen = hunk.filter((o) => o.op !== '+').length;
    const bLen = hunk.filter((o) => o.op !== '-').length;
    out.push(`@@ -${aLen ? aStart + 1 : aStart},${aLen} +${bLen ? bStart + 1 : bStart},${bLen} @@`);
    for (const o of hunk) out.push(o.op + o.line);
    k = end;
  }
  return out.join('\n') + '\n';
}

interface DiffOp { op: ' ' | '-' | '+'; line: string; ai: number; bi: number }

/** Longest-common-subsequence edit script (quadratic; fine for a cell's output). */
function diffLines(x: string[], y: string[]): DiffOp[] {
  const n = x.length;
  const m = y.length;
  if (n * m > 4_000_000) {
    // Too big to align: show all of a removed and all of b added.
    return [...x.map((line, i) => ({ op: '-' as const, line, ai: i, bi: 0 })), ...y.map((line, j) => ({ op: '+' as const, line, ai: n, bi: j }))];
  }
  const lcs: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i][j] = x[i] === y[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  const ops: DiffOp[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && x[i] === y[j]) { ops.push({ op: ' ', line: x[i], ai: i, bi: j }); i++; j++; }
    else if (i < n && (j >= m || lcs[i + 1][j] >= lcs[i][j + 1])) { ops.push({ op: '-', line: x[i], ai: i, bi: j }); i++; }
    else { ops.push({ op: '+', line: y[j], ai: i, bi: j }); j++; }
  }
  return ops;
}
