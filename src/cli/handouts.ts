/**
 * `nslab handouts` and `nslab rerun`: run the tutorial notebooks for real, from a fresh kernel
 * each time, through nbclient / nbconvert 7 of the project's Jupyter stack (src/cli/python.ts).
 *
 * - handouts: execute every `notebooks/*.ipynb`, check the run (no unexpected error, every
 *   cell check holds (src/cli/checks.ts), no stale `raises-exception` tag), write an HTML handout
 *   of it and an A4 PDF of that (src/cli/pdf.ts), and optionally write the executed notebook back
 *   so that the committed notebook holds a real run.
 * - rerun: execute every notebook N times and compare each run's outputs with the committed
 *   ones after normalising what legitimately varies (src/cli/normalize.ts).
 *
 * Execution itself is `scripts/execute_notebook.py` (nbclient, errors not allowed, per-cell
 * timeout); this module only drives it and judges its results.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cellChecks, clip, countChecks, exitStatus, failedChecks, seenOutput } from './checks.js';
import { writeStudentView } from './exercises.js';
import { comparableOutputs, joinSource, unifiedDiff } from './normalize.js';
import { PdfPrinter } from './pdf.js';
import { jupyterPython, jupyterScript } from './python.js';
import { runProcess } from '../common/processes.js';
import type { NbOutput, NormalizeOptions } from './normalize.js';

/** Environment variable naming a folder that holds `kernels/nslab/kernel.json`. */
export const KERNELSPEC_DIR_ENV = 'NSLAB_KERNELSPEC_DIR';

export interface CommonOptions {
  notebooksDir: string;
  /** Only these notebooks (file names, with or without `.ipynb`); all when absent or empty. */
  notebooks?: string[];
  /** Per-cell timeout in seconds (nbclient's), default 60. */
  cellTimeout?: number;
  /** A folder with `kernels/<name>/kernel.json`, put first on JUPYTER_PATH; default $NSLAB_KERNELSPEC_DIR. */
  kernelspecDir?: string;
  /** Where progress lines go; default stdout. */
  log?: (line: string) => void;
  /** Variables added to the environment of the notebook runner, and so of the kernel and its lab. */
  env?: NodeJS.ProcessEnv;
}

export interface HandoutsOptions extends CommonOptions {
  /** Where the HTML handouts go (created if needed). */
  outDir: string;
  /** Write each executed notebook back over its source in notebooksDir. */
  updateNotebooks: boolean;
  /** The teacher's version: the 演習 with their solutions and checks as run; default the student's (empty answer cells). */
  answers?: boolean;
  /** Also print each handout to an A4 PDF with headless Chromium (src/cli/pdf.ts); default true. */
  pdf?: boolean;
}

export interface RerunOptions extends CommonOptions, NormalizeOptions {
  /** How many runs of each notebook, each from a fresh kernel (default 3). */
  runs: number;
  /** A run that takes longer than this many seconds fails (default 60). */
  maxSeconds?: number;
}

/** The parts of an nbformat-4 notebook this module reads. */
export interface Notebook {
  cells: NbCell[];
  metadata: { kernelspec?: { name?: string }; [k: string]: unknown };
  [k: string]: unknown;
}
export interface NbCell {
  cell_type: string;
  id?: string;
  source: string | string[];
  metadata: { tags?: string[]; [k: string]: unknown };
  outputs?: NbOutput[];
  execution_count?: number | null;
}

/** What scripts/execute_notebook.py reports. */
export interface ExecutionReport {
  cells: { index: number; status: string; ename: string | null; evalue: string | null }[];
  failure: null | {
    kind: 'error' | 'timeout' | 'dead-kernel' | 'startup';
    index: number | null;
    ename: string;
    evalue: string;
    message: string;
  };
}

/** `cell 12 (id kill-fails): kill "$(pgrep -x sleep)"` — 1-based over all cells, first line that is not a cell option. */
export function cellLabel(nb: Notebook, index: number): string {
  const cell = nb.cells[index];
  if (!cell) return `cell ${index + 1}`;
  const lines = joinSource(cell.source).split('\n');
  const first = lines.find((l) => l.trim() !== '' && !l.startsWith('#|')) ?? lines[0] ?? '';
  const id = cell.id ? ` (id ${cell.id})` : '';
  return `cell ${index + 1}${id}: ${first.length > 80 ? first.slice(0, 77) + '...' : first}`;
}

function isTagged(cell: NbCell, tag: string): boolean {
  return Array.isArray(cell.metadata?.tags) && cell.metadata.tags.includes(tag);
}

/** What is wrong with how the checks of a notebook are written, each naming its cell ([] when nothing). */
export function checkErrors(nb: Notebook): string[] {
  const problems: string[] = [];
  nb.cells.forEach((cell, index) => {
    for (const e of cellChecks(cell).errors) problems.push(`${cellLabel(nb, index)}: ${e}`);
  });
  return problems;
}

/**
 * Judge an executed notebook (pure). Returns the problems found, each naming its cell:
 * the run stopped (an error in a cell not tagged `raises-exception`, a timeout, a dead kernel,
 * no kernel); a cell check (metadata.nslab.expect, src/cli/checks.ts) did not hold, also in a
 * `raises-exception` cell; a `raises-exception` cell that ran and did not fail (a stale tag).
 */
export function checkExecuted(nb: Notebook, report: ExecutionReport): string[] {
  const problems: string[] = [];
  const f = report.failure;
  if (f) {
    const where = f.index === null ? 'before the first cell' : cellLabel(nb, f.index);
    if (f.kind === 'startup') {
      const hint = f.ename === 'NoSuchKernel'
        ? ` (install it with \`npm run install-kernel\`, or set ${KERNELSPEC_DIR_ENV} to a folder holding kernels/<name>/kernel.json)`
        : '';
      problems.push(`the kernel did not start: ${f.ename}: ${f.evalue}${hint}`);
    } else if (f.kind === 'timeout') {
      problems.push(`${where}: timed out (${f.evalue})`);
    } else if (f.kind === 'dead-kernel') {
      problems.push(`${where}: the kernel died`);
    } else {
      problems.push(`${where}: unexpected error ${f.ename}: ${firstLine(f.evalue)}`);
    }
  }
  const statusOf = new Map(report.cells.map((c) => [c.index, c]));
  nb.cells.forEach((cell, index) => {
    if (cell.cell_type !== 'code') return;
    const ran = statusOf.get(index);
    if (ran) {
      const { checks, errors } = cellChecks(cell);
      for (const e of errors) problems.push(`${cellLabel(nb, index)}: ${e}`);
      const seen = seenOutput(cell.outputs ?? []);
      const failed = failedChecks(checks, seen, exitStatus(ran));
      // One problem per failed check; the output seen follows the cell's last one.
      failed.forEach((msg, n) => {
        const seenPart = n === failed.length - 1 ? `\n--- output seen ---\n${clip(seen)}` : '';
        problems.push(`${cellLabel(nb, index)}: ${indentRest(msg + seenPart)}`);
      });
    }
    if (isTagged(cell, 'raises-exception') && ran && ran.status === 'ok') {
      problems.push(`${cellLabel(nb, index)}: tagged raises-exception but did not fail (a stale tag, or the step no longer shows what the text says)`);
    }
    if (!isTagged(cell, 'raises-exception') && ran && ran.status !== 'ok' && !(f && f.index === index)) {
      problems.push(`${cellLabel(nb, index)}: unexpected error ${ran.ename}: ${firstLine(ran.evalue ?? '')}`);
    }
  });
  return problems;
}

/** Continuation lines of a multi-line message, indented under the problem's first line. */
function indentRest(s: string): string {
  return s.trimEnd().split('\n').join('\n      ');
}

function firstLine(s: string): string {
  const line = s.split('\n').find((l) => l.trim() !== '') ?? '';
  return line.length > 200 ? line.slice(0, 197) + '...' : line;
}

/** The repository root: the folder that holds scripts/execute_notebook.py, found upwards from this module. */
function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(path.join(dir, 'scripts', 'execute_notebook.py'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error('cannot find scripts/execute_notebook.py above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}

/** The environment for Jupyter children: the kernelspec folder first on JUPYTER_PATH. */
export function jupyterEnv(kernelspecDir: string | undefined, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env = { ...base };
  const dir = kernelspecDir ?? base[KERNELSPEC_DIR_ENV];
  if (dir) env.JUPYTER_PATH = [path.resolve(dir), ...(base.JUPYTER_PATH ? [base.JUPYTER_PATH] : [])].join(path.delimiter);
  // ipykernel's debugger chatter ("frozen modules") is noise in our error reports.
  env.PYDEVD_DISABLE_FILE_VALIDATION ??= '1';
  return env;
}

/**
 * A Jupyter program (the notebook runner, nbconvert), all its output kept; in nslab's process
 * group, so that Ctrl-C at the terminal stops it too. Rejects when it cannot start.
 */
async function runJupyter(file: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ code: number | null; stderr: string }> {
  const r = await runProcess(file, args, { env, timeoutMs, maxBytes: Infinity, ownGroup: false });
  if (r.error) throw r.error;
  return { code: r.status, stderr: r.stderr + (r.timedOut ? `\n(killed after ${Math.round(timeoutMs / 1000)} s)\n` : '') };
}

function tail(s: string, lines = 15): string {
  const all = s.trimEnd().split('\n');
  return all.slice(-lines).map((l) => '    ' + l).join('\n');
}

interface Execution {
  /** The executed notebook's path (in a temp folder), or null if no kernel ran. */
  executedPath: string | null;
  nb: Notebook | null;
  report: ExecutionReport;
  seconds: number;
  stderr: string;
}

/** Execute one notebook from a fresh kernel into `workDir` (same file name). */
async function executeNotebook(source: string, workDir: string, opts: CommonOptions): Promise<Execution> {
  const name = path.basename(source);
  const executedPath = path.join(workDir, name);
  const reportPath = path.join(workDir, name + '.report.json');
  const timeout = opts.cellTimeout ?? 60;
  const script = path.join(repoRoot(), 'scripts', 'execute_notebook.py');
  const started = process.hrtime.bigint();
  const res = await runJupyter(jupyterPython(), [script, source, executedPath, '--report', reportPath,
    '--timeout', String(timeout), '--cwd', path.dirname(path.resolve(source))],
  { ...jupyterEnv(opts.kernelspecDir), ...opts.env }, 20 * 60 * 1000);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  let report: ExecutionReport;
  try {
    report = JSON.parse(await readFile(reportPath, 'utf8')) as ExecutionReport;
  } catch {
    report = { cells: [], failure: { kind: 'startup', index: null, ename: 'ExecutionFailed',
      evalue: `${jupyterPython()} ${path.relative(process.cwd(), script)} exited with ${res.code} and no report`, message: res.stderr } };
  }
  const nb = existsSync(executedPath) ? (JSON.parse(await readFile(executedPath, 'utf8')) as Notebook) : null;
  return { executedPath: nb ? executedPath : null, nb, report, seconds, stderr: res.stderr };
}

/** The notebooks to run: `*.ipynb` directly in the folder, sorted, optionally filtered. */
async function listNotebooks(opts: CommonOptions): Promise<string[]> {
  const names = (await readdir(opts.notebooksDir)).filter((f) => f.endsWith('.ipynb') && !f.startsWith('.')).sort();
  const wanted = (opts.notebooks ?? []).map((n) => (n.endsWith('.ipynb') ? path.basename(n) : path.basename(n) + '.ipynb'));
  const chosen = wanted.length ? names.filter((n) => wanted.includes(n)) : names;
  for (const w of wanted) if (!names.includes(w)) throw new Error(`no notebook ${w} in ${opts.notebooksDir}`);
  return chosen.map((n) => path.join(opts.notebooksDir, n));
}

/** Problems of an execution, or [] when it is clean. */
function judge(exec: Execution, source: Notebook): string[] {
  const problems = checkExecuted(exec.nb ?? source, exec.report);
  if (problems.length && exec.report.failure && exec.report.failure.kind !== 'error' && exec.stderr.trim()) {
    problems.push('nbclient said:\n' + tail(exec.stderr));
  }
  return problems;
}

/** A path relative to the working directory when it is inside it, else absolute. */
function displayPath(p: string): string {
  const rel = path.relative(process.cwd(), p);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : path.resolve(p);
}

function fmtSeconds(s: number): string {
  return `${s.toFixed(1)} s`;
}

/**
 * The HTML handout of a notebook as it is (nothing is executed): nbconvert 7 with
 * scripts/handout.html.j2 (JupyterLab's template, plus the pictures' alt text and print CSS),
 * written to outDir under the notebook's name.
 */
export async function writeHtmlHandout(ipynb: string, outDir: string, kernelspecDir?: string, name = path.basename(ipynb, '.ipynb')): Promise<{ ok: boolean; html: string; code: number | null; stderr: string }> {
  const html = path.join(outDir, name + '.html');
  const conv = await runJupyter(jupyterScript('jupyter'), ['nbconvert', '--to', 'html', '--template-file', path.join(repoRoot(), 'scripts', 'handout.html.j2'),
    '--output-dir', path.resolve(outDir), '--output', name, ipynb], jupyterEnv(kernelspecDir), 5 * 60 * 1000);
  return { ok: conv.code === 0 && existsSync(html), html, code: conv.code, stderr: conv.stderr };
}

/**
 * Execute every notebook from a fresh kernel, check it, write its HTML handout into outDir,
 * and with updateNotebooks write the executed notebook back. Returns the process exit code.
 */
export async function handouts(opts: HandoutsOptions): Promise<number> {
  const log = logOf(opts);
  let printer: PdfPrinter | null = null;
  const result = await eachNotebook(opts, {
    command: 'handouts',
    failuresPerNotebook: 1,
    start: async () => {
      await mkdir(opts.outDir, { recursive: true });
      printer = opts.pdf === false ? null : new PdfPrinter();
    },
    finish: async () => {
      await printer?.close();
    },
    run: async (file, rel, source, work) => {
      log(`handouts: ${rel}: executing with a fresh ${source.metadata.kernelspec?.name ?? '?'} kernel...`);
      const exec = await executeNotebook(file, work, opts);
      const problems = judge(exec, source);
      if (problems.length || !exec.executedPath) {
        log(`handouts: ${rel}: FAILED after ${fmtSeconds(exec.seconds)}`);
        for (const p of problems) log(`  ${p}`);
        return 1;
      }
      const cells = exec.report.cells.length;
      const expected = exec.report.cells.filter((c) => c.status !== 'ok').length;
      const checks = countChecks(exec.report.cells.map((c) => source.cells[c.index]));
      log(`handouts: ${rel}: ${cells} cells ran in ${fmtSeconds(exec.seconds)}, ${expected} failed as tagged; ${checks} checks held`);
      // The handout shows the 演習 as a student gets them, unless --answers (the teacher's version).
      const shown = opts.answers ? exec.executedPath : writeStudentView(exec.executedPath);
      const conv = await writeHtmlHandout(shown, opts.outDir, opts.kernelspecDir, path.basename(file, '.ipynb'));
      const html = conv.html;
      if (!conv.ok) {
        log(`handouts: ${rel}: nbconvert --to html FAILED (exit ${conv.code}):\n${tail(conv.stderr)}`);
        return 1;
      }
      log(`handouts: ${rel} -> ${displayPath(html)}`);
      if (printer) {
        const pdf = html.replace(/\.html$/, '.pdf');
        const title = typeof source.metadata.title === 'string' ? source.metadata.title : path.basename(file, '.ipynb');
        try {
          const printed = await printer.print(html, pdf, title);
          log(`handouts: ${rel} -> ${displayPath(pdf)} (A4, ${printed.pages} pages)`);
        } catch (err) {
          log(`handouts: ${rel}: the PDF FAILED: ${(err as Error).message.split('\n')[0]}`);
          return 1;
        }
      }
      if (opts.updateNotebooks) {
        await writeFile(file, await readFile(exec.executedPath, 'utf8'));
        log(`handouts: ${rel}: outputs of this run written back to the notebook`);
      }
      return 0;
    },
  });
  if (!result) return 1;
  const { notebooks, failed } = result;
  log(failed ? `handouts: ${failed} of ${notebooks} notebooks FAILED` : `handouts: ${notebooks} notebooks OK`);
  return failed ? 1 : 0;
}

function logOf(opts: CommonOptions): (line: string) => void {
  return opts.log ?? ((l: string) => process.stdout.write(l + '\n'));
}

/** What `handouts` and `rerun` do with each notebook, for `eachNotebook`. */
interface NotebookLoop {
  command: 'handouts' | 'rerun';
  /** How many failures a notebook counts for when it is not run at all. */
  failuresPerNotebook: number;
  /** Once there are notebooks, before the first. */
  start?(): Promise<void>;
  /** At the end, also after an exception. */
  finish?(): Promise<void>;
  /** Why `source` cannot be run at all (besides badly written checks), or null when it can. */
  notRunnable?(source: Notebook): string | null;
  /** Run one notebook whose checks are well written, in its own `work` folder; returns its failures. */
  run(file: string, rel: string, source: Notebook, work: string): Promise<number>;
}

/**
 * The loop both commands share: the chosen notebooks one by one, each read and its checks'
 * writing checked before anything runs, in a temp folder removed at the end. Returns how many
 * notebooks there were and the failures counted, or null (said) when there are none.
 */
async function eachNotebook(opts: CommonOptions, loop: NotebookLoop): Promise<{ notebooks: number; failed: number } | null> {
  const log = logOf(opts);
  const notebooks = await listNotebooks(opts);
  if (notebooks.length === 0) {
    log(`${loop.command}: no notebooks in ${opts.notebooksDir}`);
    return null;
  }
  let failed = 0;
  let work: string | null = null;
  try {
    await loop.start?.();
    work = await mkdtemp(path.join(tmpdir(), `nslab-${loop.command}-`));
    for (const file of notebooks) {
      const rel = displayPath(file);
      const source = JSON.parse(await readFile(file, 'utf8')) as Notebook;
      const why = loop.notRunnable?.(source);
      if (why) {
        log(`${loop.command}: ${rel}: ${why}`);
        failed += loop.failuresPerNotebook;
        continue;
      }
      const badChecks = checkErrors(source);
      if (badChecks.length) {
        log(`${loop.command}: ${rel}: FAILED before running: its checks are not well written`);
        for (const p of badChecks) log(`  ${p}`);
        failed += loop.failuresPerNotebook;
        continue;
      }
      failed += await loop.run(file, rel, source, work);
    }
  } finally {
    await loop.finish?.();
    if (work) await rm(work, { recursive: true, force: true });
  }
  return { notebooks: notebooks.length, failed };
}

/** The code cells' outputs of a notebook, as comparable texts (index → text). */
function comparableCells(nb: Notebook, opts: NormalizeOptions): Map<number, string> {
  const m = new Map<number, string>();
  nb.cells.forEach((c, i) => { if (c.cell_type === 'code') m.set(i, comparableOutputs(c.outputs ?? [], opts)); });
  return m;
}

/**
 * Compare an executed notebook's outputs with the committed one's, cell by cell, after
 * normalisation. Returns one unified diff per differing cell ([] when all match).
 */
export function compareRuns(committed: Notebook, run: Notebook, labels: { notebook: string; run: string }, opts: NormalizeOptions = {}): string[] {
  const diffs: string[] = [];
  if (committed.cells.length !== run.cells.length) {
    return [`${labels.notebook}: ${committed.cells.length} cells committed, ${run.cells.length} in ${labels.run}`];
  }
  const a = comparableCells(committed, opts);
  const b = comparableCells(run, opts);
  for (const [index, text] of a) {
    const d = unifiedDiff(text, b.get(index) ?? '', {
      a: `${labels.notebook} ${cellLabel(committed, index)} (committed)`,
      b: `${labels.notebook} ${cellLabel(committed, index)} (${labels.run})`,
    });
    if (d) diffs.push(d);
  }
  return diffs;
}

/**
 * Run every notebook `runs` times, each from a fresh kernel, and compare each run with the
 * committed outputs. Reports each run's wall time. Returns the process exit code.
 */
export async function rerun(opts: RerunOptions): Promise<number> {
  const log = logOf(opts);
  const runs = opts.runs > 0 ? opts.runs : 3;
  const maxSeconds = opts.maxSeconds ?? 60;
  const result = await eachNotebook(opts, {
    command: 'rerun',
    failuresPerNotebook: runs,
    notRunnable: (committed) => committed.cells.some((c) => c.cell_type === 'code' && typeof c.execution_count === 'number')
      ? null
      : 'has no committed outputs to compare with; run `npm run handouts` first (it writes each run\'s outputs back into the notebook)',
    run: async (file, rel, committed, work) => {
      let failedRuns = 0;
      for (let r = 1; r <= runs; r++) {
        const dir = path.join(work, `${path.basename(file, '.ipynb')}-run${r}`);
        await mkdir(dir);
        const exec = await executeNotebook(file, dir, opts);
        const problems = judge(exec, committed);
        if (!problems.length && exec.seconds > maxSeconds) problems.push(`took ${fmtSeconds(exec.seconds)}, over the limit of ${maxSeconds} s`);
        const diffs = exec.nb && !exec.report.failure ? compareRuns(committed, exec.nb, { notebook: rel, run: `run ${r}` }, opts) : [];
        if (problems.length || diffs.length) {
          failedRuns++;
          const what = [problems.length ? `${problems.length} problem(s)` : '', diffs.length ? `${diffs.length} cell(s) differ` : ''].filter(Boolean).join(', ');
          log(`rerun: ${rel}: run ${r}/${runs}: ${fmtSeconds(exec.seconds)}, FAILED: ${what}`);
          for (const p of problems) log(`  ${p}`);
          for (const d of diffs) log(d.trimEnd().split('\n').map((l) => '  ' + l).join('\n'));
        } else {
          log(`rerun: ${rel}: run ${r}/${runs}: ${fmtSeconds(exec.seconds)}, same as committed`);
        }
      }
      return failedRuns;
    },
  });
  if (!result) return 1;
  const total = result.notebooks * runs;
  log(result.failed ? `rerun: ${result.failed} of ${total} runs FAILED` : `rerun: ${total} runs of ${result.notebooks} notebooks, all the same as committed`);
  return result.failed ? 1 : 0;
}
