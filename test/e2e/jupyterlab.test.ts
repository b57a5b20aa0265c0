/**
 * Issue 16, point 3: the learner's whole path in JupyterLab 4 (the project's pinned .venv),
 * served on loopback and driven in headless Chromium (Debian's /usr/bin/chromium through
 * playwright-core; helpers in test/helpers/jupyterlab.ts). The server gets a temp copy of
 * notebooks/ (trusted, as `npm run lab` trusts them), this checkout's kernelspec in a temp prefix
 * and private Jupyter dirs and HOME, so nothing of the user's is read or written.
 *
 * What a learner does and sees: Restart-and-Run-All of every notebook (outputs in their cells,
 * errors only where tagged, nstree pictures drawn, colours as colours, Japanese in a CJK font);
 * `read` and `read -s` answered in the input box; interrupts from the toolbar and the Kernel
 * menu, also of a namespace's PID 1; restart into a fresh lab; Tab completion and Shift+Tab help
 * in a nested namespace shell; terminal 2 and `wait: false` cells; Kernel → Shut Down. Nothing may
 * survive; no error from nslab may show in the browser console or the server log.
 * Screenshots: docs/screenshots/jupyterlab-*.png (committed), the rest in artifacts/jupyterlab/.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { cellChecks } from '../../src/cli/checks.js';
import {
  CHROMIUM, REPO, SYSTEM_JUPYTER, artifactsDir, formatProcs, freePort, installTempKernelspec, launchBrowser, makeTempDir, platformFonts,
  processTree, removeDir, requireSystemPrograms, screenshotStats, waitGone, type BrowserSession, type Proc,
} from '../helpers/browser.js';
import { isAlive, killAll, readProc } from '../helpers/processes.js';
import {
  JUPYTER_LAB, answerInput, inputBox, interrupt, joinedSource, kernelId, menu, acceptDialog, modelCells, openCompleter, openInspector,
  openNotebook, outputText, restartAndRunAll, restartKernel, runCell, saveNotebook, savedCells, scratchNotebook, scrollToCell,
  startJupyterServer, waitCellRan, waitKernelIdle, type JupyterServer, type ModelCell,
} from '../helpers/jupyterlab.js';

const DOCS_SHOTS = join(REPO, 'docs', 'screenshots');
const NOTEBOOKS = readdirSync(join(REPO, 'notebooks')).filter((n) => n.endsWith('.ipynb')).sort();

/** Text a cell shows for the expectations: its stream output and its pictures' text form. */
function shownText(cell: ModelCell): string {
  let text = outputText(cell).text;
  for (const o of cell.outputs ?? []) {
    const plain = o.data?.['text/plain'];
    if (o.output_type === 'display_data' && plain !== undefined) text += Array.isArray(plain) ? plain.join('') : typeof plain === 'string' ? plain : JSON.stringify(plain);
  }
  return text;
}

describe('JupyterLab 4: the learner\'s path in headless Chromium @slow', function () {
  this.timeout(15 * 60 * 1000);
  const shots = artifactsDir('jupyterlab');
  let work: string | undefined;
  let server: JupyterServer | undefined;
  let session: BrowserSession | undefined;
  const consoleErrors: string[] = [];
  const runAllTimes: { notebook: string; cells: number; ms: number }[] = [];

  async function newPage(): Promise<Page> {
    const page = await session!.newPage();
    page.on('pageerror', (e) => consoleErrors.push(`pageerror: ${String(e)}`));
    page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(`console: ${m.text()}`); });
    page.on('dialog', (d) => { consoleErrors.push(`unexpected dialog: ${d.message()}`); void d.dismiss(); });
    return page;
  }

  /** The kernel process of the page's notebook (found by its connection file) and everything under it (its lab). */
  async function kernelTree(page: Page): Promise<Proc[]> {
    const id = await kernelId(page);
    const kernel = processTree(server!.pid).find((p) => id && p.cmd.includes(`kernel-${id}.json`));
    assert.ok(kernel, `no process for kernel ${id}`);
    return processTree(kernel.pid);
  }

  /** Shuts the page's kernel down through the API (so the next notebook does not run beside it) and closes the page. */
  async function closeNotebook(page: Page): Promise<void> {
    const id = await kernelId(page).catch(() => null);
    await page.close();
    if (id) await server!.api('DELETE', `api/kernels/${id}`).catch(() => undefined);
  }

  before(async function () {
    requireSystemPrograms([CHROMIUM, JUPYTER_LAB]);
    work = makeTempDir('nslab-jupyterlab-');
    const spec = installTempKernelspec(join(work, 'spec'));
    const notebookDir = join(work, 'notebooks');
    mkdirSync(notebookDir);
    for (const f of NOTEBOOKS) copyFileSync(join(REPO, 'notebooks', f), join(notebookDir, f));
    // As `npm run lab` does: the shipped notebooks are trusted, so their pictures show on open.
    const trust = spawnSync(SYSTEM_JUPYTER, ['trust', ...NOTEBOOKS], { cwd: notebookDir, env: spec.env, encoding: 'utf8', timeout: 60_000 });
    assert.equal(trust.status, 0, `jupyter trust: ${trust.stdout}${trust.stderr}`);
    server = await startJupyterServer({ rootDir: notebookDir, env: spec.env });
    session = await launchBrowser({ viewport: { width: 1280, height: 900 } });
  });

  after(async function () {
    const left: Proc[] = [];
    if (session) left.push(...(await session.close()));
    const stopped = server ? await server.stop() : null;
    if (stopped) left.push(...stopped.leftovers);
    const log = server?.log() ?? '';
    removeDir(work);
    if (runAllTimes.length) {
      console.log('      Restart-and-Run-All in JupyterLab (click on Restart → every cell numbered, kernel idle):');
      for (const t of runAllTimes) console.log(`        ${t.notebook.padEnd(28)} ${String(t.cells).padStart(3)} code cells  ${(t.ms / 1000).toFixed(1).padStart(5)} s`);
    }
    if (consoleErrors.length) console.log(`      browser console errors (none may come from nslab):\n        ${consoleErrors.join('\n        ')}`);
    assert.deepEqual(left, [], `processes left running (now killed):\n${formatProcs(left)}\nserver log:\n${log}`);
    assert.deepEqual(stopped?.survivedKernelShutdown ?? [], [],
      `still running 5 s after the kernels were shut down through the API:\n${formatProcs(stopped?.survivedKernelShutdown ?? [])}`);
    // From nslab: the kernel's own log lines (src/log.ts), a traceback naming it, its kernelspec or logo failing to load.
    const fromNslab = /\[nslab (ERROR|WARN)|nslab.*Traceback|kernelspecs\/nslab|Namespace Lab/;
    assert.deepEqual(consoleErrors.filter((e) => fromNslab.test(e)), [], 'browser console errors from nslab');
    assert.deepEqual(log.split('\n').filter((l) => /\[nslab (ERROR|WARN)/.test(l) || (/^\[E /.test(l) && /nslab/i.test(l))), [],
      'server log errors from nslab');
  });

  for (const notebook of NOTEBOOKS) {
    it(`Restart-and-Run-All of ${notebook}: every output in its cell, errors only where tagged`, async () => {
      const source = JSON.parse(readFileSync(join(REPO, 'notebooks', notebook), 'utf8')) as { cells: ModelCell[] };
      const page = await newPage();
      try {
        await openNotebook(page, server!, notebook);
        const ms = await restartAndRunAll(page);
        const code = source.cells.filter((c) => c.cell_type === 'code').length;
        runAllTimes.push({ notebook, cells: code, ms });
        // What the learner would save: read back through the contents API.
        await saveNotebook(page);
        const saved = await savedCells(server!, notebook);
        assert.equal(saved.length, source.cells.length, 'cells');
        const codeCells = saved.map((c, i) => ({ c, i })).filter(({ c }) => c.cell_type === 'code');
        assert.deepEqual(codeCells.map(({ c }) => c.execution_count), codeCells.map((_, n) => n + 1), 'a fresh kernel ran every cell, in order');
        let expectations = 0;
        for (const { c, i } of codeCells) {
          const src = joinedSource(c.source);
          const label = `${notebook} cell ${i} [${c.execution_count}] "${src.split('\n').filter((l) => !l.startsWith('#|'))[0]}"`;
          const { text, error } = outputText(c);
          const raises = (c.metadata.tags ?? []).includes('raises-exception');
          assert.equal(error !== '', raises, `${label}: an error shows exactly in the raises-exception cells; error: ${error}; output:\n${text}`);
          if (raises) assert.match(error, /^ExitStatus: exit status \d+/, `${label}: its error`);
          const shown = shownText(c);
          // The notebook's own checks (metadata.nslab.expect), on what JupyterLab shows.
          for (const check of cellChecks({ cell_type: 'code', metadata: c.metadata }).checks) {
            if (!check.matches) continue;
            assert.equal(check.matches(shown), check.kind === 'output', `${label}: check ${check.written}:\n${shown}`);
            expectations++;
          }
          // Colours (SGR) are kept for the frontend to draw; any other escape or marker is junk.
          assert.doesNotMatch(text.replace(/\x1b\[[0-9;]*m/g, ''), /[\x1b\x01\x02\uFFFD]|\]6973/, `${label}: junk in the output`);
        }
        // What is drawn: every cell with output scrolled into view (JupyterLab draws only the visible ones).
        let pictures = 0;
        for (const { c, i } of codeCells) {
          if (!(c.outputs ?? []).length) continue;
          const cell = await scrollToCell(page, i);
          const drawn = await cell.evaluate((el) => ({
            prompt: el.querySelector('.jp-InputPrompt')?.textContent ?? '',
            outputs: el.querySelectorAll('.jp-OutputArea-output').length,
            svgs: [...el.querySelectorAll('.jp-RenderedSVG img')].map((img) => ({
              width: (img as HTMLImageElement).naturalWidth, shownWidth: img.getBoundingClientRect().width, complete: (img as HTMLImageElement).complete,
              // How far it reaches past the output area's right edge (JupyterLab does not shrink an SVG output).
              overflow: img.getBoundingClientRect().right - (img.closest('.jp-OutputArea-output') ?? img).getBoundingClientRect().right,
              src: (img as HTMLImageElement).src,
            })),
            errorClass: [...el.querySelectorAll('[data-mime-type="application/vnd.jupyter.stderr"] span')].map((s) => s.className),
            colourSpans: el.querySelectorAll('[data-mime-type="application/vnd.jupyter.stdout"] span[class*="ansi-"]').length,
            drawnText: [...el.querySelectorAll('[data-mime-type="application/vnd.jupyter.stdout"]')].map((o) => (o as HTMLElement).innerText).join(''),
          }));
          assert.equal(drawn.prompt, `[${c.execution_count}]:`, `cell ${i}: its prompt`);
          assert.equal(drawn.outputs, (c.outputs ?? []).length, `cell ${i}: every output drawn`);
          const svgOutputs = (c.outputs ?? []).filter((o) => o.data?.['image/svg+xml'] !== undefined).length;
          assert.equal(drawn.svgs.length, svgOutputs, `cell ${i}: the pictures are drawn as SVG`);
          for (const svg of drawn.svgs) {
            assert.ok(svg.complete && svg.width > 300 && svg.shownWidth > 300, `cell ${i}: picture drawn: ${JSON.stringify({ ...svg, src: svg.src.slice(0, 40) })}`);
            // At its own size, within the output area at 1280 px (issue 17: it was 890 px wide and cut).
            assert.ok(svg.shownWidth === svg.width && svg.overflow <= 0, `cell ${i}: picture fits at its size: ${JSON.stringify({ ...svg, src: undefined })}`);
            const xml = decodeURIComponent(svg.src.replace(/^data:image\/svg\+xml[^,]*,/, ''));
            assert.match(xml, /★ nstree を実行したシェル|nstree/, `cell ${i}: the picture is nstree's`);
            pictures++;
          }
          // Colours in the output are drawn as colours, never as escape codes.
          if (/\x1b\[[0-9;]*m/.test(outputText(c).text)) assert.ok(drawn.colourSpans > 0, `cell ${i}: its colours are drawn`);
          assert.doesNotMatch(drawn.drawnText, /\x1b|\[[0-9;]*m/, `cell ${i}: escape codes drawn as text`);
          // The error line's name is coloured (SGR red from the kernel's traceback), not raw escapes.
          if (outputText(c).error) assert.ok(drawn.errorClass.includes('ansi-red-fg'), `cell ${i}: ExitStatus drawn in red: ${drawn.errorClass}`);
        }
        const nstreeCells = codeCells.filter(({ c }) => /^nstree\b/m.test(joinedSource(c.source))).length;
        assert.ok(pictures >= nstreeCells, `${pictures} pictures drawn for ${nstreeCells} nstree cells`);
        // Japanese is drawn in a CJK font: the first heading of the notebook.
        await scrollToCell(page, 0);
        const fonts = await platformFonts(page, '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell[data-windowed-list-index="0"] h1');
        assert.ok(fonts.some((f) => /CJK|Noto Sans JP|Noto Serif JP/i.test(f.familyName) && f.glyphCount > 0), `the title's Japanese glyphs: ${JSON.stringify(fonts)}`);
        console.log(`      (${(ms / 1000).toFixed(1)} s for ${code} code cells; ${expectations} expectations, ${pictures} pictures)`);

        if (notebook === '01-pid-namespace.ipynb') {
          // The two-terminal step's picture, for the README.
          const index = codeCells.filter(({ c }) => /^nstree\b/m.test(joinedSource(c.source)))[1].i;
          const cell = await scrollToCell(page, index);
          await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
          await cell.evaluate((el) => el.scrollIntoView({ block: 'center' }));
          const png = await page.screenshot({ path: join(DOCS_SHOTS, 'jupyterlab-pid-notebook.png') });
          const s = await screenshotStats(session!, png);
          assert.ok(s.ink > 0.05 && s.colours > 30, `jupyterlab-pid-notebook.png looks blank: ${JSON.stringify(s)}`);
        }
      } finally {
        await closeNotebook(page);
      }
    });
  }

  it('shows SGR colours as colours and Japanese output in a CJK font', async () => {
    await server!.api('PUT', 'api/contents/colours.ipynb', scratchNotebook([
      "printf '\\e[31mred\\e[0m \\e[1;32mbold green\\e[0m \\e[38;5;208morange\\e[0m \\e[44mon blue\\e[0m\\n'\necho hello | grep --color=always ell",
      "printf '\\e]0;window title\\a\\e[?25lcursor\\e[?25h\\n'\necho 日本語の出力",
    ]));
    const page = await newPage();
    try {
      await openNotebook(page, server!, 'colours.ipynb');
      await restartAndRunAll(page, 60_000);
      const cells = await modelCells(page);
      assert.deepEqual(cells.map((c) => outputText(c).text.replace(/\x1b\[[0-9;]*m/g, '').trimEnd()), ['red bold green orange on blue\nhello', 'cursor\n日本語の出力']);
      const out = page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output');
      const style = (text: string) => out.locator('span', { hasText: text }).first().evaluate((el) => {
        const cs = getComputedStyle(el);
        return { cls: el.className, color: cs.color, background: cs.backgroundColor, weight: cs.fontWeight };
      });
      const plain = await out.locator('pre').first().evaluate((el) => getComputedStyle(el).color);
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
      const fonts = await platformFonts(page, '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell[data-windowed-list-index="1"] .jp-OutputArea-output pre');
      assert.ok(fonts.some((f) => /CJK|JP/i.test(f.familyName) && f.glyphCount >= 6), `日本語の出力 drawn in: ${JSON.stringify(fonts)}`);
      const png = await page.screenshot({ path: join(shots, 'colours.png') });
      const s = await screenshotStats(session!, png);
      assert.ok(s.ink > 0.02, `colours.png looks blank: ${JSON.stringify(s)}`);
    } finally {
      await closeNotebook(page);
    }
  });

  it('asks for `read` and `read -s` in the input box; the answers reach the shell and the prompt shows once', async () => {
    await server!.api('PUT', 'api/contents/read.ipynb', scratchNotebook([
      'read -p "名前: " name; echo "こんにちは $name"',
      'read -s -p "パスワード: " secret; echo; echo "${#secret} 文字を受け取りました"',
    ]));
    const page = await newPage();
    try {
      await openNotebook(page, server!, 'read.ipynb');
      await waitKernelIdle(page);
      await menu(page, 'Run', 'Run All Cells');
      // While it asks: the prompt is shown once, in the input box's label (not also as output).
      await inputBox(page, 0).waitFor({ state: 'visible', timeout: 30_000 });
      const asking = await page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell[data-windowed-list-index="0"] .jp-OutputArea').innerText();
      assert.equal(asking.split('名前:').length - 1, 1, `the prompt shows once while it asks: ${JSON.stringify(asking)}`);
      await page.screenshot({ path: join(shots, 'read-input-box.png') });
      const first = await answerInput(page, 0, '花子');
      assert.match(first.prompt, /名前:/);
      assert.notEqual(first.type, 'password', 'a plain read gets a plain box');
      const second = await answerInput(page, 1, 'himitsu123');
      assert.match(second.prompt, /パスワード:/);
      assert.equal(second.type, 'password', 'read -s with a password prompt gets a masked box');
      await waitCellRan(page, 1);
      const cells = await modelCells(page);
      assert.deepEqual(cells.map((c) => c.execution_count), [1, 2]);
      assert.match(outputText(cells[0]).text, /^こんにちは 花子$/m, 'the answer reached read');
      assert.match(outputText(cells[1]).text, /^10 文字を受け取りました$/m, 'the password reached read -s');
      const shown = (await page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea').allInnerTexts()).join('\n');
      assert.doesNotMatch(shown, /himitsu123/, 'the password is not shown');
      assert.equal(shown.split('名前:').length - 1, 1, `the prompt shows once after the answer:\n${shown}`);
      assert.equal(shown.split('パスワード:').length - 1, 1, 'the password prompt shows once');
      assert.deepEqual(cells.map((c) => outputText(c).error), ['', '']);
      await page.screenshot({ path: join(shots, 'read-answered.png') });
    } finally {
      await closeNotebook(page);
    }
  });

  it('interrupts from the toolbar and from the Kernel menu (also a namespace\'s PID 1); a restart gives a fresh lab', async () => {
    await server!.api('PUT', 'api/contents/interrupt.ipynb', scratchNotebook([
      'sleep 100; echo not reached',
      'unshare --pid --fork --mount-proc sleep 100',
      'echo $$; pgrep -x sleep || echo no sleep',
    ]));
    const page = await newPage();
    try {
      await openNotebook(page, server!, 'interrupt.ipynb');
      const interruptCell = async (index: number, from: 'toolbar' | 'menu') => {
        await runCell(page, index);
        const deadline = Date.now() + 15_000;
        while (!(await kernelTree(page)).some((p) => p.cmd === 'sleep 100')) {
          assert.ok(Date.now() < deadline, 'sleep 100 never started in the lab');
          await new Promise((r) => setTimeout(r, 50));
        }
        const t0 = Date.now();
        await interrupt(page, from);
        const cell = await waitCellRan(page, index, 15_000);
        return { cell, ms: Date.now() - t0 };
      };
      const toolbar = await interruptCell(0, 'toolbar');
      assert.match(outputText(toolbar.cell).error, /^Interrupted/, `toolbar interrupt: ${JSON.stringify(toolbar.cell.outputs)}`);
      assert.doesNotMatch(outputText(toolbar.cell).text, /not reached/);
      const pid1 = await interruptCell(1, 'menu');
      assert.match(outputText(pid1.cell).error, /^Interrupted/, `menu interrupt of PID 1: ${JSON.stringify(pid1.cell.outputs)}`);
      console.log(`      (interrupt: toolbar ${toolbar.ms} ms, Kernel menu of a namespace's PID 1 ${pid1.ms} ms, click → cell done)`);
      await runCell(page, 2);
      let cell = await waitCellRan(page, 2);
      assert.equal(outputText(cell).text.trim(), '2\nno sleep', 'the same shell goes on after the interrupts, with no sleep left');

      const before = await kernelTree(page);
      assert.ok(before.some((p) => /^tini\b/.test(p.cmd)), `the kernel's lab (tini) is running:\n${formatProcs(before)}`);
      await runCell(page, 0); // a sleep running in the old lab when the restart comes
      await restartKernel(page);
      const survivors = await waitGone(before, 10_000);
      assert.deepEqual(survivors, [], `the old kernel and its lab survived the restart:\n${formatProcs(survivors)}`);
      await runCell(page, 2);
      cell = await waitCellRan(page, 2);
      assert.equal(cell.execution_count, 1, 'a fresh kernel counts from 1');
      assert.equal(outputText(cell).text.trim(), '2\nno sleep', 'the restarted kernel has a fresh lab: echo $$ is 2');
    } finally {
      await closeNotebook(page);
    }
  });

  it('completes files of a nested namespace shell after `cd /etc` and options with Tab; Shift+Tab shows help', async () => {
    await server!.api('PUT', 'api/contents/complete.ipynb', scratchNotebook([
      'unshare --pid --fork --mount-proc bash\ncd /etc\necho $$',
      'ls pa',
      'unshare --mo',
      'unshare',
    ]));
    const page = await newPage();
    try {
      await openNotebook(page, server!, 'complete.ipynb');
      await runCell(page, 0);
      assert.equal(outputText(await waitCellRan(page, 0)).text.trim(), '1', 'the nested shell runs');
      const files = await openCompleter(page, 1);
      assert.ok(['pam.d', 'passwd'].every((f) => files.some((x) => x.replace(/\/$/, '') === f)), `files of /etc in the popup: ${files}`);
      assert.ok(!files.some((f) => /^(hostname|hosts|passwd\.txt)$/.test(f)), `no other files: ${files}`);
      await page.screenshot({ path: join(DOCS_SHOTS, 'jupyterlab-completion.png') });
      await page.keyboard.press('Escape');
      const options = await openCompleter(page, 2);
      assert.ok(['--mount', '--mount-proc', '--monotonic'].every((o) => options.some((x) => x === o || x.startsWith(`${o}=`))), `options in the popup: ${options}`);
      await page.screenshot({ path: join(shots, 'completion-options.png') });
      await page.keyboard.press('Escape');
      const help = await openInspector(page, 3);
      assert.match(help, /unshare/, `Shift+Tab help: ${help}`);
      assert.match(help, /namespace/i, `Shift+Tab shows the man summary: ${help}`);
      await page.screenshot({ path: join(shots, 'inspector.png') });
      await page.keyboard.press('Escape');
    } finally {
      await closeNotebook(page);
    }
  });

  it('runs a `#| terminal: 2` cell and a `#| wait: false` cell', async () => {
    await server!.api('PUT', 'api/contents/terminals.ipynb', scratchNotebook([
      '#| terminal: 2\nhostname; grep PPid /proc/$$/status; cd /usr/share',
      '#| terminal: 2\n#| wait: false\nsleep 3; echo left running in terminal 2',
      'pwd; pgrep -x sleep >/dev/null && echo sleep runs',
      '#| terminal: 2\npwd',
    ]));
    const page = await newPage();
    try {
      await openNotebook(page, server!, 'terminals.ipynb');
      const ms = await restartAndRunAll(page, 60_000);
      const cells = await modelCells(page);
      assert.deepEqual(cells.map((c) => c.execution_count), [1, 2, 3, 4]);
      assert.deepEqual(cells.map((c) => outputText(c).error), ['', '', '', '']);
      assert.match(outputText(cells[0]).text, /^lab\nPPid:\t0\n$/, 'terminal 2 is in the lab, joined from outside (PPID 0)');
      assert.equal(outputText(cells[1]).text, '', 'the wait: false cell returns at once, without output');
      assert.match(outputText(cells[2]).text, /sleep runs/, 'terminal 1 goes on while terminal 2 sleeps');
      assert.doesNotMatch(outputText(cells[2]).text, /^\/usr\/share$/m, 'terminal 1 has its own directory');
      assert.equal(outputText(cells[3]).text, 'left running in terminal 2\n/usr/share\n', 'the next terminal-2 cell shows the left command\'s output, then its own');
      assert.ok(ms < 30_000, `took ${ms} ms`);
    } finally {
      await closeNotebook(page);
    }
  });

  it('Kernel → Shut Down Kernel leaves no lab process', async () => {
    await server!.api('PUT', 'api/contents/shutdown.ipynb', scratchNotebook(['#| wait: false\nsetsid sleep 1000 & sleep 1000']));
    const page = await newPage();
    try {
      await openNotebook(page, server!, 'shutdown.ipynb');
      await runCell(page, 0);
      await waitCellRan(page, 0);
      const tree = await kernelTree(page);
      assert.ok(tree.filter((p) => p.cmd === 'sleep 1000').length >= 2, `the sleeps run:\n${formatProcs(tree)}`);
      await menu(page, 'Kernel', 'Shut Down Kernel');
      // JupyterLab 4.6 shuts down at once; earlier versions asked first.
      if (await page.locator('.jp-Dialog').waitFor({ timeout: 2000 }).then(() => true, () => false)) await acceptDialog(page);
      const survivors = await waitGone(tree, 10_000);
      assert.deepEqual(survivors, [], `still running after Kernel → Shut Down:\n${formatProcs(survivors)}`);
      await page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-KernelName', { hasText: 'No Kernel' }).waitFor({ timeout: 15_000 });
      assert.deepEqual(await server!.api<unknown[]>('GET', 'api/kernels'), [], 'no kernel left on the server');
    } finally {
      await page.close();
    }
  });
});

describe('npm run lab: scripts/run-lab.sh opens JupyterLab 4 with the nslab launcher card @slow', function () {
  this.timeout(3 * 60 * 1000);

  it('prints a 127.0.0.1 URL with a token; the launcher shows nslab with its logo; the process tree ends by PID', async () => {
    requireSystemPrograms([CHROMIUM, JUPYTER_LAB]);
    const work = makeTempDir('nslab-run-lab-');
    const port = await freePort();
    // The user's own Jupyter setup is never touched: HOME and every Jupyter dir are temp folders.
    const dirs = {
      HOME: join(work, 'home'), JUPYTER_DATA_DIR: join(work, 'data'), JUPYTER_CONFIG_DIR: join(work, 'config'),
      JUPYTER_RUNTIME_DIR: join(work, 'runtime'), IPYTHONDIR: join(work, 'ipython'),
      JUPYTERLAB_SETTINGS_DIR: join(work, 'lab-settings'), JUPYTERLAB_WORKSPACES_DIR: join(work, 'lab-workspaces'),
    };
    for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
    // A learner who answered "No" to JupyterLab's question about Jupyter news (it would cover the launcher).
    mkdirSync(join(dirs.JUPYTERLAB_SETTINGS_DIR, '@jupyterlab', 'apputils-extension'), { recursive: true });
    writeFileSync(join(dirs.JUPYTERLAB_SETTINGS_DIR, '@jupyterlab', 'apputils-extension', 'notification.jupyterlab-settings'), '{"fetchNews": "false"}\n');
    const env: NodeJS.ProcessEnv = { ...process.env, ...dirs, NSLAB_PORT: String(port), PYTHONDONTWRITEBYTECODE: '1' };
    delete env.JUPYTER_PATH;
    const child = spawn('bash', [join(REPO, 'scripts', 'run-lab.sh')], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (output += d));
    const seen = new Map<string, Proc>();
    const track = () => { for (const p of processTree(child.pid!)) seen.set(`${p.pid}:${p.start}`, p); };
    const tracker = setInterval(track, 200);
    let session: BrowserSession | undefined;
    try {
      const deadline = Date.now() + 90_000;
      let url: RegExpExecArray | null = null;
      while (!(url = new RegExp(`http://127\\.0\\.0\\.1:${port}/lab\\?token=([0-9a-f]{20,})`).exec(output))) {
        assert.ok(Date.now() < deadline && child.exitCode === null, `no URL with a token printed:\n${output}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      assert.doesNotMatch(output, /http:\/\/(0\.0\.0\.0|localhost|\[::\])/, 'served on 127.0.0.1 only');
      assert.ok(existsSync(join(dirs.JUPYTER_DATA_DIR, 'kernels', 'nslab', 'kernel.json')), 'the kernelspec went to the (temp) user data dir');
      session = await launchBrowser({ viewport: { width: 1280, height: 900 } });
      const page = await session.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
      await page.goto(url[0], { waitUntil: 'domcontentloaded' });
      const card = page.locator('.jp-LauncherCard[data-category="Notebook"][title="Namespace Lab (bash)"]');
      await card.waitFor({ timeout: 60_000 });
      const logo = await card.locator('img.jp-Launcher-kernelIcon').evaluate(async (img: HTMLImageElement) => {
        await img.decode().catch(() => undefined);
        return { src: img.getAttribute('src'), width: img.naturalWidth, complete: img.complete };
      });
      assert.match(logo.src ?? '', /\/kernelspecs\/nslab\/logo-64x64\.png$/, 'the card shows nslab\'s logo');
      assert.ok(logo.complete && logo.width === 64, `the logo loaded: ${JSON.stringify(logo)}`);
      assert.equal(await page.locator('.jp-LauncherCard[data-category="Console"][title="Namespace Lab (bash)"]').count(), 1, 'a console card too');
      // The file browser shows the tutorial notebooks (root_dir=notebooks).
      await page.locator('.jp-DirListing-item[title*="01-pid-namespace.ipynb"]').waitFor();
      await page.waitForTimeout(1000); // let the launcher's icons settle for the screenshot
      const png = await page.screenshot({ path: join(REPO, 'docs', 'screenshots', 'jupyterlab-launcher.png') });
      const s = await screenshotStats(session, png);
      assert.ok(s.ink > 0.05 && s.colours > 30, `jupyterlab-launcher.png looks blank: ${JSON.stringify(s)}`);
      assert.deepEqual(errors.filter((e) => /nslab|Namespace Lab/.test(e)), [], 'browser errors from nslab');
    } finally {
      if (session) await session.close();
      track();
      clearInterval(tracker);
      // run-lab.sh execs jupyter-lab: the child's PID is the server. End it, then anything of its tree.
      const self = readProc(child.pid!);
      if (self && isAlive(self)) process.kill(child.pid!, 'SIGTERM');
      let left = await waitGone([...seen.values()], 15_000);
      killAll(left);
      left = await waitGone(left, 2000);
      removeDir(work);
      assert.deepEqual(left, [], `processes of npm run lab left running (now killed):\n${formatProcs(left)}`);
    }
  });
});
