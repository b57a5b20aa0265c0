/**
 * The tutorial notebooks rerun identically (issue 5), and the handouts/rerun tooling judges
 * runs correctly. Needs the project's .venv (nbclient, nbconvert, ipykernel). The tutorial
 * reruns use this checkout's kernel (its kernelspec installed into a throwaway prefix) and
 * compare with the outputs committed in notebooks/ (written by `npm run handouts`). The
 * tooling tests use the python3 kernel (ipykernel) on notebooks made here.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { handouts, jupyterEnv, rerun } from '../../src/cli/handouts.js';
import { installKernelspec } from '../../src/cli/install.js';
import { jupyterPython } from '../../src/cli/python.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** The repository root (this file runs from dist/test/e2e). */
const root = [path.resolve(here, '../../..'), path.resolve(here, '../..')].find((d) => existsSync(path.join(d, 'package.json')))!;
const notebooksDir = path.join(root, 'notebooks');

/** The resource folder of a kernelspec as Jupyter finds it, or null. */
function findKernelspec(name: string, kernelspecDir?: string): string | null {
  const r = spawnSync(jupyterPython(), ['-c',
    'import sys\nfrom jupyter_client.kernelspec import KernelSpecManager\n'
    + 'try: print(KernelSpecManager().get_kernel_spec(sys.argv[1]).resource_dir)\nexcept Exception: sys.exit(1)', name],
  { env: jupyterEnv(kernelspecDir), encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

function collect(): { log: (l: string) => void; lines: string[]; text: () => string } {
  const lines: string[] = [];
  return { log: (l) => { lines.push(l); }, lines, text: () => lines.join('\n') };
}

describe('notebooks: the tutorial reruns the same, three times @slow', function () {
  this.timeout(10 * 60 * 1000);
  let prefix: string;

  // The kernelspec of this checkout, in a throwaway prefix (the user's own install is not used).
  before(async () => {
    prefix = await mkdtemp(path.join(tmpdir(), 'nslab-spec-'));
    installKernelspec({ prefix });
  });
  after(async () => { await rm(prefix, { recursive: true, force: true }); });

  it('every notebook in notebooks/ matches its committed outputs on 3 fresh runs, each under a minute', async () => {
    const kernelspecDir = path.join(prefix, 'share', 'jupyter');
    assert.ok(findKernelspec('nslab', kernelspecDir), `no nslab kernelspec in ${kernelspecDir}`);
    const out = collect();
    const code = await rerun({ notebooksDir, runs: 3, kernelspecDir, log: out.log });
    assert.equal(code, 0, out.text());
    assert.match(out.text(), /run 3\/3: [\d.]+ s, same as committed/);
  });

  it('checks still bite: one check broken in a copy of a notebook fails handouts and rerun, naming notebook, cell and check', async () => {
    const kernelspecDir = path.join(prefix, 'share', 'jupyter');
    const copyDir = await mkdtemp(path.join(tmpdir(), 'nslab-broken-'));
    try {
      const name = '08-time-namespace.ipynb';
      const nb = JSON.parse(await readFile(path.join(notebooksDir, name), 'utf8'));
      // One check in a raises-exception cell, the way an author might get it wrong.
      const index = nb.cells.findIndex((c: { metadata: { tags?: string[]; nslab?: { expect: object[] } } }) =>
        c.metadata.tags?.includes('raises-exception') && c.metadata.nslab?.expect.some((e) => 'output' in e));
      assert.ok(index > 0, 'a raises-exception cell with an output check');
      const cell = nb.cells[index];
      const k = cell.metadata.nslab.expect.findIndex((e: object) => 'output' in e);
      cell.metadata.nslab.expect[k] = { output: '/^this is never printed$/m' };
      await writeFile(path.join(copyDir, name), JSON.stringify(nb, null, 1));
      const firstLine = [cell.source].flat().join('').split('\n').find((l: string) => !l.startsWith('#|'));
      const expected = `cell ${index + 1} (id ${cell.id}): ${firstLine}: check {"output":"/^this is never printed$/m"}: the output does not show it`;

      const made = collect();
      assert.equal(await handouts({ notebooksDir: copyDir, outDir: path.join(copyDir, 'html'), updateNotebooks: false, kernelspecDir, log: made.log }), 1, made.text());
      assert.match(made.text(), new RegExp(`^handouts: \\S*${name.replace(/\./g, '\\.')}: FAILED`, 'm'));
      assert.ok(made.text().includes(`\n  ${expected}\n      --- output seen ---\n`), `handouts should say\n  ${expected}\nit said:\n${made.text()}`);
      assert.equal(made.text().match(/ check \{/g)?.length, 1, 'only the broken check fails');

      const again = collect();
      assert.equal(await rerun({ notebooksDir: copyDir, runs: 1, kernelspecDir, log: again.log }), 1, again.text());
      assert.match(again.text(), new RegExp(`^rerun: \\S*${name.replace(/\./g, '\\.')}: run 1/1: [\\d.]+ s, FAILED: 1 problem`, 'm'));
      assert.ok(again.text().includes(`\n  ${expected}\n`), `rerun should say\n  ${expected}\nit said:\n${again.text()}`);
    } finally {
      await rm(copyDir, { recursive: true, force: true });
    }
  });
});

/** Write a python3-kernel notebook whose code cells are `cells` ([source, tags?, checks?]). */
async function pyNotebook(dir: string, name: string, cells: [string, string[]?, unknown[]?][]): Promise<string> {
  const nb = {
    nbformat: 4, nbformat_minor: 5,
    metadata: { kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' } },
    cells: [
      { cell_type: 'markdown', id: 'intro', metadata: {}, source: '# テスト' },
      ...cells.map(([source, tags, expect], i) => ({
        cell_type: 'code', id: `c${i + 1}`, metadata: { ...(tags ? { tags } : {}), ...(expect ? { nslab: { expect } } : {}) }, source, outputs: [], execution_count: null,
      })),
    ],
  };
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, name);
  await writeFile(file, JSON.stringify(nb, null, 1) + '\n');
  return file;
}

describe('notebooks: handouts and rerun judge runs (python3 kernel) @slow', function () {
  this.timeout(2 * 60 * 1000);
  let work: string;

  before(function () {
    if (!findKernelspec('python3')) throw new Error('the python3 kernel (ipykernel) of the project .venv is needed: bash scripts/setup-python.sh');
  });
  beforeEach(async () => { work = await mkdtemp(path.join(tmpdir(), 'nslab-nbtest-')); });
  afterEach(async () => { await rm(work, { recursive: true, force: true }); });

  it('handouts: executes, writes HTML, writes outputs back; rerun then finds the runs the same', async () => {
    const nbDir = path.join(work, 'nb');
    const file = await pyNotebook(nbDir, 'good.ipynb', [
      ['import os, datetime\nprint(f"pid {os.getpid()} at {datetime.datetime.now():%H:%M:%S}")'],
      ['print("日本語の出力")'],
      ['raise ValueError("expected")', ['raises-exception']],
    ]);
    const out = collect();
    assert.equal(await handouts({ notebooksDir: nbDir, outDir: path.join(work, 'html'), updateNotebooks: true, log: out.log }), 0, out.text());
    const html = await readFile(path.join(work, 'html', 'good.html'), 'utf8');
    assert.match(html, /日本語の出力/);
    const nb = JSON.parse(await readFile(file, 'utf8'));
    assert.equal([nb.cells[2].outputs[0].text].flat().join(''), '日本語の出力\n');
    assert.equal(nb.cells[3].outputs[0].ename, 'ValueError');
    assert.match(out.text(), /3 cells ran in [\d.]+ s, 1 failed as tagged; 0 checks held/);

    const again = collect();
    assert.equal(await rerun({ notebooksDir: nbDir, runs: 2, log: again.log }), 0, again.text());
    assert.match(again.text(), /run 2\/2: [\d.]+ s, same as committed/);
  });

  it('rerun: a different output fails with a diff naming the notebook and the cell', async () => {
    const nbDir = path.join(work, 'nb');
    await pyNotebook(nbDir, 'random.ipynb', [['print("stable")'], ['import uuid\nprint(uuid.uuid4())']]);
    assert.equal(await handouts({ notebooksDir: nbDir, outDir: path.join(work, 'html'), updateNotebooks: true, log: () => {} }), 0);
    const out = collect();
    assert.equal(await rerun({ notebooksDir: nbDir, runs: 1, log: out.log }), 1);
    const text = out.text();
    assert.match(text, /run 1\/1: [\d.]+ s, FAILED: 1 cell\(s\) differ/);
    assert.match(text, /--- nb\S*random\.ipynb cell 3 \(id c2\): import uuid \(committed\)|--- .*random\.ipynb cell 3 \(id c2\): import uuid \(committed\)/);
    assert.match(text, /\+\+\+ .*random\.ipynb cell 3 \(id c2\): import uuid \(run 1\)/);
    assert.match(text, /^ {2}-[0-9a-f-]{36}$/m);
    assert.match(text, /^ {2}\+[0-9a-f-]{36}$/m);
  });

  it('rerun: a notebook never executed is reported, not passed', async () => {
    const nbDir = path.join(work, 'nb');
    await pyNotebook(nbDir, 'fresh.ipynb', [['print(1)']]);
    const out = collect();
    assert.equal(await rerun({ notebooksDir: nbDir, runs: 1, log: out.log }), 1);
    assert.match(out.text(), /has no committed outputs/);
  });

  it('handouts: a check that does not hold fails the run even in a raises-exception cell, naming the cell and the check', async () => {
    const nbDir = path.join(work, 'nb');
    await pyNotebook(nbDir, 'expect.ipynb', [
      ['print("hello")', undefined, [{ output: '/^hel+o$/m' }, { absent: 'No such process' }]],
      ['print("hello")\nraise ValueError("boom")', ['raises-exception'], [{ output: 'No such process' }]],
    ]);
    const out = collect();
    assert.equal(await handouts({ notebooksDir: nbDir, outDir: path.join(work, 'html'), updateNotebooks: true, log: out.log }), 1);
    assert.match(out.text(), /expect\.ipynb: FAILED/);
    assert.match(out.text(), /^ {2}cell 3 \(id c2\): print\("hello"\): check \{"output":"No such process"\}: the output does not show it\n {6}--- output seen ---\n {6}hello$/m);
    assert.doesNotMatch(out.text(), /cell 2 \(id c1\)/, 'the checks that hold are not reported');
    assert.ok(!existsSync(path.join(work, 'html', 'expect.html')), 'no handout for a failed run');
    const nb = JSON.parse(await readFile(path.join(nbDir, 'expect.ipynb'), 'utf8'));
    assert.equal(nb.cells[1].execution_count, null, 'a failed run is not written back');
  });

  it('handouts and rerun: badly written checks fail before anything runs', async () => {
    const nbDir = path.join(work, 'nb');
    await pyNotebook(nbDir, 'bad.ipynb', [['print(1)', undefined, [{ output: '/(/' }]]]);
    const out = collect();
    assert.equal(await handouts({ notebooksDir: nbDir, outDir: path.join(work, 'html'), updateNotebooks: false, log: out.log }), 1);
    assert.match(out.text(), /bad\.ipynb: FAILED before running: its checks are not well written\n {2}cell 2 \(id c1\): print\(1\): metadata\.nslab\.expect\[0\] \{"output":"\/\(\/"\}: invalid regular expression/);
    assert.doesNotMatch(out.text(), /executing/);
  });

  it('handouts: a raises-exception cell that did not fail is a stale tag', async () => {
    const nbDir = path.join(work, 'nb');
    await pyNotebook(nbDir, 'stale.ipynb', [['print("fine")', ['raises-exception']]]);
    const out = collect();
    assert.equal(await handouts({ notebooksDir: nbDir, outDir: path.join(work, 'html'), updateNotebooks: false, log: out.log }), 1);
    assert.match(out.text(), /cell 2 \(id c1\): print\("fine"\): tagged raises-exception but did not fail/);
  });

  it('handouts: an untagged error stops the run with the cell named; later cells do not run', async () => {
    const nbDir = path.join(work, 'nb');
    await pyNotebook(nbDir, 'error.ipynb', [['print(1)'], ['1/0'], ['print("never")']]);
    const out = collect();
    assert.equal(await handouts({ notebooksDir: nbDir, outDir: path.join(work, 'html'), updateNotebooks: false, log: out.log }), 1);
    assert.match(out.text(), /cell 3 \(id c2\): 1\/0: unexpected error ZeroDivisionError: division by zero/);
    assert.doesNotMatch(out.text(), /never/);
  });

  it('handouts: a cell over the timeout fails with the cell named', async () => {
    const nbDir = path.join(work, 'nb');
    await pyNotebook(nbDir, 'slow.ipynb', [['import time\ntime.sleep(30)']]);
    const out = collect();
    assert.equal(await handouts({ notebooksDir: nbDir, outDir: path.join(work, 'html'), updateNotebooks: false, cellTimeout: 2, log: out.log }), 1);
    assert.match(out.text(), /cell 2 \(id c1\): import time: timed out \(no result after 2 s\)/);
  });

  it('handouts: an unknown kernel is reported with how to install it', async () => {
    const nbDir = path.join(work, 'nb');
    const file = await pyNotebook(nbDir, 'nokernel.ipynb', [['print(1)']]);
    const nb = JSON.parse(await readFile(file, 'utf8'));
    nb.metadata.kernelspec.name = 'no-such-kernel-here';
    await writeFile(file, JSON.stringify(nb));
    const out = collect();
    assert.equal(await handouts({ notebooksDir: nbDir, outDir: path.join(work, 'html'), updateNotebooks: false, log: out.log }), 1);
    assert.match(out.text(), /the kernel did not start: NoSuchKernel: .*npm run install-kernel/);
  });
});

/**
 * The reruns as if today were another day (issue 15): libfaketime (Debian's `faketime`) makes
 * the programs that print the clock in the notebooks (`date`, `ps`, `uptime`, `ls`, `who`, `w`)
 * read a shifted one, so the committed outputs, made on one day, must compare equal on the first
 * and last day of a year, a leap day and a one-digit day. File times come from the kernel and
 * stay real, so `ls -l` shows its "old file" form with a year (all forms are covered one by one
 * in test/unit/normalize-dates.test.ts). The machine's clock is never changed.
 *
 * The library is preloaded by wrappers of those programs first on the lab's PATH, not into the
 * whole kernel: libfaketime 0.9.10 shares a semaphore among the processes it is preloaded into,
 * created by the first one with mode 0600, and a process that became another user (06's shell
 * as nobody) cannot open it and exits. Each wrapper's program gets a semaphore of its own.
 */
const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';
const CLOCK_READERS = ['date', 'ps', 'uptime', 'ls', 'who', 'w'];

/** A folder of wrappers that run each clock reader with libfaketime, under its own name. */
async function fakeClockPath(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true, mode: 0o755 });
  for (const name of CLOCK_READERS) {
    const real = spawnSync('bash', ['-c', `PATH=/usr/bin:/bin type -P ${name}`], { encoding: 'utf8' }).stdout.trim();
    if (!real) continue;
    // exec -a keeps the program's own name in ps's CMD column (`ps -ef`, not `/usr/bin/ps -ef`).
    await writeFile(path.join(dir, name), `#!/bin/bash\nLD_PRELOAD=${LIBFAKETIME} exec -a ${name} ${real} "$@"\n`, { mode: 0o755 });
  }
  return dir;
}

describe('notebooks: the tutorial reruns the same on other dates @slow', function () {
  this.timeout(10 * 60 * 1000);
  let prefix: string;
  let wrappers: string;

  before(async function () {
    if (!existsSync(LIBFAKETIME)) throw new Error(`${LIBFAKETIME} is missing: apt-get install faketime`);
    prefix = await mkdtemp(path.join(tmpdir(), 'nslab-spec-'));
    installKernelspec({ prefix });
    // Readable by the notebooks' other users (06 runs a shell as nobody).
    await chmod(prefix, 0o755);
    wrappers = await fakeClockPath(path.join(prefix, 'fake-clock'));
  });
  after(async () => { if (prefix) await rm(prefix, { recursive: true, force: true }); });

  for (const day of ['2027-01-01 00:00:05', '2028-02-29 12:00:00', '2027-09-09 09:09:09', '2027-12-31 23:58:00']) {
    it(`every notebook matches its committed outputs as if it were ${day}`, async () => {
      const offsetSeconds = Math.round((Date.parse(day.replace(' ', 'T') + 'Z') - Date.now()) / 1000);
      const env = {
        PATH: `${wrappers}:${process.env.PATH}`,
        // An offset from the real clock (as the `faketime` wrapper sets it): every process reads
        // one shifted clock that runs on, so differences between two processes' readings stay real.
        FAKETIME: `${offsetSeconds >= 0 ? '+' : ''}${offsetSeconds}`,
      };
      const probe = spawnSync('date', ['+%F'], { env: { ...process.env, ...env }, encoding: 'utf8' });
      assert.equal(probe.stdout.trim(), day.slice(0, 10), `the wrappers change what date reads (${probe.stderr})`);
      const out = collect();
      const code = await rerun({ notebooksDir, runs: 1, kernelspecDir: path.join(prefix, 'share', 'jupyter'), log: out.log, env });
      assert.equal(code, 0, out.text());
      assert.match(out.text(), /run 1\/1: [\d.]+ s, same as committed/);
    });
  }
});
