/**
 * Issue 5, "Handouts": what a reader of an HTML handout really sees. A fresh handout is made by
 * the project's own command (`nslab handouts --no-update --out TMP`, which installs its own
 * temporary kernelspec), opened from disk in headless Chromium (Debian's /usr/bin/chromium via
 * playwright-core) and checked as rendered: the title and headings, one rendered cell per
 * notebook cell with the outputs of the run, the outputs the notebook's own checks (cell metadata)
 * promise, and no check shown to the reader, no replacement glyphs or escape/marker junk, Japanese drawn with a CJK font, and
 * screenshots that are not blank. A small extra notebook with SGR colours goes through
 * `jupyter nbconvert --to html --execute` with this checkout's kernel, to see colours as colours.
 *
 * Needs Debian's chromium, fonts-noto-cjk, jupyter-nbconvert (with python3-nbclient) and a build.
 * Screenshots go to artifacts/handout/ (gitignored).
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Page } from 'playwright-core';
import { cellChecks } from '../../src/cli/checks.js';
import { isExerciseCell, studentView } from '../../src/cli/exercises.js';
import {
  CHROMIUM, REPO, SYSTEM_JUPYTER, SYSTEM_PYTHON, artifactsDir, formatProcs, installTempKernelspec, launchBrowser, makeTempDir,
  platformFonts, removeDir, requireSystemPrograms, runCommand, screenshotStats, type BrowserSession, type Proc,
} from '../helpers/browser.js';

const NOTEBOOK = join(REPO, 'notebooks', '01-pid-namespace.ipynb');
const MAIN = join(REPO, 'dist', 'src', 'cli', 'main.js');

interface NbOutput { output_type: string; name?: string; text?: string | string[]; ename?: string; evalue?: string }
interface NbCell { cell_type: string; source: string | string[]; metadata: { tags?: string[]; [k: string]: unknown }; outputs?: NbOutput[] }
interface Notebook { cells: NbCell[]; metadata: { title?: string } }

const joined = (s: string | string[] | undefined): string => (Array.isArray(s) ? s.join('') : s ?? '');

/** Headings of the notebook's markdown, as plain text (inline code marks and emphasis removed). */
function markdownHeadings(nb: Notebook): string[] {
  const out: string[] = [];
  for (const cell of nb.cells) {
    if (cell.cell_type !== 'markdown') continue;
    let fenced = false;
    for (const line of joined(cell.source).split('\n')) {
      if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
      const m = !fenced && /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
      if (m) out.push(m[1].replace(/`|\*\*|__/g, '').trim());
    }
  }
  return out;
}

/** Traces of checks in a handout's HTML (visible or not): the old option lines, the metadata. */
function checksShown(html: string): string[] {
  return ['expect-output', 'expect-absent', 'expect-exit', '"expect"', '&quot;expect&quot;', 'ExpectationFailed'].filter((s) => html.includes(s));
}

/**
 * What nbconvert renders for a cell's outputs, neighbours of one kind counted once (a stream
 * arrives in as many outputs as the run happened to send chunks, which varies between the run
 * the handout shows and the committed one), stdout shows as text/plain, stderr and errors as stderr.
 */
function expectedOutputKinds(cell: NbCell): string[] {
  const kinds: string[] = [];
  for (const o of cell.outputs ?? []) {
    if (o.output_type === 'display_data') kinds.push('image/svg+xml'); // nstree's picture (its SVG wins over text)
    else kinds.push(o.output_type === 'stream' && o.name === 'stdout' ? 'text/plain' : 'application/vnd.jupyter.stderr');
  }
  return runsOf(kinds);
}

/** Neighbouring equal kinds as one. */
function runsOf(kinds: string[]): string[] {
  return kinds.filter((k, i) => i === 0 || kinds[i - 1] !== k);
}

/** Text a reader should never see: replacement glyphs, escape bytes, SGR or nslab marker leftovers. */
function junkIn(text: string): string[] {
  const found: string[] = [];
  const probes: [string, RegExp][] = [
    ['U+FFFD replacement glyph', /\uFFFD/],
    ['ESC byte', /\x1b/],
    ['C0 control byte (\\x01/\\x02/BEL)', /[\x01\x02\x07]/],
    ['SGR leftover like [0m or [31m', /\[[0-9;]*m(?![a-z])/],
    ['nslab prompt marker ]6973', /\]6973/],
    ['OSC leftover like ]0;', /\]\d+;/],
  ];
  for (const [what, re] of probes) {
    const m = re.exec(text);
    if (m) found.push(`${what} at …${JSON.stringify(text.slice(Math.max(0, m.index - 40), m.index + 40))}…`);
  }
  return found;
}

/** Opens a handout from disk and waits until it is fully laid out (MathJax done, fonts loaded). */
async function openHandout(session: BrowserSession, file: string): Promise<Page> {
  const page = await session.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
  await page.evaluate(() => new Promise<void>((resolve) => {
    const mj = (window as unknown as { MathJax?: { Hub?: { Queue(f: () => void): void } } }).MathJax;
    if (mj?.Hub) mj.Hub.Queue(() => resolve());
    else resolve();
    setTimeout(resolve, 15_000); // MathJax is decoration here: never wait on it forever
  }));
  await page.evaluate(() => document.fonts.ready.then(() => undefined));
  assert.deepEqual(errors, [], `script errors in ${file}`);
  return page;
}

/** Number of CJK characters (kana, kanji, full-width punctuation) in a text. */
function cjkCount(text: string): number {
  return [...text].filter((ch) => /[\u3000-\u30ff\u3400-\u9fff\uff00-\uffef]/.test(ch)).length;
}

/** Asserts that Chromium drew every CJK character of the element with a CJK font (no tofu, no fallback). */
async function assertCjkFont(page: Page, selector: string): Promise<string> {
  const text = await page.locator(selector).first().innerText();
  const need = cjkCount(text);
  assert.ok(need > 0, `${selector} has no Japanese text to check: ${JSON.stringify(text.slice(0, 80))}`);
  const fonts = await platformFonts(page, selector);
  const cjk = fonts.filter((f) => /CJK|Noto Sans JP|Noto Serif JP|IPA|Takao|VL Gothic|Droid Sans Fallback/i.test(f.familyName));
  const drawn = cjk.reduce((n, f) => n + f.glyphCount, 0);
  assert.ok(drawn >= need,
    `${selector}: ${need} Japanese characters but only ${drawn} glyphs from a CJK font; fonts used: ${JSON.stringify(fonts)} (apt-get install fonts-noto-cjk)`);
  return fonts.map((f) => `${f.familyName}×${f.glyphCount}`).join(', ');
}

describe('handout: the HTML handout as a reader sees it, in headless Chromium @slow', function () {
  this.timeout(5 * 60 * 1000);
  const shots = artifactsDir('handout');
  let work: string | undefined;
  let session: BrowserSession | undefined;
  let nb: Notebook;
  let handout: string;
  let page: Page;
  const leftovers: Proc[] = [];

  before(async function () {
    requireSystemPrograms([CHROMIUM, SYSTEM_JUPYTER, SYSTEM_PYTHON]);
    assert.ok(existsSync(MAIN), `${MAIN} is missing: run \`npm run build\``);
    // The handout shows the 演習 as the student gets them (the stub, no outputs): compare with that.
    nb = studentView(JSON.parse(readFileSync(NOTEBOOK, 'utf8')) as Notebook);
    work = makeTempDir('nslab-handout-');
    const out = join(work, 'out');
    // The project's own command, from a fresh kernel, without touching notebooks/.
    const r = await runCommand(process.execPath, [MAIN, 'handouts', '--no-update', '--out', out, '01-pid-namespace'], { timeoutMs: 4 * 60 * 1000 });
    leftovers.push(...r.leftovers);
    assert.equal(r.code, 0, `nslab handouts failed:\n${r.stdout}${r.stderr}`);
    handout = join(out, '01-pid-namespace.html');
    assert.ok(existsSync(handout), `no handout at ${handout}:\n${r.stdout}`);
    console.log(`      (handout made in ${(r.ms / 1000).toFixed(1)} s)`);
    session = await launchBrowser({ viewport: { width: 1280, height: 900 } });
    page = await openHandout(session, handout);
  });

  after(async function () {
    if (session) leftovers.push(...(await session.close()));
    removeDir(work);
    assert.deepEqual(leftovers, [], `processes left running (now killed):\n${formatProcs(leftovers)}`);
  });

  it('has the notebook title and every heading of the notebook, in order', async () => {
    const headings = markdownHeadings(nb);
    assert.equal(await page.title(), nb.metadata.title, 'the page title is the notebook title');
    assert.equal(await page.title(), headings[0], 'the notebook title is its first heading');
    const shown = (await page.locator('h1, h2, h3, h4, h5, h6').allInnerTexts()).map((t) => t.replace(/¶/g, '').trim());
    assert.deepEqual(shown, headings);
    for (const h of ['PID 名前空間を手で確かめる', 'ステップ 1: 新しい PID 名前空間を作る',
      'ステップ 4: exit すると、ラボの ps が壊れている', 'ステップ 8: 名前空間の PID 1 は特別', 'まとめ']) {
      assert.ok(shown.includes(h), `heading ${h} is missing; shown: ${shown.join(' | ')}`);
    }
  });

  it('renders one cell per notebook cell, each code cell with its source, tag and the outputs of the run', async () => {
    const cells = await page.locator('.jp-Notebook > main > .jp-Cell').evaluateAll((els) => els.map((el) => ({
      type: el.classList.contains('jp-CodeCell') ? 'code' : el.classList.contains('jp-MarkdownCell') ? 'markdown' : 'raw',
      raises: el.classList.contains('celltag_raises-exception'),
      input: (el.querySelector('.jp-InputArea-editor') as HTMLElement | null)?.innerText ?? '',
      outputs: [...el.querySelectorAll('.jp-OutputArea-output')].map((o) => o.getAttribute('data-mime-type') ?? '?'),
    })));
    assert.equal(cells.length, nb.cells.length, 'rendered cells');
    assert.deepEqual(cells.map((c) => c.type), nb.cells.map((c) => c.cell_type), 'cell types in order');
    const code = nb.cells.map((c, i) => [c, cells[i]] as const).filter(([c]) => c.cell_type === 'code');
    assert.equal(code.filter(([c]) => !isExerciseCell(c)).length, 29, 'the tutorial has 29 code cells');
    let outputs = 0;
    for (const [cell, shown] of code) {
      const src = joined(cell.source);
      const label = `code cell "${src.split('\n').filter((l) => !l.startsWith('#|'))[0]}"`;
      assert.equal(shown.input.trimEnd(), src.trimEnd(), `${label}: source`);
      const raises = (cell.metadata.tags ?? []).includes('raises-exception');
      assert.equal(shown.raises, raises, `${label}: raises-exception tag`);
      assert.deepEqual(runsOf(shown.outputs), expectedOutputKinds(cell), `${label}: outputs (kinds, in order) as committed`);
      outputs += runsOf(shown.outputs).length;
    }
    assert.equal(outputs, nb.cells.reduce((n, c) => n + expectedOutputKinds(c).length, 0));
    assert.equal(code.filter(([, s]) => s.outputs.length > 0).length, 27, 'code cells with outputs');
    assert.equal(code.filter(([, s]) => s.raises).length, 6, 'cells tagged raises-exception');
  });

  it('shows what each cell promises (its checks), the key outputs, no check and no junk', async () => {
    const texts = await page.locator('.jp-Notebook > main > .jp-Cell').evaluateAll((els) => els.map((el) =>
      // A picture's text is its alt text (the handout template puts the text form there).
      [...el.querySelectorAll('.jp-OutputArea-output')].map((o) => (o as HTMLElement).innerText || [...o.querySelectorAll('img')].map((i) => i.alt).join('\n')).join('\n')));
    let checked = 0;
    nb.cells.forEach((cell, i) => {
      if (cell.cell_type !== 'code') return;
      for (const c of cellChecks(cell).checks) {
        if (c.kind === 'exit') continue;
        assert.equal(c.matches!(texts[i]), c.kind === 'output', `cell ${i + 1}: the handout should ${c.kind === 'output' ? '' : 'not '}show ${c.written}; it shows:\n${texts[i]}`);
        checked++;
      }
      const raises = (cell.metadata.tags ?? []).includes('raises-exception');
      assert.equal(/ExitStatus: exit status \d+/.test(texts[i]), raises, `cell ${i + 1}: an exit-status error shows exactly in the raises-exception cells:\n${texts[i]}`);
    });
    assert.ok(checked >= 25, `only ${checked} expectations checked`);
    const body = await page.locator('body').innerText();
    for (const s of ['tini -- bash', 'fatal library error, lookup self', 'No such process', 'Error, do this: mount -t proc proc /proc',
      "ls: cannot access '/proc/[0-9]*': No such file or directory", 'sleep 1000', 'Terminated']) {
      assert.ok(body.includes(s), `the handout should show ${JSON.stringify(s)}`);
    }
    const echoPid = texts[nb.cells.findIndex((c) => /^echo \$\$$/m.test(joined(c.source)))];
    assert.equal(echoPid.trim(), '2', 'the first `echo $$` shows 2');
    assert.deepEqual(junkIn(body), [], 'junk in the visible text of the handout');
    assert.deepEqual(checksShown(await page.content()), [], 'the handout shows no check');
  });

  it('draws the namespace pictures (nstree, issue 10) as pictures: three SVG images, loaded, with every box', async () => {
    const pictures = page.locator('.jp-RenderedSVG img');
    assert.equal(await pictures.count(), 3, 'after unshare, in the two-terminal step, after mount -t proc');
    const info = await pictures.evaluateAll((imgs) => (imgs as HTMLImageElement[]).map((i) => ({ complete: i.complete, width: i.naturalWidth, src: i.src })));
    const svgs = info.map((i) => Buffer.from(i.src.replace(/^data:image\/svg\+xml;base64,/, ''), 'base64').toString('utf8'));
    info.forEach((i, n) => assert.ok(i.complete && i.width > 300, `picture ${n + 1} is drawn: ${JSON.stringify({ ...i, src: i.src.slice(0, 40) })}`));
    assert.equal((svgs[0].match(/rx="6"/g) ?? []).length, 2, 'first picture: the lab and the new namespace');
    assert.ok(svgs[0].includes('ns2: ns1 の内側 — unshare --pid --fork bash'));
    assert.ok(svgs[1].includes('sleep 1000') && svgs[1].includes('← ターミナル 2'), 'second picture: terminal 2 and its sleep');
    assert.ok(svgs[2].includes('ラボの内側') && !svgs[2].includes('tini'), 'third picture: only the nested namespace');
    assert.ok(svgs[2].includes('>ns2: この /proc の PID 名前空間 (ラボの内側)</text>'), 'third picture: the nested namespace still named ns2 (issue 17)');
    const first = pictures.first();
    await first.scrollIntoViewIfNeeded();
    const png = await first.screenshot({ path: join(shots, 'handout-nstree.png') });
    const s = await screenshotStats(session!, png);
    assert.ok(s.ink > 0.02 && s.colours > 30, `the picture looks blank: ${JSON.stringify(s)}`);
  });

  it('draws the Japanese with a CJK font, and the screenshots are not blank', async () => {
    const used: string[] = [];
    for (const sel of ['h1', '.jp-MarkdownCell h2', '.jp-MarkdownCell p', '.jp-MarkdownCell li', '.jp-MarkdownCell td:last-child']) {
      used.push(`${sel}: ${await assertCjkFont(page, sel)}`);
    }
    console.log('      fonts: ' + used.join('; '));

    await page.evaluate(() => window.scrollTo(0, 0));
    const top = await page.screenshot({ path: join(shots, 'handout-top.png') });
    // Step 2's failing kill, with its explanation: Japanese, code, output and an error together.
    const kill = page.locator('.jp-CodeCell').filter({ hasText: 'kill "$(pgrep -x sleep)"' }).first();
    await kill.scrollIntoViewIfNeeded();
    await page.evaluate(() => window.scrollBy(0, -200));
    const step2 = await page.screenshot({ path: join(shots, 'handout-step2.png') });
    await page.screenshot({ path: join(shots, 'handout-full.png'), fullPage: true });
    for (const [name, png] of [['handout-top.png', top], ['handout-step2.png', step2]] as const) {
      const s = await screenshotStats(session!, png);
      assert.equal(s.width, 1280, `${name}: width`);
      assert.ok(s.ink > 0.02 && s.colours > 30, `${name} looks blank: ${JSON.stringify(s)}`);
    }
  });

  it('shows SGR colours as colours (a colour notebook through nbconvert --execute)', async () => {
    const dir = join(work!, 'colours');
    mkdirSync(dir, { recursive: true });
    const spec = installTempKernelspec(join(work!, 'spec'));
    const cell = (id: string, source: string) => ({ cell_type: 'code', id, metadata: {}, execution_count: null, outputs: [], source });
    const colourNb = {
      nbformat: 4, nbformat_minor: 5,
      metadata: { kernelspec: { name: 'nslab', display_name: 'Namespace Lab (bash)', language: 'bash' }, title: '色の確認' },
      cells: [
        { cell_type: 'markdown', id: 'title', metadata: {}, source: '# 色の確認' },
        cell('red', "printf '\\e[31mred\\e[0m\\n'"),
        cell('more', "printf '\\e[1;32mbold green\\e[0m \\e[38;5;208morange\\e[0m \\e[38;2;10;120;200mtruecolour\\e[0m \\e[44mon blue\\e[0m\\n'\n"
          + 'echo hello | grep --color=always ell'),
        cell('osc', "printf '\\e]0;window title\\a\\e]8;;http://example.invalid/\\e\\\\link\\e]8;;\\e\\\\ \\e[?25lcursor\\e[?25h\\n'\necho 日本語の出力"),
      ],
    };
    const file = join(dir, 'colours.ipynb');
    writeFileSync(file, JSON.stringify(colourNb, null, 1) + '\n');
    const r = await runCommand(SYSTEM_JUPYTER, ['nbconvert', '--to', 'html', '--execute', '--ExecutePreprocessor.timeout=60',
      '--output-dir', dir, file], { env: spec.env, cwd: dir, timeoutMs: 3 * 60 * 1000 });
    leftovers.push(...r.leftovers);
    assert.equal(r.code, 0, `nbconvert --execute failed:\n${r.stderr}`);
    const p = await openHandout(session!, join(dir, 'colours.html'));
    try {
      const style = (sel: string, text: string) => p.locator(sel, { hasText: text }).first().evaluate((el) => {
        const cs = getComputedStyle(el);
        return { color: cs.color, background: cs.backgroundColor, weight: cs.fontWeight, text: (el as HTMLElement).innerText };
      });
      const plain = await p.locator('.jp-OutputArea-output pre').first().evaluate((el) => getComputedStyle(el).color);
      const rgb = (c: string) => (/rgba?\((\d+), (\d+), (\d+)/.exec(c) ?? []).slice(1).map(Number);
      const red = await style('.jp-OutputArea-output .ansi-red-fg', 'red');
      const [r1, g1, b1] = rgb(red.color);
      assert.ok(red.color !== plain && r1 > g1 + 60 && r1 > b1 + 60, `"red" is drawn in ${red.color} (plain text: ${plain})`);
      const green = await style('.jp-OutputArea-output .ansi-bold', 'bold green');
      const [r2, g2, b2] = rgb(green.color);
      assert.ok(g2 > r2 + 40 && g2 > b2 + 40 && Number(green.weight) >= 600, `"bold green": ${JSON.stringify(green)}`);
      assert.equal((await style('.jp-OutputArea-output span', 'orange')).color, 'rgb(255, 135, 0)', '256-colour 208');
      assert.equal((await style('.jp-OutputArea-output span', 'truecolour')).color, 'rgb(10, 120, 200)', '24-bit colour');
      const blue = rgb((await style('.jp-OutputArea-output span', 'on blue')).background);
      assert.ok(blue[2] > blue[0] + 40 && blue[2] > blue[1] + 20, `"on blue" background: ${blue}`);
      const match = await style('.jp-OutputArea-output span', 'ell');
      assert.equal(match.text, 'ell', 'grep --color=always highlights just the match');
      assert.notEqual(match.color, plain, 'the grep match is coloured');
      const outputs = await p.locator('.jp-OutputArea-output').allInnerTexts();
      assert.deepEqual(outputs.map((t) => t.trimEnd()), ['red', 'bold green orange truecolour on blue\nhello', 'link cursor\n日本語の出力']);
      assert.deepEqual(junkIn(outputs.join('\n')), [], 'junk in the outputs');
      console.log('      fonts of the Japanese output: ' + await assertCjkFont(p, '.jp-Cell:last-child .jp-OutputArea-output pre'));
      const png = await p.screenshot({ path: join(shots, 'colours.png') });
      const s = await screenshotStats(session!, png);
      assert.ok(s.ink > 0.005 && s.colours > 30, `colours.png looks blank: ${JSON.stringify(s)}`);
    } finally {
      await p.close();
    }
  });
});

/**
 * Issue 11: every notebook of the series gets a handout that reads as well as the PID one. One
 * `nslab handouts --no-update` run makes them all; each is then checked on what holds for any
 * notebook of the series: title and headings, one rendered cell per cell with its source, tag
 * and outputs, every `#| expect-…` visible, errors exactly in the tagged cells, no junk, CJK font.
 */
describe('handouts: every notebook of the series, as a reader sees it @slow', function () {
  this.timeout(5 * 60 * 1000);
  const shots = artifactsDir('handout');
  const files = readdirSync(join(REPO, 'notebooks')).filter((f) => f.endsWith('.ipynb')).sort();
  let work: string | undefined;
  let out: string;
  let session: BrowserSession | undefined;
  const leftovers: Proc[] = [];

  before(async function () {
    requireSystemPrograms([CHROMIUM, SYSTEM_JUPYTER, SYSTEM_PYTHON]);
    work = makeTempDir('nslab-handouts-');
    out = join(work, 'out');
    const r = await runCommand(process.execPath, [MAIN, 'handouts', '--no-update', '--out', out], { timeoutMs: 4 * 60 * 1000 });
    leftovers.push(...r.leftovers);
    assert.equal(r.code, 0, `nslab handouts failed:\n${r.stdout}${r.stderr}`);
    console.log(`      (${files.length} handouts made in ${(r.ms / 1000).toFixed(1)} s)`);
    session = await launchBrowser({ viewport: { width: 1280, height: 900 } });
  });

  after(async function () {
    if (session) leftovers.push(...(await session.close()));
    removeDir(work);
    assert.deepEqual(leftovers, [], `processes left running (now killed):\n${formatProcs(leftovers)}`);
  });

  it('the series is complete: a start page and one notebook per namespace type', () => {
    assert.deepEqual(files, [
      '00-index.ipynb', '01-pid-namespace.ipynb', '02-mount-namespace.ipynb', '03-uts-namespace.ipynb', '04-ipc-namespace.ipynb',
      '05-network-namespace.ipynb', '06-user-namespace.ipynb', '07-cgroup-namespace.ipynb', '08-time-namespace.ipynb',
    ]);
  });

  for (const file of files) {
    it(`${file}: an A4 PDF handout: pages, the title on the first page, Japanese in its text layer, page numbers`, function () {
      const pdf = join(out, file.replace(/\.ipynb$/, '.pdf'));
      assert.ok(existsSync(pdf), `no PDF handout ${pdf}`);
      const nb = JSON.parse(readFileSync(join(REPO, 'notebooks', file), 'utf8')) as Notebook;
      const info = spawnSync('pdfinfo', [pdf], { encoding: 'utf8' });
      if (info.error) throw new Error(`pdfinfo is needed (apt-get install poppler-utils): ${info.error.message}`);
      const pages = Number(/^Pages:\s+(\d+)$/m.exec(info.stdout)?.[1]);
      assert.ok(pages > 0, `pages: ${info.stdout}`);
      assert.match(info.stdout, /^Page size:\s+595\.\d+ x 84[12]\.\d+ pts \(A4\)$/m);
      const first = spawnSync('pdftotext', ['-f', '1', '-l', '1', pdf, '-'], { encoding: 'utf8' }).stdout;
      const title = nb.metadata.title!;
      assert.ok(first.replace(/\s+/g, '').includes(title.replace(/\s+/g, '')), `the first page has the title ${title}:\n${first.slice(0, 400)}`);
      assert.match(first, /[\u3040-\u30ff\u4e00-\u9fff]{4}/, 'Japanese in the text layer');
      assert.match(first, new RegExp(`(^|\\s)1\\s*/\\s*${pages}(\\s|$)`), `the page number at the foot:\n${first}`);
      const all = spawnSync('pdftotext', [pdf, '-'], { encoding: 'utf8' }).stdout;
      assert.doesNotMatch(all, /expect-output|expect-absent|"expect"/, 'no check in the PDF');
      console.log(`      (${file}: ${pages} pages)`);
    });

    it(`${file}: title, headings, every cell with its outputs and promises, errors only where tagged, no junk`, async () => {
      const nb = studentView(JSON.parse(readFileSync(join(REPO, 'notebooks', file), 'utf8')) as Notebook);
      const html = join(out, file.replace(/\.ipynb$/, '.html'));
      assert.ok(existsSync(html), `no handout ${html}`);
      const page = await openHandout(session!, html);
      try {
        const headings = markdownHeadings(nb);
        assert.equal(await page.title(), nb.metadata.title, 'the page title is the notebook title');
        assert.equal(headings[0], nb.metadata.title, 'the notebook title is its first heading');
        const shownHeadings = (await page.locator('h1, h2, h3, h4, h5, h6').allInnerTexts()).map((t) => t.replace(/¶/g, '').trim());
        assert.deepEqual(shownHeadings, headings);
        assert.ok(headings.some((h) => /まとめ|では、/.test(h)) || file === '00-index.ipynb', 'ends with a summary (まとめ)');

        const cells = await page.locator('.jp-Notebook > main > .jp-Cell').evaluateAll((els) => els.map((el) => ({
          type: el.classList.contains('jp-CodeCell') ? 'code' : el.classList.contains('jp-MarkdownCell') ? 'markdown' : 'raw',
          raises: el.classList.contains('celltag_raises-exception'),
          input: (el.querySelector('.jp-InputArea-editor') as HTMLElement | null)?.innerText ?? '',
          kinds: [...el.querySelectorAll('.jp-OutputArea-output')].map((o) => o.getAttribute('data-mime-type') ?? '?'),
          text: [...el.querySelectorAll('.jp-OutputArea-output')].map((o) => (o as HTMLElement).innerText || [...o.querySelectorAll('img')].map((i) => i.alt).join('\n')).join('\n'),
        })));
        assert.deepEqual(cells.map((c) => c.type), nb.cells.map((c) => c.cell_type), 'one rendered cell per cell, types in order');
        let promises = 0;
        nb.cells.forEach((cell, i) => {
          if (cell.cell_type !== 'code') return;
          const src = joined(cell.source);
          const label = `cell ${i} "${src.split('\n').filter((l) => !l.startsWith('#|'))[0]}"`;
          const shown = cells[i];
          assert.equal(shown.input.trimEnd(), src.trimEnd(), `${label}: source`);
          assert.deepEqual(runsOf(shown.kinds), expectedOutputKinds(cell), `${label}: outputs as committed`);
          const raises = (cell.metadata.tags ?? []).includes('raises-exception');
          assert.equal(shown.raises, raises, `${label}: tag`);
          assert.equal(/ExitStatus: exit status \d+/.test(shown.text), raises, `${label}: an exit-status error exactly in tagged cells:\n${shown.text}`);
          assert.doesNotMatch(shown.text, /ExpectationFailed|IncompleteInput|ShellExited|Timeout:/, `${label}: no failed check`);
          for (const c of cellChecks(cell).checks) {
            if (c.kind === 'exit') continue;
            assert.equal(c.matches!(shown.text), c.kind === 'output', `${label}: the handout should ${c.kind === 'output' ? '' : 'not '}show ${c.written}; it shows:\n${shown.text}`);
            promises++;
          }
        });
        const codeCells = nb.cells.filter((c) => c.cell_type === 'code').length;
        assert.ok(promises >= codeCells, `${promises} checked promises for ${codeCells} code cells: most cells state what they show`);
        const body = await page.locator('body').innerText();
        assert.deepEqual(junkIn(body), [], 'junk in the visible text');
        assert.deepEqual(checksShown(await page.content()), [], 'the handout shows no check');
        await assertCjkFont(page, 'h1');
        await assertCjkFont(page, '.jp-MarkdownCell p');
        const png = await page.screenshot({ path: join(shots, `series-${file.replace(/\.ipynb$/, '')}.png`) });
        const st = await screenshotStats(session!, png);
        assert.ok(st.ink > 0.02 && st.colours > 30, `${file}: the top of the handout looks blank: ${JSON.stringify(st)}`);
      } finally {
        await page.close();
      }
    });
  }
});

