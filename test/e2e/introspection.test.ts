/**
 * Completion, inspection and is_complete end to end: Debian's jupyter_client (BlockingKernelClient,
 * test/e2e/py/introspection_client.py) against the real kernel, installed with
 * `nslab install --prefix DIR` and found through JUPYTER_PATH, running cells in a real lab.
 *
 * Cursor positions are in code points, as Jupyter counts them (a file name with an emoji checks
 * that). Latencies are measured by the client (request sent → reply read) and printed at the end.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { jupyterPython } from '../../src/cli/python.js';
import { jupyterTestEnv } from '../helpers/kernelspec.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const PYTHON = jupyterPython();
const CLIENT = join(REPO, 'test', 'e2e', 'py', 'introspection_client.py');

type Content = Record<string, any>;
interface Answer {
  id?: number;
  ready?: boolean;
  pid?: number;
  ok?: boolean;
  reply?: Content;
  ms?: number;
  stdout?: string;
  error?: string;
}

/** The Python client: one request at a time, answers on fd 3. */
class Client {
  private buffer = '';
  private log = '';
  private readonly waiting: ((a: Answer) => void)[] = [];
  private nextId = 1;
  readonly exited: Promise<void>;

  private constructor(private readonly child: ChildProcess) {
    const keep = (d: string) => {
      if (process.env.NSLAB_E2E_VERBOSE) process.stderr.write(d);
      this.log = (this.log + d).slice(-20_000);
    };
    child.stdout!.setEncoding('utf8').on('data', keep);
    child.stderr!.setEncoding('utf8').on('data', keep);
    (child.stdio[3] as Readable).setEncoding('utf8').on('data', (d: string) => {
      this.buffer += d;
      for (let nl = this.buffer.indexOf('\n'); nl >= 0; nl = this.buffer.indexOf('\n')) {
        const line = this.buffer.slice(0, nl);
        this.buffer = this.buffer.slice(nl + 1);
        if (line.trim()) this.waiting.shift()?.(JSON.parse(line) as Answer);
      }
    });
    this.exited = new Promise((r) =>
      child.on('exit', () => {
        for (const w of this.waiting.splice(0)) w({ ok: false, error: `the client exited\n${this.log}` });
        r();
      }),
    );
  }

  static async start(env: NodeJS.ProcessEnv): Promise<Client> {
    const child = spawn(PYTHON, [CLIENT], { env, cwd: REPO, stdio: ['pipe', 'pipe', 'pipe', 'pipe'] });
    const c = new Client(child);
    const ready = await c.next(90_000);
    if (!ready.ready) throw new Error(`the client did not start: ${ready.error}\n${c.log}`);
    return c;
  }

  get pid(): number {
    return this.child.pid!;
  }

  private next(timeoutMs: number): Promise<Answer> {
    return new Promise((resolvePromise) => {
      const timer = setTimeout(() => resolvePromise({ ok: false, error: `no answer within ${timeoutMs} ms\n${this.log}` }), timeoutMs);
      this.waiting.push((a) => {
        clearTimeout(timer);
        resolvePromise(a);
      });
    });
  }

  async request(op: string, args: Record<string, unknown>): Promise<{ reply: Content; ms: number; stdout: string }> {
    const id = this.nextId++;
    const answer = this.next(60_000);
    (this.child.stdin as Writable).write(JSON.stringify({ id, op, ...args }) + '\n');
    const a = await answer;
    if (!a.ok) throw new Error(`${op} failed: ${a.error}`);
    return { reply: a.reply!, ms: a.ms!, stdout: a.stdout ?? '' };
  }

  /** EOF: the client shuts its kernel down and exits; anything left is killed by PID. */
  async close(): Promise<void> {
    (this.child.stdin as Writable).end();
    const gone = await Promise.race([this.exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 20_000))]);
    if (!gone) {
      try {
        process.kill(this.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    // Kernels this client launched (JupyterManager sets JPY_PARENT_PID) and still running.
    for (const pid of processesWithEnv('JPY_PARENT_PID', String(this.pid))) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
}

function processesWithEnv(name: string, value: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/environ`, 'latin1').split('\0').includes(`${name}=${value}`)) out.push(Number(d));
    } catch {
      /* gone or not ours */
    }
  }
  return out;
}

const hasJupyterClient = () => existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import jupyter_client'], { timeout: 20_000 }).status === 0;

/** Code points (what Jupyter counts) of a JavaScript string. */
const cp = (s: string) => [...s].length;

describe('e2e: completion, inspection and is_complete through jupyter_client, in a real lab', function () {
  this.timeout(60_000);
  let prefix = '';
  let fixture = '';
  let client: Client | null = null;
  let mode = 'host';
  const latencies: Record<string, number[]> = { complete: [], inspect: [], is_complete: [] };
  const MARK = `/tmp/nslab-e2e-hostile-${process.pid}`;

  const c = () => client!;
  const execute = async (code: string) => {
    const r = await c().request('execute', { code, timeout: 30 });
    assert.equal(r.reply.status, 'ok', `${code}: ${JSON.stringify(r.reply)}`);
    return r.stdout;
  };
  const complete = async (code: string, cursor = cp(code)) => {
    const r = await c().request('complete', { code, cursor_pos: cursor });
    latencies.complete.push(r.ms);
    assert.equal(r.reply.status, 'ok');
    return r.reply as { matches: string[]; cursor_start: number; cursor_end: number };
  };
  const inspect = async (code: string, cursor: number) => {
    const r = await c().request('inspect', { code, cursor_pos: cursor });
    latencies.inspect.push(r.ms);
    assert.equal(r.reply.status, 'ok');
    return r.reply.found ? (r.reply.data['text/plain'] as string) : null;
  };
  const isComplete = async (code: string) => {
    const r = await c().request('is_complete', { code });
    latencies.is_complete.push(r.ms);
    return r.reply as { status: string; indent?: string };
  };

  before(async function () {
    this.timeout(120_000);
    if (!hasJupyterClient()) this.skip();
    assert.ok(existsSync(join(REPO, 'dist', 'src', 'cli', 'main.js')), 'build first (npx tsc -p .)');
    prefix = mkdtempSync(join(tmpdir(), 'nslab-e2e-intro-'));
    const inst = spawnSync(process.execPath, [join(REPO, 'dist', 'src', 'cli', 'main.js'), 'install', '--prefix', prefix], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(inst.status, 0, inst.stderr);
    // Files to complete, in a directory the lab sees too (it shares the machine's file system).
    fixture = mkdtempSync(join(tmpdir(), 'nslab-intro-fixture-'));
    for (const f of ['alpha-one.txt', 'alpha-two.txt', 'my file.txt', '🐧-penguin.txt', 'run.sh']) writeFileSync(join(fixture, f), '');
    mkdirSync(join(fixture, 'beta-dir'));
    client = await Client.start(jupyterTestEnv(join(prefix, 'share', 'jupyter'), prefix, { NSLAB_LOG: process.env.NSLAB_LOG ?? 'warn' }));
    // In a lab the first shell is PID 2 (tini is 1).
    mode = (await execute(`cd ${fixture} && echo "$$"`)).trim() === '2' ? 'lab' : 'host';
  });

  after(async function () {
    this.timeout(60_000);
    await client?.close();
    if (prefix) rmSync(prefix, { recursive: true, force: true });
    if (fixture) rmSync(fixture, { recursive: true, force: true });
    const stats = Object.entries(latencies)
      .filter(([, v]) => v.length)
      .map(([k, v]) => {
        const s = [...v].sort((a, b) => a - b);
        return `${k}: n=${s.length} median ${s[Math.floor(s.length / 2)].toFixed(0)} ms, p90 ${s[Math.floor(s.length * 0.9)].toFixed(0)} ms, max ${s[s.length - 1].toFixed(0)} ms`;
      });
    if (stats.length) console.log(`      latencies through jupyter_client (${mode}): ${stats.join('; ')}`);
  });

  it('completes file names relative to the terminal\'s directory: at a word\'s end, inside a word, in a multi-line cell', async function () {
    const end = await complete('cat al');
    assert.deepEqual(end.matches, ['alpha-one.txt', 'alpha-two.txt']);
    assert.deepEqual([end.cursor_start, end.cursor_end], [4, 6]);
    // Inside a word: the text before the cursor is matched, the whole word is replaced.
    const inside = await complete('cat alXYZ > /dev/null', 6);
    assert.deepEqual(inside.matches, ['alpha-one.txt', 'alpha-two.txt']);
    assert.deepEqual([inside.cursor_start, inside.cursor_end], [4, 9]);
    // The middle line of three, with an emoji earlier in the cell (code points, not UTF-16 units).
    const cell = 'echo 🐧 start\ncat alpha-t\necho end';
    const mid = await complete(cell, cp('echo 🐧 start\ncat alpha-t'));
    assert.deepEqual(mid.matches, ['alpha-two.txt']);
    assert.deepEqual([mid.cursor_start, mid.cursor_end], [cp('echo 🐧 start\ncat '), cp('echo 🐧 start\ncat alpha-t')]);
    const penguin = await complete('ls 🐧');
    assert.deepEqual(penguin.matches, ['🐧-penguin.txt']);
    assert.deepEqual([penguin.cursor_start, penguin.cursor_end], [3, 4]);
    // Directories end in '/', names are quoted as bash needs them, also inside an open quote.
    assert.deepEqual((await complete('ls be')).matches, ['beta-dir/']);
    assert.deepEqual((await complete('ls my')).matches, ['my\\ file.txt']);
    assert.deepEqual((await complete('ls "my')).matches, ['"my file.txt"']);
    // A cell option line in front changes nothing but the offsets.
    const opt = await complete('#| timeout: 5\ncat alpha-o');
    assert.deepEqual(opt.matches, ['alpha-one.txt']);
    assert.equal(opt.cursor_start, cp('#| timeout: 5\ncat '));
    // The completion of a cell option's own name.
    assert.deepEqual((await complete('#| term')).matches, ['terminal: ']);
  });

  it('completes commands, options from bash-completion (unshare --p) or the man page (ps -e), and option arguments', async function () {
    const cmd = await complete('unsha');
    assert.ok(cmd.matches.includes('unshare'), JSON.stringify(cmd.matches));
    assert.ok((await complete('ech')).matches.includes('echo'));
    const un = await complete('unshare --p');
    assert.ok(un.matches.includes('--pid') && un.matches.includes('--propagation'), JSON.stringify(un.matches));
    assert.deepEqual([un.cursor_start, un.cursor_end], [8, 11]);
    const ps = await complete('ps -e');
    assert.ok(ps.matches.includes('-e'), JSON.stringify(ps.matches));
    assert.deepEqual((await complete('unshare --propagation pri')).matches, ['private']);
    assert.deepEqual((await complete('unshare --propagation=pri')).matches, ['private']);
    // Through wrappers: the command after unshare's options is completed as a command.
    assert.ok((await complete('unshare --pid --fork --mount-proc bas')).matches.includes('bash'));
    assert.ok((await complete('sudo -u root unshare --mo')).matches.includes('--mount-proc'));
    // Inside $( … ) on a later line.
    const sub = await complete('x=1\necho "$(unsh', cp('x=1\necho "$(unsh'));
    assert.ok(sub.matches.includes('unshare'));
    assert.equal(sub.cursor_start, cp('x=1\necho "$('));
  });

  it('completes variables: the terminal shell\'s environment and the cell\'s own assignments', async function () {
    const home = await complete('echo $HO');
    assert.ok(home.matches.includes('$HOME'), JSON.stringify(home.matches));
    assert.deepEqual([home.cursor_start, home.cursor_end], [5, 8]);
    assert.ok((await complete('echo "${HO')).matches.includes('${HOME}'));
    assert.ok((await complete('MY_OWN_VAR=1\necho $MY_OW')).matches.includes('$MY_OWN_VAR'));
    assert.deepEqual((await complete("echo '$HO")).matches, [], 'no variables inside single quotes');
  });

  it('follows nested shells: after `unshare --pid --fork bash` and `cd /etc`, `cat pass` offers passwd', async function () {
    if (mode !== 'lab') this.skip();
    await execute('export NSLAB_E2E_NESTED=yes\nunshare --pid --fork bash');
    await execute('cd /etc');
    const pass = await complete('cat pass');
    assert.ok(pass.matches.includes('passwd'), JSON.stringify(pass.matches));
    // The nested shell's environment (it got the export when it started).
    assert.deepEqual((await complete('echo $NSLAB_E2E_NES')).matches, ['$NSLAB_E2E_NESTED']);
    // PIDs for kill come from the shell's /proc (the lab's), not from this machine.
    const pids = (await complete('kill ')).matches.map(Number);
    assert.ok(pids.includes(1) && pids.length < 50, JSON.stringify(pids));
    await execute('exit');
    assert.deepEqual((await complete('cat alpha-o')).matches, ['alpha-one.txt'], 'back in the outer shell, in the fixture');
    assert.deepEqual((await complete('cat pass')).matches, []);
  });

  it('inspects commands, builtins, options (with their continuation lines) and variables', async function () {
    const line = 'unshare --pid --fork --mount-proc bash';
    const option = await inspect(line, line.indexOf('--mount-proc') + 5);
    assert.ok(option, 'found');
    assert.match(option!, /--mount-proc/);
    assert.match(option!, /proc/);
    assert.ok(option!.split('\n').length >= 3, `the option's description lines are there:\n${option}`);
    assert.doesNotMatch(option!, /--fork\b.*\n.*fork/, 'only that option');
    assert.doesNotMatch(option!, /\x08|\x1b/, 'plain text');
    const command = await inspect(line, 3);
    assert.match(command!, /unshare/);
    assert.match(command!, /namespace/i);
    const cd = await inspect('cd /tmp', 1);
    assert.match(cd!, /^cd: cd /);
    const inner = await inspect(line, line.length);
    assert.match(inner!, /bash/i);
    assert.equal(await inspect('nslab_no_such_command_xyz', 5), null);
    assert.match((await inspect('echo $HOME', 8))!, /^HOME=/);
  });

  it('is_complete: complete / incomplete with an indent / invalid, as bash -n and a line continuation say', async function () {
    const samples: [string, string, string?][] = [
      ['echo hi', 'complete'],
      ['for i in 1 2; do', 'incomplete', '  '],
      ['for i in 1 2; do\n  if true; then', 'incomplete', '    '],
      ['if true; then\n  echo\nfi', 'complete'],
      ['cat <<EOF\nline', 'incomplete', ''],
      ['echo \\', 'incomplete'],
      ['echo "abc', 'incomplete', ''],
      ['echo $(ls', 'incomplete'],
      ['#| terminal: 2\nwhile true', 'incomplete'],
      ['#| terminal: 2\necho ok', 'complete'],
      ['fi', 'invalid'],
      [')', 'invalid'],
    ];
    for (const [code, status, indent] of samples) {
      const r = await isComplete(code);
      assert.equal(r.status, status, code);
      if (indent !== undefined) assert.equal(r.indent, indent, `indent after ${JSON.stringify(code)}`);
    }
  });

  it('never runs the text: hostile completion and inspection requests at every cursor position leave no trace', async function () {
    this.timeout(120_000);
    const hostile = [
      `echo $(touch ${MARK}-1)`,
      `cat '$(touch ${MARK}-2)`,
      `ls --color='$(touch ${MARK}-3)`,
      `kill \`touch ${MARK}-4\``,
      `diff <(touch ${MARK}-5) x;reboot`,
      `echo \${x:=$(touch ${MARK}-6)}`,
      `unshare --propagation '$(touch ${MARK}-7)`,
      `$(touch ${MARK}-8) --`,
    ];
    for (const code of hostile) {
      for (let k = 0; k <= cp(code); k += 3) {
        await complete(code, k);
        await inspect(code, k);
      }
      await complete(code);
      await isComplete(code);
    }
    const traces = readdirSync('/tmp').filter((f) => f.startsWith(`nslab-e2e-hostile-${process.pid}`));
    assert.deepEqual(traces, []);
    // Still working afterwards.
    assert.deepEqual((await complete('cat alpha-o')).matches, ['alpha-one.txt']);
  });

  it('answers while a cell is still running in the terminal (wait: false), and typically within 200 ms', async function () {
    await execute('#| wait: false\nsleep 3');
    const t0 = Date.now();
    const r = await complete('cat alpha-t');
    assert.deepEqual(r.matches, ['alpha-two.txt']);
    assert.ok(Date.now() - t0 < 2000);
    const sorted = [...latencies.complete].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)];
    assert.ok(median < 200, `median completion latency ${median.toFixed(0)} ms`);
  });
});
