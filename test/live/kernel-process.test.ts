/**
 * The kernel process itself: it must not outlive the process that started it (a frontend
 * killed with SIGKILL never says shutdown), and its lab goes with it.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { assertAllGone } from '../helpers/engine.js';
import { loopbackConnectionInfo } from '../helpers/net.js';
import { processTree } from '../../src/shell/procfs.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));


describe('the kernel process', function () {
  this.timeout(20000);

  it('shuts down, with its lab, when the process that started it is killed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nslab-orphan-'));
    try {
      const conn = join(dir, 'kernel.json');
      writeFileSync(conn, JSON.stringify(await loopbackConnectionInfo()));
      // A launcher shell that starts the kernel and reports its PID, like a frontend would.
      const launcher = spawn('sh', ['-c', `"${process.execPath}" "${MAIN}" kernel "${conn}" & echo $! > "${dir}/pid"; wait`], { stdio: 'ignore' });
      let kernelPid = 0;
      for (let i = 0; i < 100 && !kernelPid; i++) {
        await new Promise((r) => setTimeout(r, 50));
        try { kernelPid = Number(readFileSync(join(dir, 'pid'), 'utf8')); } catch { /* not yet */ }
      }
      assert.ok(kernelPid > 0, 'the kernel started');
      // Wait until the lab runs (tini among the kernel's descendants).
      let tree: number[] = [];
      for (let i = 0; i < 100; i++) {
        tree = processTree(kernelPid);
        if (tree.some((p) => { try { return readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'tini'; } catch { return false; } })) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.ok(tree.length >= 3, `the kernel runs a lab: ${tree.join(' ')}`);
      launcher.kill('SIGKILL');
      await assertAllGone(tree, 5000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
