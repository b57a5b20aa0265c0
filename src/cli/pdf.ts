/**
 * Printable handouts: an HTML handout (nbconvert, scripts/handout.html.j2) printed to an A4 PDF
 * by headless Chromium, driven with playwright-core, whose page.pdf() takes header and footer
 * templates (Chromium's own `--print-to-pdf` prints the file URL and date instead of page numbers).
 *
 * playwright-core is a dependency (pure JavaScript, no browser of its own): the installed package's
 * `nslab handouts` prints PDFs for teachers too. The kernel never loads this module; it is
 * imported only when a PDF is made, so a missing browser is a clear error there, not a crash.
 *
 * What the print looks like is the template's `@media print` CSS (A4, no cell or picture cut
 * across a page where it fits on one, long lines wrapped, colours kept), so a teacher who
 * prints the HTML from a browser gets the same pages; this module adds the running title and
 * the page numbers.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';

/** Chromium, as on Debian; NSLAB_CHROMIUM names another. */
export function chromiumPath(): string {
  return process.env.NSLAB_CHROMIUM ?? '/usr/bin/chromium';
}

/** Flags for a headless Chromium as root on a closed network (as in test/helpers/browser.ts). */
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** The font of the running head and foot: they are rendered apart from the page, so they name their own. */
const HEAD_FONT = "font-family: 'Noto Sans CJK JP', 'Noto Sans JP', sans-serif; font-size: 8pt; color: #555;";

export interface PdfResult {
  pdf: string;
  pages: number;
}

/** A headless Chromium for printing several handouts; close() it when done. */
export class PdfPrinter {
  private browser: Browser | null = null;

  private async start(): Promise<Browser> {
    if (this.browser) return this.browser;
    const exe = chromiumPath();
    if (!existsSync(exe)) throw new Error(`no Chromium at ${exe} for the PDF handouts (Debian: apt-get install chromium fonts-noto-cjk; or set NSLAB_CHROMIUM, or use --no-pdf)`);
    let chromium: typeof import('playwright-core').chromium;
    try {
      ({ chromium } = await import('playwright-core'));
    } catch {
      throw new Error('the PDF handouts need playwright-core (npm install), or use --no-pdf');
    }
    this.browser = await chromium.launch({ executablePath: exe, headless: true, args: CHROMIUM_ARGS, timeout: 60_000 });
    return this.browser;
  }

  /** Print `html` to `pdf` (A4) with `title` at the head of every page and "n / N" at its foot. */
  async print(html: string, pdf: string, title: string): Promise<PdfResult> {
    const browser = await this.start();
    const page = await browser.newPage();
    try {
      // The handout asks a CDN for require.js and MathJax; nothing leaves the machine, and a
      // refused request fails at once instead of waiting for a network timeout.
      await page.route((url) => !/^(file|data|blob|about):/.test(url.href), (route) => route.abort('blockedbyclient'));
      await page.goto(pathToFileURL(path.resolve(html)).href, { waitUntil: 'load', timeout: 60_000 });
      await page.evaluate(async () => { await document.fonts.ready; });
      await page.pdf({
        path: pdf,
        format: 'A4',
        printBackground: true,
        displayHeaderFooter: true,
        margin: { top: '16mm', bottom: '16mm', left: '12mm', right: '12mm' },
        headerTemplate: `<div style="${HEAD_FONT} width: 100%; padding: 0 12mm;">${escapeHtml(title)}</div>`,
        footerTemplate: `<div style="${HEAD_FONT} width: 100%; text-align: center;"><span class="pageNumber"></span> / <span class="totalPages"></span></div>`,
      });
    } finally {
      await page.close();
    }
    return { pdf, pages: pdfPageCount(readFileSync(pdf)) };
  }

  async close(): Promise<void> {
    const b = this.browser;
    this.browser = null;
    if (b) await b.close();
  }
}

/** The number of pages of a PDF that Chromium (Skia) wrote: its page tree's /Count. */
export function pdfPageCount(pdf: Buffer): number {
  const text = pdf.toString('latin1');
  const counts = [...text.matchAll(/\/Type\s*\/Pages\b[^>]*?\/Count\s+(\d+)|\/Count\s+(\d+)[^>]*?\/Type\s*\/Pages\b/g)].map((m) => Number(m[1] ?? m[2]));
  if (counts.length) return Math.max(...counts);
  return (text.match(/\/Type\s*\/Page\b(?!s)/g) ?? []).length;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
