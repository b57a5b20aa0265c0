/**
 * Secrets through jupyter_client (issue 22): cells that read with the terminal's echo off get
 * masked input requests whatever their prompt, and the answer is nowhere a learner's work is
 * kept — not in any message the kernel sends, the notebook a frontend saves, the kernel's own log
 * (at debug level), or the history. A normal `read` stays unmasked and keeps its prompt.
 * test/e2e/py/secrets_driver.py does the talking; the assertions are here.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { installKernelspec, leftoverMessage, REPO, runPython, type InstalledKernelspec } from '../helpers/kernelspec.js';

const DRIVER = join(REPO, 'test', 'e2e', 'py', 'secrets_driver.py');
const SECRET = 'c0rrect-h0rse-b4ttery';

describe('secrets through jupyter_client', function () {
  this.timeout(180000);
  let spec: InstalledKernelspec;
  let dir: string;

  before(() => {
    spec = installKernelspec();
    dir = mkdtempSync(join(tmpdir(), 'nslab-secrets-'));
  });
  after(() => {
    spec?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('masks every echo-off read, and the answer appears in no message, notebook, log or history', async () => {
    const run = await runPython([DRIVER, SECRET, join(dir, 'kernel.log'), join(dir, 'saved.ipynb')], { env: spec.env, timeoutMs: 150000 });
    assert.equal(run.code, 0, `driver failed:\n${run.stderr}`);
    assert.deepEqual(run.leftovers, [], leftoverMessage(run.leftovers));
    const r = JSON.parse(run.stdout) as {
      cells: { code: string; requests: { prompt: string; password: boolean }[]; stdout: string; status: string }[];
      messages: string; message_count: number; notebook: string; log: string; history: [number, number, string][];
    };
    const len = `len ${SECRET.length}\n`;
    assert.deepEqual(r.cells.map((c) => [c.requests, c.status]), [
      [[{ prompt: 'pw? ', password: true }], 'ok'],
      [[{ prompt: '合言葉: ', password: true }], 'ok'],
      [[{ prompt: '', password: true }], 'ok'],
      [[{ prompt: 'Key: ', password: true }], 'ok'],
      [[{ prompt: 'name? ', password: false }], 'ok'],
    ]);
    assert.ok(r.cells[0].stdout.endsWith(len) && r.cells[1].stdout.endsWith(len) && r.cells[2].stdout.endsWith(len), JSON.stringify(r.cells));
    assert.match(r.cells[3].stdout, new RegExp(`${SECRET.length}\\n$`));
    assert.equal(r.cells[4].stdout, 'hi abc\n');
    assert.ok(r.message_count > 30, `${r.message_count} messages seen`);
    assert.ok(!r.messages.includes(SECRET), 'no message the kernel sent contains the secret');
    assert.ok(r.notebook.includes('hi abc') && r.notebook.includes('name? abc'), 'the notebook holds the outputs and the plain answer');
    assert.ok(!r.notebook.includes(SECRET), 'the saved notebook does not contain the secret');
    assert.match(r.log, /stdin|input_re/, 'the kernel log was written at debug level');
    assert.ok(!r.log.includes(SECRET), 'the kernel log does not contain the secret');
    assert.equal(r.history.length, 5);
    assert.ok(!JSON.stringify(r.history).includes(SECRET), 'the history does not contain the secret');
  });
});
