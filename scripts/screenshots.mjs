#!/usr/bin/env node
/**
 * `npm run screenshots`: the handout screenshots of docs/screenshots/, made from the committed
 * notebooks as they are (their outputs are the run `npm run handouts` wrote back; nothing is
 * executed here), so the pictures in the docs show the current run.
 *
 *   handout.png              the PID notebook's HTML handout at step 2 (pgrep, the failing kill), 1280x900
 *   nstree-handout.png       its first namespace picture (nstree), as drawn in the HTML handout
 *   handout-pdf-nstree.png   the page of its A4 PDF handout with that picture (pdftoppm, 100 dpi)
 *
 * The JupyterLab screenshots (nstree-notebook.png, …) are made by the JupyterLab tests.
 * Needs a build (npm run build), Chromium (/usr/bin/chromium), fonts-noto-cjk and poppler-utils.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, copyFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { writeHtmlHandout } = await import(pathToFileURL(path.join(root, 'dist/src/cli/handouts.js')).href);
const { PdfPrinter, chromiumPath } = await import(pathToFileURL(path.join(root, 'dist/src/cli/pdf.js')).href);
const { chromium } = await import('playwright-core');

const NOTEBOOK = path.join(root, 'notebooks', '01-pid-namespace.ipynb');
const TITLE = 'PID 名前空間を手で確かめる';
const out = path.join(root, 'docs', 'screenshots');
const work = mkdtempSync(path.join(tmpdir(), 'nslab-screenshots-'));

function run(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error || r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.error?.message ?? r.stderr}`);
  return r.stdout;
}

let browser;
const printer = new PdfPrinter();
try {
  mkdirSync(out, { recursive: true });
  const conv = await writeHtmlHandout(NOTEBOOK, work);
  if (!conv.ok) throw new Error(`nbconvert failed (exit ${conv.code}):\n${conv.stderr}`);

  browser = await chromium.launch({ executablePath: chromiumPath(), headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
  await page.route((url) => !/^(file|data|blob|about):/.test(url.href), (route) => route.abort('blockedbyclient'));
  await page.goto(pathToFileURL(conv.html).href, { waitUntil: 'load' });
  await page.evaluate(async () => { await document.fonts.ready; });

  // Step 2 of the PID notebook: pgrep finds terminal 2's sleep, kill fails from inside.
  const pgrep = page.locator('.jp-CodeCell').filter({ hasText: 'pgrep -a -x sleep' }).first();
  await pgrep.scrollIntoViewIfNeeded();
  await page.evaluate((y) => window.scrollTo(0, y), await pgrep.evaluate((el) => el.getBoundingClientRect().top + window.scrollY - 330));
  await page.screenshot({ path: path.join(out, 'handout.png') });
  console.log('screenshots: docs/screenshots/handout.png');

  const picture = page.locator('.jp-RenderedSVG img').first();
  await picture.scrollIntoViewIfNeeded();
  await picture.screenshot({ path: path.join(out, 'nstree-handout.png') });
  console.log('screenshots: docs/screenshots/nstree-handout.png');

  // The PDF page that holds the first picture: the page whose text has the `nstree` cell
  // (a code cell and its picture are never split across pages when they fit on one).
  const pdf = path.join(work, '01-pid-namespace.pdf');
  const { pages } = await printer.print(conv.html, pdf, TITLE);
  let pageNo = 0;
  for (let n = 1; n <= pages && !pageNo; n++) {
    const text = run('pdftotext', ['-layout', '-f', String(n), '-l', String(n), pdf, '-']);
    if (/^\s*(In \[\d+\]:)?\s*nstree\s*$/m.test(text)) pageNo = n;
  }
  if (!pageNo) throw new Error('no page of the PDF shows the nstree cell');
  run('pdftoppm', ['-png', '-r', '100', '-f', String(pageNo), '-l', String(pageNo), '-singlefile', pdf, path.join(work, 'page')]);
  copyFileSync(path.join(work, 'page.png'), path.join(out, 'handout-pdf-nstree.png'));
  console.log(`screenshots: docs/screenshots/handout-pdf-nstree.png (page ${pageNo} of ${pages})`);
} finally {
  await printer.close();
  if (browser) await browser.close();
  rmSync(work, { recursive: true, force: true });
}

