/**
 * Issue 5, "In a real frontend": the tutorial in Debian's classic Notebook (6.4, the Jupyter
 * frontend installable here; JupyterLab speaks the same protocol), served by a real
 * `jupyter-notebook` on loopback and driven in headless Chromium (Debian's /usr/bin/chromium via
 * playwright-core). The server gets a temp copy of notebooks/, this checkout's kernelspec in a
 * temp prefix (JUPYTER_PATH) and private Jupyter dirs, so nothing of the user's is read or written.
 *
 * What a learner does and sees: open the tutorial, wait for the nslab kernel, Cell → Run All,
 * and every output appears in its own cell (the notebook's own checks, in cell metadata, hold in the
 * page, the failing steps show their error); SGR colours are colours; a `read` raises an input
 * box that the learner answers. Kernels are shut down through the REST API and the server is
 * stopped by PID; nothing may survive. Screenshots go to artifacts/browser/ (gitignored).
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { cellChecks } from '../../src/cli/checks.js';
import { isExerciseCell } from '../../src/cli/exercises.js';
import {
  CHROMIUM, JUPYTER_NOTEBOOK, REPO, artifactsDir, formatProcs, installTempKernelspec, launchBrowser, makeTempDir, removeDir,
  processTree, requireSystemPrograms, screenshotStats, startNotebookServer, waitGone, type BrowserSession, type NotebookServer, type Proc,
} from '../helpers/browser.js';

const TUTORIAL = '01-pid-namespace.ipynb';
const KERNEL = { name: 'nslab', display: 'Namespace Lab (bash)' };

interface NbCell { cell_type: string; source: string | string[]; metadata: { tags?: string[]; [k: string]: unknown } }
const joined = (s: string | string[]): string => (Array.isArray(s) ? s.join('') : s);

/** A code-cell notebook for the contents API. */
function scratchNotebook(kernel: { name: string; display: string; language: string }, sources: string[]) {
  return {
    type: 'notebook',
    format: 'json',
    content: {
      nbformat: 4, nbformat_minor: 5,
      metadata: { kernelspec: { name: kernel.name, display_name: kernel.display, language: kernel.language } },
      cells: sources.map((source, i) => ({ cell_type: 'code', id: `c${i + 1}`, metadata: {}, execution_count: null, outputs: [], source })),
    },
  };
}

interface ShownCell {
  type: string;
  prompt: number | string | null;
  outputs: number;
  text: string;
  errorText: string;
  pictures: { boxes: number; width: number; texts: string[] }[];
}

/** Every cell as the page shows it: prompt number, output areas and their text, the error output. */
function shownCells(page: Page): Promise<ShownCell[]> {
  return page.evaluate(() => {
    const J = (window as any).Jupyter;
    return J.notebook.get_cells().map((c: any) => {
      const el = c.element[0] as HTMLElement;
      const out = el.querySelector('.output') as HTMLElement | null;
      return {
        type: c.cell_type,
        prompt: c.cell_type === 'code' ? (c.input_prompt_number ?? null) : null,
        outputs: el.querySelectorAll('.output_area').length,
        text: out ? out.innerText : '',
        errorText: [...el.querySelectorAll('.output_error')].map((e) => (e as HTMLElement).innerText).join('\n'),
        // nstree's picture, drawn inline: its namespace boxes and every text it shows.
        pictures: [...el.querySelectorAll('.output_svg svg')].map((svg) => ({
          boxes: svg.querySelectorAll('rect[rx="6"]').length,
          width: svg.getBoundingClientRect().width,
          texts: [...svg.querySelectorAll('text')].map((t) => t.textContent ?? ''),
        })),
      };
    });
  });
}

describe('classic Notebook: the tutorial in a real frontend, in headless Chromium @slow', function () {
  this.timeout(5 * 60 * 1000);
  const shots = artifactsDir('browser');
  let work: string | undefined;
  let server: NotebookServer | undefined;
  let session: BrowserSession | undefined;
  const pageErrors: string[] = [];

  /** Opens a notebook from the server and waits until its kernel is connected and idle. */
  async function openNotebook(path: string, kernel = KERNEL): Promise<Page> {
    const page = await session!.newPage();
    page.on('pageerror', (e) => pageErrors.push(`${path}: ${String(e)}`));
    page.on('dialog', (d) => { pageErrors.push(`${path}: unexpected dialog: ${d.message()}`); void d.dismiss(); });
    await page.goto(server!.notebookUrl(path), { waitUntil: 'domcontentloaded' });
    await page.waitForFunction(() => {
      const k = (window as any).Jupyter?.notebook?.kernel;
      return k?.is_connected?.() && document.querySelector('#kernel_indicator_icon')?.classList.contains('kernel_idle_icon');
    }, null, { timeout: 60_000, polling: 100 });
    assert.equal(await page.evaluate(() => (window as any).Jupyter.notebook.kernel.name), kernel.name, 'kernel name');
    assert.equal((await page.locator('.kernel_indicator_name').innerText()).trim(), kernel.display, 'kernel shown in the toolbar');
    return page;
  }

  /** Cell → Run All, through the menu; resolves when every code cell has run and the kernel is idle. */
  async function runAll(page: Page, timeoutMs = 90_000): Promise<number> {
    const started = Date.now();
    await page.locator('#celllink').click();
    await page.locator('#run_all_cells > a').click();
    // Run All marks every code cell `In [*]` at once; done is no `*` left and the kernel idle.
    await page.waitForFunction(() => {
      const J = (window as any).Jupyter;
      const busy = J.notebook.get_cells().some((c: any) => c.cell_type === 'code' && c.input_prompt_number === '*');
      return !busy && document.querySelector('#kernel_indicator_icon')?.classList.contains('kernel_idle_icon');
    }, null, { timeout: timeoutMs, polling: 100 });
    return Date.now() - started;
  }

  /** Forget the committed outputs: no output, `In [ ]` everywhere (so what shows later is this run's). */
  async function clearOutputs(page: Page): Promise<void> {
    await page.evaluate(() => {
      const J = (window as any).Jupyter;
      J.notebook.clear_all_output();
      for (const c of J.notebook.get_cells()) if (c.cell_type === 'code') c.set_input_prompt();
    });
    const cells = await shownCells(page);
    assert.ok(cells.every((c) => c.outputs === 0 && c.prompt === null), 'outputs cleared before the run');
  }

  before(async function () {
    requireSystemPrograms([CHROMIUM, JUPYTER_NOTEBOOK]);
    work = makeTempDir('nslab-browser-');
    const spec = installTempKernelspec(join(work, 'spec'));
    const notebookDir = join(work, 'notebooks');
    mkdirSync(notebookDir);
    for (const f of readdirSync(join(REPO, 'notebooks')).filter((n) => n.endsWith('.ipynb'))) {
      copyFileSync(join(REPO, 'notebooks', f), join(notebookDir, f));
    }
    server = await startNotebookServer({ notebookDir, env: spec.env });
    session = await launchBrowser({ viewport: { width: 1280, height: 900 } });
  });

  after(async function () {
    const left: Proc[] = [];
    if (session) left.push(...(await session.close()));
    const stopped = server ? await server.stop() : null;
    if (stopped) left.push(...stopped.leftovers);
    const log = server?.log() ?? '';
    removeDir(work);
    assert.deepEqual(left, [], `processes left running (now killed):\n${formatProcs(left)}\nserver log:\n${log}`);
    assert.deepEqual(stopped?.survivedKernelShutdown ?? [], [],
      `still running 5 s after the kernels were shut down through the API:\n${formatProcs(stopped?.survivedKernelShutdown ?? [])}`);
    assert.deepEqual(pageErrors, [], 'errors in the pages');
  });

  it('runs the whole tutorial with Cell → Run All, and each output appears in its own cell', async () => {
    const page = await openNotebook(TUTORIAL);
    try {
      const nb = JSON.parse(readFileSync(join(REPO, 'notebooks', TUTORIAL), 'utf8')) as { cells: NbCell[] };
      await clearOutputs(page);
      const ms = await runAll(page);
      console.log(`      (Run All took ${(ms / 1000).toFixed(1)} s)`);
      const cells = await shownCells(page);
      assert.equal(cells.length, nb.cells.length);
      const code = cells.map((c, i) => ({ ...c, index: i, src: joined(nb.cells[i].source), tags: nb.cells[i].metadata.tags ?? [] }))
        .filter((c) => c.type === 'code');
      assert.equal(code.filter((c) => !isExerciseCell(nb.cells[c.index])).length, 22, 'the tutorial\'s code cells (then the 演習)');
      // A fresh kernel ran every cell, in order (an aborted cell would have no number).
      assert.deepEqual(code.map((c) => c.prompt), code.map((_, i) => i + 1), 'execution counts');
      let checked = 0;
      for (const c of code) {
        const label = `cell In [${c.prompt}] "${c.src.split('\n').filter((l) => !l.startsWith('#|'))[0]}"`;
        const { checks } = cellChecks(nb.cells[c.index]);
        if (/^nstree$/m.test(c.src)) {
          // A picture: drawn as SVG, not text (its checks are judged on its text form by
          // `npm run handouts` / rerun).
          assert.equal(c.pictures.length, 1, `${label}: one picture`);
          assert.ok(c.pictures[0].boxes >= 1 && c.pictures[0].width > 300, `${label}: drawn: ${JSON.stringify(c.pictures[0]).slice(0, 200)}`);
          assert.ok(c.pictures[0].texts.some((t) => t.includes('★ nstree を実行したシェル')), `${label}: marks the calling shell`);
          assert.equal(c.errorText, '', `${label}: no error`);
          checked++;
          continue;
        }
        for (const m of checks) {
          if (m.kind === 'exit') continue;
          assert.equal(m.matches!(c.text), m.kind === 'output', `${label} should ${m.kind === 'output' ? '' : 'not '}show ${m.written}; it shows:\n${c.text}`);
          checked++;
        }
        const raises = c.tags.includes('raises-exception');
        assert.equal(c.errorText !== '', raises, `${label}: an error shows exactly in the raises-exception cells; error: ${c.errorText}`);
        if (raises) assert.match(c.errorText, /^ExitStatus: exit status \d+/, `${label}: its error`);
        assert.doesNotMatch(c.text, /[\x1b\x01\x02\uFFFD]|\]6973|\[[0-9;]*m/, `${label}: junk in the output`);
      }
      assert.ok(checked >= 25, `only ${checked} expectations checked`);
      const bySource = (re: RegExp) => code.find((c) => re.test(c.src))!;
      assert.equal(bySource(/^echo \$\$$/m).text.trim(), '2', 'the first `echo $$` shows 2');
      assert.match(bySource(/^ps -ef$/m).text, /^root +1 +0 .* tini -- bash$/m, 'the lab\'s ps -ef shows tini -- bash as PID 1');
      assert.match(bySource(/^kill "\$\(pgrep -x sleep\)"$/m).text, /No such process/);
      assert.match(bySource(/^ps$/m).text, /Error, do this: mount -t proc proc \/proc/);
      assert.equal(bySource(/^sleep 1000$/m).outputs, 0, 'the sleep left running in terminal 2 prints nothing');
      const pictures = code.filter((c) => /^nstree$/m.test(c.src)).map((c) => c.pictures[0]);
      assert.deepEqual(pictures.map((p) => p.boxes), [2, 2, 1], 'boxes: lab + new namespace, twice; then only the remounted one');
      assert.ok(pictures[1].texts.some((t) => t === 'sleep 1000'), 'the two-terminal picture shows terminal 2\'s sleep');
      const second = page.locator('.cell.code_cell').filter({ has: page.locator('.output_svg') }).nth(1);
      await second.scrollIntoViewIfNeeded();
      const picturePng = await second.screenshot({ path: join(shots, 'nstree.png') });
      const ps = await screenshotStats(session!, picturePng);
      assert.ok(ps.ink > 0.02 && ps.colours > 30, `nstree.png looks blank: ${JSON.stringify(ps)}`);
      assert.ok(await page.evaluate(() => (window as any).Jupyter.notebook.kernel.is_connected()), 'the kernel is still connected');

      // Screenshots: step 2's failing kill in context, and the whole run.
      const kill = page.locator('.cell.code_cell').filter({ hasText: 'No such process' }).first();
      await kill.scrollIntoViewIfNeeded();
      await page.locator('#notebook').evaluate((el) => el.scrollBy(0, 150));
      const png = await page.screenshot({ path: join(shots, 'tutorial-step2.png') });
      const s = await screenshotStats(session!, png);
      assert.ok(s.ink > 0.05 && s.colours > 30, `tutorial-step2.png looks blank: ${JSON.stringify(s)}`);
      // The classic page scrolls inside #notebook, not the body: a viewport as tall as the notebook shows it all.
      await page.locator('#notebook').evaluate((el) => el.scrollTo(0, 0));
      const height = await page.evaluate(() => document.querySelector('#header')!.getBoundingClientRect().height
        + document.querySelector('#notebook')!.scrollHeight);
      await page.setViewportSize({ width: 1280, height: Math.min(Math.ceil(height), 30_000) });
      await page.screenshot({ path: join(shots, 'tutorial-full.png') });
      await page.setViewportSize({ width: 1280, height: 900 });
    } finally {
      await page.close();
    }
  });

  it('shows SGR colours as colours (a scratch notebook made through the contents API)', async () => {
    await server!.api('PUT', 'api/contents/colours.ipynb', scratchNotebook({ ...KERNEL, language: 'bash' }, [
      "printf '\\e[31mred\\e[0m \\e[1;32mbold green\\e[0m \\e[38;5;208morange\\e[0m \\e[44mon blue\\e[0m\\n'\necho hello | grep --color=always ell",
      "printf '\\e]0;window title\\a\\e[?25lcursor\\e[?25h\\n'\necho 日本語の出力",
    ]));
    const page = await openNotebook('colours.ipynb');
    try {
      await runAll(page, 30_000);
      const cells = await shownCells(page);
      assert.deepEqual(cells.map((c) => c.text.trimEnd()), ['red bold green orange on blue\nhello', 'cursor\n日本語の出力']);
      const style = (text: string) => page.locator('.output_area span', { hasText: text }).first().evaluate((el) => {
        const cs = getComputedStyle(el);
        return { cls: el.className, color: cs.color, background: cs.backgroundColor, weight: cs.fontWeight };
      });
      const plain = await page.locator('.output_area pre').first().evaluate((el) => getComputedStyle(el).color);
      const rgb = (c: string) => (/rgba?\((\d+), (\d+), (\d+)/.exec(c) ?? []).slice(1).map(Number);
      const red = await style('red');
      assert.equal(red.cls, 'ansi-red-fg');
      const [r, g, b] = rgb(red.color);
      assert.ok(r > g + 60 && r > b + 60 && red.color !== plain, `"red" is drawn in ${red.color}`);
      const green = await style('bold green');
      assert.ok(rgb(green.color)[1] > rgb(green.color)[0] + 40 && Number(green.weight) >= 600, `"bold green": ${JSON.stringify(green)}`);
      assert.equal((await style('orange')).color, 'rgb(255, 135, 0)', '256-colour 208');
      const blue = rgb((await style('on blue')).background);
      assert.ok(blue[2] > blue[0] + 40, `"on blue" background: ${blue}`);
      assert.notEqual((await style('ell')).color, plain, 'the grep match is coloured');
      const png = await page.screenshot({ path: join(shots, 'colours.png') });
      const s = await screenshotStats(session!, png);
      assert.ok(s.ink > 0.02, `colours.png looks blank: ${JSON.stringify(s)}`);
    } finally {
      await page.close();
    }
  });

  it('raises an input box for `read`, and the answer typed there reaches the shell', async () => {
    await server!.api('PUT', 'api/contents/read.ipynb', scratchNotebook({ ...KERNEL, language: 'bash' }, [
      'read -p "名前: " name; echo "こんにちは $name"',
      'read -s -p "パスワード: " secret; echo; echo "${#secret} 文字を受け取りました"',
    ]));
    const page = await openNotebook('read.ipynb');
    try {
      await page.locator('#celllink').click();
      await page.locator('#run_all_cells > a').click();
      // The first cell waits for its answer in an input box in its output area.
      const box = page.locator('.cell').nth(0).locator('.output_area input.raw_input');
      await box.waitFor({ state: 'visible', timeout: 30_000 });
      assert.equal(await box.getAttribute('type'), 'text');
      assert.match(await page.locator('.cell').nth(0).locator('.raw_input_prompt').innerText(), /名前:/);
      await page.screenshot({ path: join(shots, 'read-input-box.png') });
      await box.click();
      await page.keyboard.type('花子');
      await page.keyboard.press('Enter');
      // The second asks for a password: a masked box, and the secret is never shown.
      const secret = page.locator('.cell').nth(1).locator('.output_area input.raw_input');
      await secret.waitFor({ state: 'visible', timeout: 30_000 });
      assert.equal(await secret.getAttribute('type'), 'password', 'read -s with a password prompt gets a masked box');
      await secret.fill('himitsu123');
      await secret.press('Enter');
      await page.waitForFunction(() => {
        const J = (window as any).Jupyter;
        return J.notebook.get_cells().every((c: any) => typeof c.input_prompt_number === 'number')
          && document.querySelector('#kernel_indicator_icon')?.classList.contains('kernel_idle_icon');
      }, null, { timeout: 30_000, polling: 100 });
      const cells = await shownCells(page);
      assert.deepEqual(cells.map((c) => c.prompt), [1, 2]);
      assert.match(cells[0].text, /^こんにちは 花子$/m, `the answer reached read; output:\n${cells[0].text}`);
      assert.match(cells[1].text, /^10 文字を受け取りました$/m, `the password reached read -s; output:\n${cells[1].text}`);
      assert.doesNotMatch(cells[1].text, /himitsu123/, 'the password is not shown');
      assert.equal(await page.locator('input.raw_input').count(), 0, 'no input box is left');
      assert.deepEqual(cells.map((c) => c.errorText), ['', '']);
      await page.screenshot({ path: join(shots, 'read-answered.png') });
    } finally {
      await page.close();
    }
  });

  it('interrupts a running cell (Kernel → Interrupt) and restarts into a fresh lab (Kernel → Restart)', async () => {
    await server!.api('PUT', 'api/contents/interrupt.ipynb', scratchNotebook({ ...KERNEL, language: 'bash' }, [
      'sleep 60; echo not reached',
      'echo $$; pgrep -x sleep || echo no sleep',
    ]));
    const page = await openNotebook('interrupt.ipynb');
    /** This notebook's kernel process (found by its connection file) and everything under it (its lab). */
    const kernelTree = async () => {
      const id: string = await page.evaluate(() => (window as any).Jupyter.notebook.kernel.id);
      const kernel = processTree(server!.pid).find((p) => p.cmd.includes(`kernel-${id}.json`));
      assert.ok(kernel, `no process for kernel ${id}`);
      return processTree(kernel.pid);
    };
    const runCell = async (index: number) => {
      await page.evaluate((i) => (window as any).Jupyter.notebook.select(i), index);
      await page.locator('button[data-jupyter-action="jupyter-notebook:run-cell-and-select-next"]').click();
    };
    const waitRan = (index: number, timeout: number) => page.waitForFunction((i) =>
      typeof (window as any).Jupyter.notebook.get_cell(i).input_prompt_number === 'number'
      && document.querySelector('#kernel_indicator_icon')?.classList.contains('kernel_idle_icon'), index, { timeout, polling: 100 });
    try {
      await runCell(0);
      // Interrupt once the sleep really runs in the lab.
      const deadline = Date.now() + 15_000;
      while (!(await kernelTree()).some((p) => p.cmd === 'sleep 60')) {
        assert.ok(Date.now() < deadline, 'sleep 60 never started in the lab');
        await new Promise((r) => setTimeout(r, 50));
      }
      const t0 = Date.now();
      await page.locator('#kernellink').click();
      await page.locator('#int_kernel > a').click();
      await waitRan(0, 15_000);
      const interruptMs = Date.now() - t0;
      let cells = await shownCells(page);
      assert.match(cells[0].errorText, /Interrupted/, `the interrupted cell says so; output: ${cells[0].text}`);
      assert.doesNotMatch(cells[0].text, /not reached/);
      await runCell(1);
      await waitRan(1, 15_000);
      cells = await shownCells(page);
      assert.equal(cells[1].text.trim(), '2\nno sleep', 'the same shell goes on after the interrupt, with no sleep left');

      const before = await kernelTree();
      assert.ok(before.some((p) => /^tini\b/.test(p.cmd)), `the kernel's lab (tini) is running:\n${formatProcs(before)}`);
      await page.locator('#kernellink').click();
      await page.locator('#restart_kernel > a').click();
      await page.locator('.modal-dialog button.btn-danger', { hasText: 'Restart' }).click();
      await page.waitForFunction(() => (window as any).Jupyter.notebook.kernel.is_connected()
        && document.querySelector('#kernel_indicator_icon')?.classList.contains('kernel_idle_icon'), null, { timeout: 60_000, polling: 100 });
      const survivors = await waitGone(before, 10_000);
      assert.deepEqual(survivors, [], `the old kernel and its lab survived the restart:\n${formatProcs(survivors)}`);
      await runCell(1);
      await waitRan(1, 15_000);
      cells = await shownCells(page);
      assert.equal(cells[1].prompt, 1, 'a fresh kernel counts from 1');
      assert.equal(cells[1].text.trim(), '2\nno sleep', 'the restarted kernel has a fresh lab');
      console.log(`      (interrupt took ${(interruptMs / 1000).toFixed(1)} s)`);
    } finally {
      await page.close();
    }
  });

  it('shows the `read` prompt once, as ipykernel shows input()\'s', async () => {
    // The reference: the same dialogue with Debian's ipykernel in the same frontend.
    const dialogue = async (path: string, kernel: { name: string; display: string; language: string }, source: string) => {
      await server!.api('PUT', `api/contents/${path}`, scratchNotebook(kernel, [source]));
      const page = await openNotebook(path, kernel);
      try {
        await page.locator('#celllink').click();
        await page.locator('#run_all_cells > a').click();
        const box = page.locator('.output_area input.raw_input');
        await box.waitFor({ state: 'visible', timeout: 30_000 });
        const whileAsking = (await shownCells(page))[0];
        await page.screenshot({ path: join(shots, `prompt-${kernel.name}.png`) });
        await box.fill('花子');
        await box.press('Enter');
        await page.waitForFunction(() => typeof (window as any).Jupyter.notebook.get_cell(0).input_prompt_number === 'number'
          && document.querySelector('#kernel_indicator_icon')?.classList.contains('kernel_idle_icon'), null, { timeout: 30_000, polling: 100 });
        return { whileAsking, after: (await shownCells(page))[0].text };
      } finally {
        await page.close();
      }
    };
    const py = await dialogue('prompt-python.ipynb', { name: 'python3', display: 'Python 3 (ipykernel)', language: 'python' },
      'name = input("名前: "); print("こんにちは", name)');
    const prompts = (text: string) => text.split('名前:').length - 1;
    assert.equal(prompts(py.whileAsking.text), 1, `ipykernel: the prompt shows once while it asks: ${JSON.stringify(py.whileAsking.text)}`);
    assert.equal(py.after, '名前: 花子\nこんにちは 花子\n', 'ipykernel: the prompt shows once, with the answer');
    const sh = await dialogue('prompt-nslab.ipynb', { ...KERNEL, language: 'bash' }, 'read -p "名前: " name; echo "こんにちは $name"');
    assert.equal(sh.after, py.after,
      'nslab: the prompt should show once, as with ipykernel. nslab publishes the prompt text as stdout and also sends it '
      + 'as the input_request prompt, so the frontend shows it twice');
    assert.equal(prompts(sh.whileAsking.text), 1, `nslab: the prompt should show once while it asks; shown: ${JSON.stringify(sh.whileAsking.text)}`);
  });
});
