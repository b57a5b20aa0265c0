/**
 * Soak (issue 8): 1000 mixed cells in one kernel — output, errors, nested shells in and out,
 * interrupts, input requests answered and unanswered, binary output, a second terminal, the lab
 * ended and started again — while the kernel's RSS and open file descriptors are sampled every
 * 100 cells. Bounds: RSS grows less than 30 MB after the warm-up (the first 200 cells), and the
 * fd count, sampled in the same state each time, stays within ±2 of the first sample.
 * NSLAB_SOAK_CELLS changes the number of cells.
 */
import assert from 'node:assert/strict';
import type { Client, Executed } from './client.js';
import { sleep } from './client.js';
import { KernelProcess, assertLabGone, fdCount, rssKb } from './kernel-process.js';
import { report, type SoakSample } from './report.js';
import { Rng } from '../helpers/rng.js';

const CELLS = Number(process.env.NSLAB_SOAK_CELLS ?? 1000);
const WARMUP = Math.min(200, CELLS / 5);
const RSS_BOUND_MB = 30;
const FD_BOUND = 2;

type Kind = 'output' | 'error' | 'nested' | 'interrupt' | 'input-answered' | 'input-refused' | 'input-interrupted' | 'binary' | 'terminal2' | 'option-error' | 'lab-restart';

describe('hostile: soak, 1000 mixed cells in one kernel @slow', function () {
  this.timeout(300_000);
  let kernel: KernelProcess;
  let client: Client;

  before(async function () {
    kernel = await KernelProcess.launch();
    client = await kernel.client();
    // The checks (PID 2, nested namespaces) describe a lab; without namespaces there is none.
    if ((await kernel.mode(client)) === 'host') this.skip();
  });

  after(async function () {
    if (!kernel) return;
    report.invalidFromKernel += client.invalid;
    const lab = kernel.snapshot();
    await kernel.stop(client);
    await assertLabGone(lab);
  });

  it(`${CELLS} cells: every one answered as expected; RSS and fds flat`, async () => {
    const rng = new Rng(0x50a6);
    const counts = new Map<Kind, number>();
    const samples: SoakSample[] = [];
    const failures: string[] = [];
    const started = Date.now();
    let answer = '';
    client.onInputRequest = () => answer || null;

    const sample = async (cell: number) => {
      // The same state at every sample: both terminals running, nothing in flight.
      await client.execute('#| terminal: 2\n:');
      await sleep(100);
      samples.push({ cell, rssMb: rssKb(kernel.pid) / 1024, fds: fdCount(kernel.pid) });
    };
    await sample(0);

    const check = (kind: Kind, i: number, r: Executed, ok: boolean, what: string) => {
      if (!ok && failures.length < 20) failures.push(`cell ${i} (${kind}): ${what}; got ${JSON.stringify(r.reply.content).slice(0, 200)} ${JSON.stringify(r.stdout.slice(0, 200))}`);
    };

    for (let i = 1; i <= CELLS; i++) {
      const kind: Kind =
        i % 250 === 0
          ? 'lab-restart'
          : rng.weighted<Kind>([
              [60, 'output'],
              [10, 'error'],
              [5, 'nested'],
              [4, 'interrupt'],
              [4, 'input-answered'],
              [3, 'input-refused'],
              [1, 'input-interrupted'],
              [3, 'binary'],
              [5, 'terminal2'],
              [2, 'option-error'],
            ]);
      counts.set(kind, (counts.get(kind) ?? 0) + 1);
      try {
        await runCell(kind, i);
      } catch (err) {
        failures.push(`cell ${i} (${kind}): ${(err as Error).message}`);
        break;
      }
      if (i % 100 === 0) await sample(i);
    }

    async function runCell(kind: Kind, i: number): Promise<void> {
      switch (kind) {
        case 'output': {
          const n = rng.int(1, 300);
          const r = await client.execute(rng.bool() ? `seq 1 ${n}` : `for i in $(seq ${n}); do echo "line $i of cell ${i}"; done | tail -n 1`);
          const want = r.stdout.startsWith('line') ? `line ${n} of cell ${i}\n` : Array.from({ length: n }, (_, k) => `${k + 1}\n`).join('');
          check(kind, i, r, r.reply.content.status === 'ok' && r.stdout === want, 'output');
          break;
        }
        case 'error': {
          const r = await client.execute(rng.pick(['false', '(exit 3)', 'ls /nonexistent-nslab', 'no-such-command-nslab']));
          check(kind, i, r, r.reply.content.status === 'error' && r.reply.content.ename === 'ExitStatus', 'an ExitStatus error');
          break;
        }
        case 'nested': {
          const cmd = rng.pick(['bash', 'unshare --pid --fork --mount-proc bash', 'sh']);
          const a = await client.execute(cmd);
          const b = await client.execute('echo "inside $$"');
          const c = await client.execute('exit');
          const d = await client.execute('echo "outside $$"');
          const inner = cmd.startsWith('unshare') ? 'inside 1\n' : null;
          check(kind, i, b, b.reply.content.status === 'ok' && (inner === null ? /^inside \d+\n$/.test(b.stdout) : b.stdout === inner), 'the nested shell answers');
          check(kind, i, d, a.reply.content.status === 'ok' && c.reply.content.status === 'ok' && d.stdout === 'outside 2\n', 'back in the lab\'s shell');
          break;
        }
        case 'interrupt': {
          const cell = await client.submit('sleep 30');
          await sleep(rng.int(20, 150));
          await client.request('control', 'interrupt_request', {}, 5000);
          const r = await cell.finish(10_000);
          check(kind, i, r, r.reply.content.ename === 'Interrupted', 'Interrupted');
          break;
        }
        case 'input-answered': {
          answer = `ans${i}`;
          const r = await client.execute("read -p 'name? ' x; echo \"hi [$x]\"", { allowStdin: true });
          answer = '';
          check(kind, i, r, r.stdout === `hi [ans${i}]\n`, 'the answer');
          break;
        }
        case 'input-refused': {
          const r = await client.execute("read -p 'name? ' x; echo \"hi [$x]\"", { allowStdin: false });
          check(kind, i, r, r.reply.content.status === 'ok' && r.stdout.endsWith('hi []\n'), 'end-of-file for read');
          break;
        }
        case 'input-interrupted': {
          const asked = client.inputRequests.length;
          const cell = await client.submit("read -p 'never answered? ' x; echo \"hi [$x]\"", { allowStdin: true });
          const deadline = Date.now() + 10_000;
          while (client.inputRequests.length === asked && Date.now() < deadline) await sleep(10);
          await client.request('control', 'interrupt_request', {}, 5000);
          const r = await cell.finish(10_000);
          check(kind, i, r, r.reply.content.ename === 'Interrupted', 'Interrupted while waiting for input');
          break;
        }
        case 'binary': {
          const r = await client.execute('head -c 400 /dev/urandom; echo');
          check(kind, i, r, r.reply.content.status === 'ok', 'binary output passes');
          break;
        }
        case 'terminal2': {
          const r = await client.execute(`#| terminal: 2\necho "t2 $((${i} * 2))"`);
          check(kind, i, r, r.stdout === `t2 ${i * 2}\n`, 'terminal 2');
          break;
        }
        case 'option-error': {
          const r = await client.execute('#| bogus: 1\necho never');
          check(kind, i, r, r.reply.content.ename === 'CellOptionError' && r.stdout === '', 'CellOptionError, nothing run');
          break;
        }
        case 'lab-restart': {
          const r = await client.execute('exit');
          const next = await client.execute('echo $$');
          check(kind, i, next, r.reply.content.status !== undefined && next.stdout.endsWith('2\n'), 'a fresh lab');
          break;
        }
      }
    }

    const seconds = (Date.now() - started) / 1000;
    // Nested shells and lab restarts take several cells, the samples one each: the execution
    // count says how many cells ran in all.
    const executed = ((await client.execute(':')).reply.content.execution_count as number) - 1;
    const afterWarmup = samples.filter((s) => s.cell >= WARMUP);
    const warm = afterWarmup[0] ?? samples[samples.length - 1];
    const maxRss = Math.max(...afterWarmup.map((s) => s.rssMb));
    const fds = samples.map((s) => s.fds);
    report.soak = {
      cells: executed,
      mix: `${CELLS} steps: ` + [...counts].map(([k, n]) => `${k} ${n}`).join(', '),
      samples,
      warmRssMb: warm.rssMb,
      maxRssMb: maxRss,
      rssBoundMb: RSS_BOUND_MB,
      fdsMin: Math.min(...fds),
      fdsMax: Math.max(...fds),
      seconds,
    };
    assert.deepEqual(failures, []);
    assert.ok(maxRss - warm.rssMb < RSS_BOUND_MB, `RSS grew ${(maxRss - warm.rssMb).toFixed(1)} MB after cell ${warm.cell}`);
    assert.ok(Math.max(...fds) - samples[0].fds <= FD_BOUND && samples[0].fds - Math.min(...fds) <= FD_BOUND, `fd counts ${fds.join(' ')}`);
    assert.equal(client.invalid, 0);
    assert.deepEqual(kernel.internalErrors, []);
  });
});
