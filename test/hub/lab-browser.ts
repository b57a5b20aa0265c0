/**
 * A notebook cell run through JupyterLab from a browser (issue 16.7): Chromium (playwright-core)
 * opens a notebook in the JupyterLab that runs in the nslab image, waits for the nslab kernel,
 * runs its cell with Shift+Enter and reads the output the page shows. Called by
 * scripts/test-docker.sh against the image's default command:
 *   node dist/test/hub/lab-browser.js URL TOKEN SCREENSHOT.png
 * Exit status 0 when the output is right; the screenshot is written either way.
 */
import { writeFileSync } from 'node:fs';
import { launchBrowser } from '../helpers/browser.js';

async function main(): Promise<void> {
  const [url, token, shot] = process.argv.slice(2);
  if (!url || !token || !shot) throw new Error('usage: lab-browser.js URL TOKEN SCREENSHOT.png');
  const notebook = {
    cells: [{ cell_type: 'code', source: 'echo "answer $((6 * 7)) from $(hostname), shell $$"', metadata: {}, outputs: [], execution_count: null }],
    metadata: { kernelspec: { name: 'nslab', display_name: 'Namespace Lab (bash)', language: 'bash' } },
    nbformat: 4, nbformat_minor: 5,
  };
  const put = await fetch(`${url}/api/contents/browser-check.ipynb`, {
    method: 'PUT', headers: { Authorization: `token ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ type: 'notebook', format: 'json', content: notebook }),
  });
  if (!put.ok) throw new Error(`PUT browser-check.ipynb: ${put.status}`);
  const session = await launchBrowser({ viewport: { width: 1200, height: 700 }, actionTimeoutMs: 60_000 });
  let ok = false;
  try {
    const page = await session.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${url}/lab/tree/browser-check.ipynb?token=${token}`);
    // The kernel is ready when JupyterLab's kernel status says Idle (toolbar and status bar).
    await page.locator('.jp-Notebook .jp-CodeCell').first().waitFor();
    await page.waitForFunction(() => /Namespace Lab \(bash\)\s*\|?\s*Idle/.test(document.body.innerText), undefined, { timeout: 90_000 });
    await page.locator('.jp-Notebook .jp-CodeCell .cm-content').first().click();
    await page.keyboard.press('Shift+Enter');
    const output = page.locator('.jp-Notebook .jp-CodeCell .jp-OutputArea-output').first();
    await output.waitFor({ timeout: 60_000 });
    const text = (await output.innerText()).trim();
    const prompt = (await page.locator('.jp-Notebook .jp-CodeCell .jp-InputPrompt').first().innerText()).trim();
    console.log(`  JupyterLab in the container: cell ${prompt} printed ${JSON.stringify(text)}`);
    writeFileSync(shot, await page.screenshot());
    ok = text === 'answer 42 from lab, shell 2' && prompt === '[1]:';
    if (errors.length) console.log(`  page errors: ${errors.join('; ')}`);
  } finally {
    const left = await session.close();
    if (left.length) { console.log(`  Chromium processes had to be killed: ${left.length}`); ok = false; }
  }
  process.exitCode = ok ? 0 : 1;
}

main().catch((err) => { console.error(err); process.exitCode = 1; });
