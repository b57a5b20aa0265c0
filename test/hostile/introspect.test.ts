/**
 * Hostile input (issue 8): complete, inspect and is_complete never run the text they are given.
 * Hostile cells (command substitutions, backquotes, `;`, process substitutions, `reboot`…) with
 * the cursor at many positions, through the raw client and through Debian's jupyter_client; every
 * request must get its reply, and nothing may happen: each payload is a `touch` of a file of its
 * own, and the kernel runs with a PATH whose first directory holds fake `reboot`, `poweroff`,
 * `halt` and `shutdown` that only create a file — so "no reboot" is checked by files too.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Client } from './client.js';
import { sleep, within } from './client.js';
import { KernelProcess, MAIN, REPO, assertLabGone, snapshotLab, type LabSnapshot } from './kernel-process.js';
import { report } from './report.js';
import { Rng } from '../helpers/rng.js';
import { jupyterPython } from '../../src/cli/python.js';
import { jupyterTestEnv } from '../helpers/kernelspec.js';

const token = randomBytes(6).toString('hex');
const PREFIX = `nslab-pwned-${token}`;
let counter = 0;
const pwn = () => `/tmp/${PREFIX}-${++counter}`;
const FAKE_COMMANDS = ['reboot', 'poweroff', 'halt', 'shutdown'];

/** The issue's examples and their relatives; `@` is replaced by a fresh file name. */
const FIXED: string[] = [
  '$(touch @)',
  '`touch @`',
  ';touch @',
  'x; reboot',
  '$(reboot)',
  '`reboot`',
  'echo $(reboot)',
  '<(touch @)',
  'cat <(touch @) >(touch @)',
  'echo $(touch @)/',
  'ls "$(touch @)"',
  "cat '$(touch @)",
  'echo "`touch @`',
  '$((`touch @`))',
  '${x:-$(touch @)}',
  'ls ~$(touch @)',
  'echo {a,$(touch @)}',
  'unshare --pid --fork $(touch @)',
  'sudo $(touch @)',
  'env X=$(touch @) ls',
  'ls --color=$(touch @)',
  'kill $(touch @)',
  'cat <<EOF\n$(touch @)\nEOF',
  'cat <<EOF\n$(touch @)',
  "PS1='$(touch @)'",
  'eval "touch @"',
  'exec touch @',
  'source <(echo touch @)',
  'compgen -W \'$(touch @)\' x',
  'f() { touch @; }; f',
  'case $(touch @) in x) ;; esac',
  '[[ $(touch @) ]]',
  'for i in $(touch @); do :; done',
  "echo $'\\x24(touch @)'",
  'a | touch @ && reboot',
  '#| terminal: 2\n$(touch @)',
  'echo 😀 $(touch @) 日本',
];

function positions(code: string, rng: Rng): number[] {
  const cps = [...code].length;
  const out = new Set([0, 1, Math.floor(cps / 3), Math.floor(cps / 2), cps - 1, cps, cps + 7]);
  for (const marker of ['$(', '`', 'touch', 'reboot', ';', '<(']) {
    const at = code.indexOf(marker);
    if (at >= 0) {
      const cp = [...code.slice(0, at)].length;
      out.add(cp);
      out.add(cp + marker.length);
      out.add(cp + marker.length + 2);
    }
  }
  out.add(rng.int(0, cps));
  return [...out].filter((p) => p >= 0).sort((a, b) => a - b);
}

const PREFIXES = ['', 'echo ', 'ls ', 'cat ', 'unshare --pid --fork ', 'nsenter -t 1 -m ', 'sudo ', 'env X=1 ', 'git ', 'ip netns exec ', 'kill ', 'ssh ', 'man ', 'for i in ', 'if ', 'case x in ', '[[ ', 'x=', 'echo "', "echo '", 'cat <<EOF\n', 'f() { ', '$((', '${x:-', 'a | ', 'a && ', 'a; ', '# ', 'mount -t ', 'ps -', 'timeout 1 '];
const PAYLOADS = ['$(touch @)', '`touch @`', ';touch @', '|touch @', '&&touch @', '<(touch @)', '>(touch @)', '$((`touch @`))', '${x:-$(touch @)}', '"$(touch @)"', "'$(touch @)'", "$'\\x24(touch @)'", '\\$(touch @)', '$(touch @)/', '~$(touch @)', '-$(touch @)', '--x=$(touch @)', '*$(touch @)*', '{a,$(touch @)}', '!$(touch @)', '\n$(touch @)\n', 'touch @', '$(touch${IFS}@)', '$(<@)'];
const SUFFIXES = ['', ' ', '/', ' -', ' --', '\n', ')', '`', '"', ' | ', ' && ls', ' $HO', ' ~/'];

function randomCode(rng: Rng): string {
  let code = rng.pick(PREFIXES) + rng.pick(PAYLOADS) + rng.pick(SUFFIXES);
  if (rng.bool(0.3)) code += rng.pick(PAYLOADS) + rng.pick(SUFFIXES);
  return code;
}

const instantiate = (code: string) => code.replace(/@/g, () => pwn());

function created(): string[] {
  return readdirSync('/tmp').filter((f) => f.startsWith(PREFIX));
}

describe('hostile: complete, inspect and is_complete never run the text @slow', function () {
  this.timeout(180_000);
  const rng = new Rng(0x1a7e);
  let fakeBin: string;
  let kernel: KernelProcess;
  let client: Client;
  let lab: LabSnapshot;
  let bootId: string;
  let executions = 0;
  const env = () => ({ PATH: `${fakeBin}:${process.env.PATH}` });

  before(async function () {
    bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8');
    fakeBin = mkdtempSync(join(tmpdir(), 'nslab-hostile-bin-'));
    for (const name of FAKE_COMMANDS) {
      writeFileSync(join(fakeBin, name), `#!/bin/sh\ntouch /tmp/${PREFIX}-ran-${name}\n`);
      chmodSync(join(fakeBin, name), 0o755);
    }
    kernel = await KernelProcess.launch({ env: env() });
    client = await kernel.client();
    lab = kernel.snapshot();
  });

  after(async function () {
    if (kernel) {
      report.invalidFromKernel += client.invalid;
      lab = kernel.alive ? kernel.snapshot() : lab; // what runs now: terminals started later included
      await kernel.stop(client);
      await assertLabGone(lab);
    }
    for (const f of created()) rmSync(`/tmp/${f}`, { force: true });
    if (fakeBin) rmSync(fakeBin, { recursive: true, force: true });
  });

  /** Ask all three; count replies; returns what failed. */
  async function introspect(code: string, cursors: number[]): Promise<string[]> {
    const failed: string[] = [];
    const ask = async (type: string, content: object) => {
      report.introspection.requests++;
      try {
        const r = await client.request('shell', type, content, 30_000);
        if (r.header.msg_type !== type.replace('_request', '_reply')) failed.push(`${type}: answered with ${r.header.msg_type}`);
        else report.introspection.replies++;
      } catch (err) {
        failed.push(`${type} ${JSON.stringify(code)}: ${(err as Error).message}`);
      }
    };
    for (const cursor_pos of cursors) {
      await ask('complete_request', { code, cursor_pos });
      await ask('inspect_request', { code, cursor_pos, detail_level: rng.pick([0, 1]) });
    }
    await ask('is_complete_request', { code });
    return failed;
  }

  it('the checks are real: the lab shares /tmp, and its shells find the fake reboot first', async () => {
    const path = pwn();
    const r = await client.execute(`touch ${path}; command -v reboot`);
    executions++;
    assert.ok(existsSync(path), 'a touch in the lab is not visible here');
    rmSync(path);
    assert.equal(r.stdout.trim(), join(fakeBin, 'reboot'));
  });

  it(`the issue's examples and ${FIXED.length - 5} relatives, the cursor at every interesting position`, async () => {
    const failed: string[] = [];
    for (const template of FIXED) {
      const code = instantiate(template);
      failed.push(...(await introspect(code, positions(code, rng))));
    }
    assert.deepEqual(failed, [], 'requests without a proper reply');
    assert.deepEqual(created(), [], 'files created by introspection');
  });

  it('300 generated hostile cells, a random cursor each', async () => {
    const failed: string[] = [];
    for (let i = 0; i < 300; i++) {
      const code = instantiate(randomCode(rng));
      const cps = [...code].length;
      failed.push(...(await introspect(code, [rng.int(0, cps), cps])));
    }
    assert.deepEqual(failed, [], 'requests without a proper reply');
    assert.deepEqual(created(), [], 'files created by introspection');
  });

  it('introspection while a cell runs is answered at once and does not disturb the cell', async () => {
    const cell = await client.submit('sleep 4; echo slept');
    executions++;
    const started = Date.now();
    const code = instantiate('echo $(touch @) `touch @`; reboot');
    const failed = await introspect(code, [0, 8, [...code].length]);
    const took = Date.now() - started;
    const r = await cell.finish();
    assert.deepEqual(failed, []);
    assert.ok(took < 3500, `introspection waited for the cell (${took} ms)`);
    assert.equal(r.reply.content.status, 'ok');
    assert.equal(r.stdout, 'slept\n');
  });

  it("through jupyter_client (Debian's python3) as well: every request answered", async function () {
    const cases = FIXED.slice(0, 12).map((t) => {
      const code = instantiate(t);
      return [code, [0, Math.floor([...code].length / 2), [...code].length]] as [string, number[]];
    });
    const results = await viaJupyterClient(cases, env());
    const expected = cases.reduce((n, [, ps]) => n + ps.length * 2 + 1, 0);
    report.introspection.requests += expected;
    const answered = results.filter(([, status]) => !status.startsWith('no reply'));
    report.introspection.replies += answered.length;
    assert.equal(results.length, expected);
    assert.deepEqual(results.filter(([, status]) => status.startsWith('no reply')), []);
    assert.deepEqual(created(), [], 'files created by introspection');
  });

  it('nothing ran: no file, no fake reboot, the same boot, the execution count untouched', async () => {
    await sleep(500);
    const files = created();
    report.introspection.files += files.length;
    assert.deepEqual(files, []);
    for (const name of FAKE_COMMANDS) assert.ok(!existsSync(`/tmp/${PREFIX}-ran-${name}`), `${name} ran`);
    assert.equal(readFileSync('/proc/sys/kernel/random/boot_id', 'utf8'), bootId);
    const r = await client.execute('echo done');
    assert.equal(r.reply.content.execution_count, executions + 1, 'introspection ran a cell');
    assert.ok(kernel.alive);
    assert.deepEqual(kernel.internalErrors, []);
  });
});

/**
 * Runs py/introspect_client.py with nslab's kernelspec installed into a throwaway prefix; checks
 * the kernel jupyter_client launched leaves no lab behind.
 */
async function viaJupyterClient(cases: [string, number[]][], extraEnv: Record<string, string>): Promise<[string, string][]> {
  const prefix = mkdtempSync(join(tmpdir(), 'nslab-hostile-spec-'));
  try {
    const install = spawn(process.execPath, [MAIN, 'install', '--prefix', prefix], { stdio: 'ignore' });
    assert.equal(await new Promise((r) => install.on('exit', r)), 0, 'nslab install --prefix failed');
    const child = spawn(jupyterPython(), [join(REPO, 'test', 'hostile', 'py', 'introspect_client.py')], {
      cwd: prefix,
      env: jupyterTestEnv(join(prefix, 'share', 'jupyter'), prefix, extraEnv),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-20_000)));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const lines = createInterface({ input: child.stdout! });
    const next = () => within(90_000, 'a line from the jupyter_client script', new Promise<string>((r) => lines.once('line', r)));
    let lab: LabSnapshot | null = null;
    let kernelPid = 0;
    try {
      child.stdin!.write(JSON.stringify(cases) + '\n');
      const first = JSON.parse(await next()) as { pid: number };
      kernelPid = first.pid;
      await sleep(1000); // the lab starts right after the kernel
      lab = snapshotLab(kernelPid);
      child.stdin!.write('go\n');
      const { results } = JSON.parse(await next()) as { results: [string, string][] };
      assert.equal(await within(30_000, 'the jupyter_client script to exit', exited), 0, stderr);
      return results;
    } catch (err) {
      child.kill('SIGKILL');
      // The kernel jupyter_client started, if still there (its command line names nslab's main).
      if (kernelPid && existsSync(`/proc/${kernelPid}/cmdline`) && readFileSync(`/proc/${kernelPid}/cmdline`, 'utf8').includes(MAIN)) {
        process.kill(kernelPid, 'SIGKILL');
      }
      throw new Error(`${(err as Error).message}\n${stderr}`);
    } finally {
      if (lab) await assertLabGone(lab, 10_000);
    }
  } finally {
    rmSync(prefix, { recursive: true, force: true });
  }
}
