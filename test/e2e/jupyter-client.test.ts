/**
 * nslab end to end through Debian's jupyter_client 7.4 (never through nslab's own protocol code):
 * the kernelspec is installed into a temporary prefix, jupyter_client's KernelManager starts the
 * kernel from it, and test/e2e/py/client_driver.py runs each scenario with a BlockingKernelClient
 * and reports every message it saw (channel, type, parent, content, arrival time). The
 * assertions are here. jupyter_client and pyzmq come from the project .venv (requirements.txt).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { installKernelspec, leftoverMessage, REPO, type InstalledKernelspec } from '../helpers/kernelspec.js';
import { PythonDriver } from '../helpers/python-driver.js';
import type { Proc } from '../helpers/processes.js';

const DRIVER = join(REPO, 'test', 'e2e', 'py', 'client_driver.py');

type Channel = 'shell' | 'control' | 'stdin' | 'iopub';
type Content = Record<string, any>;
interface Rec {
  channel: Channel;
  msg_type: string;
  msg_id: string;
  parent: { msg_id?: string; msg_type?: string; session?: string; username?: string };
  content: Content;
  ms: number;
  /** header.date of the message, in seconds (when the kernel made it). */
  date: number;
}
interface Header {
  msg_id: string;
  msg_type: string;
  session: string;
  username: string;
}
interface Executed {
  msg_id: string;
  records: Rec[];
  ms: number;
}

const of = (records: Rec[], id: string) => records.filter((r) => r.parent.msg_id === id);
/** `channel:msg_type[:state]`, consecutive stream messages merged (output may come in pieces). */
function sequence(records: Rec[]): string[] {
  const out: string[] = [];
  for (const r of records) {
    const s = `${r.channel}:${r.msg_type}${r.msg_type === 'status' ? ':' + r.content.execution_state : ''}`;
    if (!(s === 'iopub:stream' && out[out.length - 1] === s)) out.push(s);
  }
  return out;
}
/**
 * The messages of one request are `expected` (labels as sequence() makes them): on each channel
 * exactly in that order, as received; across channels in that order by the kernel's header.date,
 * since ZeroMQ keeps order per socket only (a reply sent before `idle` may be read after it).
 */
function assertOrder(records: Rec[], expected: string[]): void {
  const channels = [...new Set(expected.map((e) => e.split(':')[0]))];
  assert.deepEqual(
    [...new Set(records.map((r) => r.channel))].filter((c) => !channels.includes(c)),
    [],
    `only ${channels.join(', ')}: ${JSON.stringify(sequence(records))}`,
  );
  for (const ch of channels) {
    assert.deepEqual(sequence(records.filter((r) => r.channel === ch)), expected.filter((e) => e.startsWith(`${ch}:`)), `order on ${ch}`);
  }
  const queues = Object.fromEntries(channels.map((ch) => [ch, records.filter((r) => r.channel === ch)]));
  const ordered: Rec[] = [];
  for (const e of expected) {
    const q = queues[e.split(':')[0]];
    do ordered.push(q.shift()!);
    while (e === 'iopub:stream' && q[0]?.msg_type === 'stream');
  }
  for (let i = 1; i < ordered.length; i++) {
    const [a, b] = [ordered[i - 1], ordered[i]];
    assert.ok(a.date <= b.date, `the kernel made ${a.channel} ${a.msg_type} (${a.date}) before ${b.channel} ${b.msg_type} (${b.date})`);
  }
}
function replyOf(records: Rec[], id: string): Content {
  const r = records.find((m) => m.parent.msg_id === id && m.msg_type.endsWith('_reply'));
  assert.ok(r, `no reply to ${id}; saw ${JSON.stringify(sequence(records))}`);
  return r.content;
}
function streamText(records: Rec[], id: string, name: 'stdout' | 'stderr'): string {
  return of(records, id)
    .filter((r) => r.msg_type === 'stream' && r.content.name === name)
    .map((r) => r.content.text)
    .join('');
}
function statusOf(records: Rec[], id: string): string[] {
  return of(records, id)
    .filter((r) => r.channel === 'iopub' && r.msg_type === 'status')
    .map((r) => r.content.execution_state);
}

describe('e2e: nslab through jupyter_client (8.10, the project .venv)', function () {
  this.timeout(60_000);
  let spec: InstalledKernelspec;
  let driver: PythonDriver | null = null;
  const leftovers: Proc[] = [];

  before(function () {
    spec = installKernelspec();
  });

  after(async function () {
    this.timeout(60_000);
    if (driver) leftovers.push(...(await driver.close()));
    spec?.cleanup();
  });

  /** The driver (restarted if an earlier scenario had to kill it). */
  async function d(): Promise<PythonDriver> {
    if (!driver || !driver.alive) {
      if (driver) leftovers.push(...(await driver.close()));
      // Kernels log warnings at least (the bad-input test reads them).
      const NSLAB_LOG = ['debug', 'info'].includes(process.env.NSLAB_LOG ?? '') ? process.env.NSLAB_LOG : 'warn';
      driver = await PythonDriver.start(DRIVER, { ...spec.env, NSLAB_LOG });
    }
    return driver;
  }
  const execute = async (code: string, args: Record<string, unknown> = {}) => (await d()).call<Executed>('execute', { code, ...args });

  it('starts from the installed kernelspec', async function () {
    const r = await (await d()).call<{ pid: number; ready_ms: number }>('start');
    assert.ok(r.pid > 0);
    assert.ok(r.ready_ms < 20_000, `kernel took ${r.ready_ms} ms to answer kernel_info`);
  });

  describe('kernel_info', function () {
    const bashVersion = spawnSync('bash', ['-c', 'echo "${BASH_VERSINFO[0]}.${BASH_VERSINFO[1]}.${BASH_VERSINFO[2]}"'], { encoding: 'utf8' }).stdout.trim();

    for (const channel of ['shell', 'control'] as const) {
      it(`is answered on ${channel}: protocol 5.5, language_info for bash, banner, help_links; busy/idle around it`, async function () {
        const r = await (await d()).call<{ request: Header; records: Rec[] }>('kernel_info', { channel });
        const mine = of(r.records, r.request.msg_id);
        assertOrder(mine, [`iopub:status:busy`, `${channel}:kernel_info_reply`, `iopub:status:idle`]);
        for (const m of mine) assert.deepEqual(m.parent, r.request, `${m.msg_type} is parented to the request`);
        const c = replyOf(r.records, r.request.msg_id);
        assert.equal(c.status, 'ok');
        assert.equal(c.protocol_version, '5.5');
        assert.equal(c.implementation, 'nslab');
        assert.match(c.implementation_version, /^\d+\.\d+\.\d+/);
        assert.deepEqual({ ...c.language_info, version: undefined }, {
          name: 'bash',
          version: undefined,
          mimetype: 'text/x-sh',
          file_extension: '.sh',
          pygments_lexer: 'bash',
          codemirror_mode: 'shell',
        });
        assert.equal(c.language_info.version, bashVersion, 'the version of the bash in use');
        assert.ok(typeof c.banner === 'string' && c.banner.length > 0, 'a banner');
        assert.ok(Array.isArray(c.help_links) && c.help_links.length > 0, 'help_links');
        for (const l of c.help_links) assert.match(l.url, /^https?:\/\//, l.text);
        assert.deepEqual(c.supported_features, ['kernel subshells'], 'supported_features: kernel subshells (JEP 91)');
        assert.match(c.banner, /mode: (lab|rootless)\b/, 'the kernel runs its shells in a lab (Linux namespaces must be available to the tests)');
      });
    }
  });

  describe('execute', function () {
    it('orders busy → execute_input → stream → execute_reply → idle, all parented to the request', async function () {
      const r = await execute('echo hi');
      const mine = of(r.records, r.msg_id);
      assertOrder(mine, ['iopub:status:busy', 'iopub:execute_input', 'iopub:stream', 'shell:execute_reply', 'iopub:status:idle']);
      const request = mine[0].parent;
      assert.equal(request.msg_type, 'execute_request');
      for (const m of mine) assert.deepEqual(m.parent, request, `${m.channel} ${m.msg_type} has the request as parent_header`);
      assert.equal(mine.length, r.records.length, 'nothing unparented or foreign');
      const input = mine.find((m) => m.msg_type === 'execute_input')!;
      const reply = replyOf(r.records, r.msg_id);
      assert.equal(input.content.code, 'echo hi');
      assert.equal(input.content.execution_count, reply.execution_count);
      assert.deepEqual(reply, { status: 'ok', execution_count: reply.execution_count, user_expressions: {}, payload: [] });
      assert.equal(streamText(r.records, r.msg_id, 'stdout'), 'hi\n');
    });

    it('runs in the lab: `echo $$; hostname` prints 2 and lab', async function () {
      const r = await execute('echo $$; hostname');
      assert.equal(streamText(r.records, r.msg_id, 'stdout'), '2\nlab\n');
    });

    for (const [code, status] of [['false', 1], ['(exit 7)', 7]] as const) {
      it(`\`${code}\` → error reply and iopub error, ename ExitStatus, evalue with ${status}, no fake traceback`, async function () {
        const r = await execute(code);
        const mine = of(r.records, r.msg_id);
        assertOrder(mine, ['iopub:status:busy', 'iopub:execute_input', 'iopub:error', 'shell:execute_reply', 'iopub:status:idle']);
        const reply = replyOf(r.records, r.msg_id);
        const error = mine.find((m) => m.msg_type === 'error')!.content;
        assert.equal(reply.status, 'error');
        for (const e of [reply, error]) {
          assert.equal(e.ename, 'ExitStatus');
          assert.match(e.evalue, new RegExp(`\\b${status}\\b`));
          assert.ok(Array.isArray(e.traceback) && e.traceback.length <= 1, 'one line at most');
          assert.doesNotMatch(e.traceback.join('\n'), /Traceback|File "|at .*\.js/);
        }
        assert.equal(error.evalue, reply.evalue);
      });
    }

    it('silent: no execute_input, no output, execution_count unchanged; store_history false: count unchanged', async function () {
      const first = await execute('true');
      const before = replyOf(first.records, first.msg_id).execution_count as number;
      const silent = await execute('echo quiet', { silent: true });
      assertOrder(of(silent.records, silent.msg_id), ['iopub:status:busy', 'shell:execute_reply', 'iopub:status:idle']);
      assert.equal(replyOf(silent.records, silent.msg_id).status, 'ok');
      const unstored = await execute('echo unstored', { store_history: false });
      assert.equal(streamText(unstored.records, unstored.msg_id, 'stdout'), 'unstored\n');
      const after = await execute('true');
      assert.equal(replyOf(after.records, after.msg_id).execution_count, before + 1);
    }).timeout(30_000);

    it('user_expressions are answered (or explicitly empty)', async function () {
      const r = await execute('true', { user_expressions: { x: 'echo 1' } });
      const ue = replyOf(r.records, r.msg_id).user_expressions;
      assert.equal(typeof ue, 'object');
      if (Object.keys(ue).length) {
        assert.deepEqual(Object.keys(ue), ['x']);
        assert.ok(['ok', 'error'].includes(ue.x.status), JSON.stringify(ue));
      }
    });
  });

  describe('the namespace picture (nstree, issue 10)', function () {
    /** The display_data of a cell (exactly one), after asserting the message order. */
    async function picture(code = 'nstree'): Promise<{ text: string; svg: string }> {
      const r = await execute(code);
      const mine = of(r.records, r.msg_id);
      assertOrder(mine, ['iopub:status:busy', 'iopub:execute_input', 'iopub:display_data', 'shell:execute_reply', 'iopub:status:idle']);
      assert.equal(replyOf(r.records, r.msg_id).status, 'ok');
      const data = mine.find((m) => m.msg_type === 'display_data')!.content.data;
      assert.deepEqual(Object.keys(data).sort(), ['image/svg+xml', 'text/plain']);
      return { text: data['text/plain'], svg: data['image/svg+xml'] };
    }

    it('nested twice (the second with --mount) and a second terminal: every process with its PID in each namespace', async function () {
      const setup = ['#| terminal: 2\n#| wait: false\nsleep 1000', 'unshare --pid --fork bash', 'unshare --pid --fork --mount bash'];
      for (const code of setup) {
        const r = await execute(code);
        assert.equal(replyOf(r.records, r.msg_id).status, 'ok', code);
      }
      const { text, svg } = await picture();
      const lines = text.split('\n');
      const at = (re: RegExp) => {
        const i = lines.findIndex((l) => re.test(l));
        assert.ok(i >= 0, `${re} in:\n${text}`);
        return i;
      };
      at(/^\s*ns1\s+ns2\s+ns3\s+mnt\s+コマンド$/);
      const ns1 = at(/^\[ns1: ラボの PID 名前空間\]$/);
      const ns2 = at(/^ {2}\[ns2: ns1 の内側 — unshare --pid --fork bash \(ns1 の PID \d+\) が作成\]$/);
      const ns3 = at(/^ {4}\[ns3: ns2 の内側 — unshare --pid --fork --mount bash \(ns2 の PID \d+\) が作成\]$/);
      assert.ok(ns1 < ns2 && ns2 < ns3);
      // ns1: the lab's processes, one PID each, in mount namespace A.
      assert.match(lines[ns1 + 1], /^ +1 +A +tini -- bash$/);
      assert.match(lines[ns1 + 2], /^ +2 +A +bash {3}← ターミナル 1$/);
      const inNs1 = lines.slice(ns1 + 1, ns2).join('\n');
      assert.match(inNs1, /^ +\d+ +A +bash {3}← ターミナル 2$/m);
      assert.match(inNs1, /^ +\d+ +A +sleep 1000$/m);
      assert.match(inNs1, /^ +\d+ +A +unshare --pid --fork bash$/m);
      // ns2: PID 1 there; the second unshare already in the new mount namespace B.
      assert.match(lines[ns2 + 1], /^ +\d+ +1 +A +bash$/);
      assert.match(lines.slice(ns2 + 1, ns3).join('\n'), /^ +\d+ +\d+ +B +unshare --pid --fork --mount bash$/m);
      // ns3: the shell that ran nstree is PID 1 there, with a PID in each outer namespace too.
      assert.match(lines[ns3 + 1], /^ +\d+ +\d+ +1 +B +bash {3}← ★ nstree を実行したシェル$/);
      assert.match(lines[ns3 + 2], /^ +\d+ +\d+ +\d+ +B +nstree$/);
      assert.match(text, /nstree は ns3 で動いていますが、\/proc は ns1 のもの/);
      // The SVG says the same, in boxes.
      assert.equal((svg.match(/rx="6"/g) ?? []).length, 3, 'three namespace boxes');
      for (const t of ['sleep 1000', '← ターミナル 2', '★ nstree を実行したシェル', 'ns3: ns2 の内側']) assert.ok(svg.includes(t), t);
    });

    it('after mount -t proc in a nested namespace: only that namespace, and it says so', async function () {
      for (const code of ['exit', 'exit', 'unshare --pid --fork --mount-proc bash']) {
        const r = await execute(code);
        assert.equal(replyOf(r.records, r.msg_id).status, 'ok', code);
      }
      const { text } = await picture();
      assert.match(text, /この \/proc はラボの内側の PID 名前空間でマウントされたもの/);
      // A new namespace gets the next name of this lab (ns2 and ns3 were the ones before), and
      // the column is headed by it; --mount-proc's mount namespace is new too (C after A and B).
      assert.match(text, /\[ns4: この \/proc の PID 名前空間 \(ラボの内側\)\]\n +1 +C +bash {3}← ★ nstree を実行したシェル\n +\d+ +C +nstree$/);
      assert.match(text, /^ +ns4 +mnt {2}コマンド$/m);
      assert.doesNotMatch(text, /sleep 1000|tini/);
      // Back in the lab: end terminal 2's sleep from here (a cell in terminal 2 would wait for it).
      for (const code of ['exit', 'kill $(pgrep -x sleep)', '#| terminal: 2\ntrue']) await execute(code);
      const back = await picture();
      assert.doesNotMatch(back.text, /ns2|sleep 1000/);
    });

    it('piped, it prints its text form as stream output instead', async function () {
      const r = await execute('nstree | head -1');
      assert.equal(streamText(r.records, r.msg_id, 'stdout'), 'PID 名前空間ごとのプロセス (nstree: /proc から)\n');
      assert.ok(!of(r.records, r.msg_id).some((m) => m.msg_type === 'display_data'));
    });
  });

  describe('stop_on_error', function () {
    // `false` alone can finish in 3 ms, before a loaded machine has let the client send the
    // other two: the short sleep makes sure they are queued behind it when it fails.
    const codes = ['sleep 0.3; false', 'echo a', 'echo b'];
    type Many = { msg_ids: string[]; records: Rec[] };

    it('three executes sent at once: the two queued behind a failing one (`sleep 0.3; false`) are aborted', async function () {
      const r = await (await d()).call<Many>('execute_many', { codes });
      assert.deepEqual(r.msg_ids.map((id) => replyOf(r.records, id).status), ['error', 'aborted', 'aborted']);
      for (const id of r.msg_ids) assert.deepEqual(statusOf(r.records, id), ['busy', 'idle'], 'busy/idle around every request');
      assert.equal(r.records.filter((m) => m.msg_type === 'stream').length, 0, 'the aborted cells did not run');
      const next = await execute('echo c');
      assert.equal(streamText(next.records, next.msg_id, 'stdout'), 'c\n', 'the cell after the aborted ones runs');
    });

    it('with stop_on_error false the queued ones run', async function () {
      const r = await (await d()).call<Many>('execute_many', { codes, stop_on_error: false });
      assert.deepEqual(r.msg_ids.map((id) => replyOf(r.records, id).status), ['error', 'ok', 'ok']);
      assert.equal(streamText(r.records, r.msg_ids[1], 'stdout'), 'a\n');
      assert.equal(streamText(r.records, r.msg_ids[2], 'stdout'), 'b\n');
    });
  });

  describe('interrupt', function () {
    type Interrupted = { msg_id: string; interrupt_mode: string; records: Rec[]; reply_ms_after_interrupt: number };
    for (const how of ['message', 'sigint'] as const) {
      const label = how === 'message' ? 'km.interrupt_kernel() (interrupt_mode message → interrupt_request)' : 'SIGINT to the kernel process';
      it(`${label} ends \`sleep 100\` within 1 s with ename Interrupted; the next cell works`, async function () {
        const r = await (await d()).call<Interrupted>('interrupt', { how });
        if (how === 'message') assert.equal(r.interrupt_mode, 'message', 'kernel.json interrupt_mode');
        const reply = replyOf(r.records, r.msg_id);
        assert.equal(reply.status, 'error');
        assert.equal(reply.ename, 'Interrupted');
        assert.ok(r.reply_ms_after_interrupt < 1000, `reply ${r.reply_ms_after_interrupt} ms after the interrupt`);
        assert.deepEqual(statusOf(r.records, r.msg_id), ['busy', 'idle']);
        const next = await execute('echo after');
        assert.equal(replyOf(next.records, next.msg_id).status, 'ok');
        assert.equal(streamText(next.records, next.msg_id, 'stdout'), 'after\n');
      });
    }
  });

  describe('stdin', function () {
    it('allow_stdin: `read x` sends input_request; kc.input("hello") answers it → got hello', async function () {
      const r = await execute('read x; echo "got $x"', { allow_stdin: true, answers: ['hello'] });
      const requests = of(r.records, r.msg_id).filter((m) => m.channel === 'stdin');
      assert.equal(requests.length, 1);
      assert.equal(requests[0].msg_type, 'input_request');
      assert.equal(requests[0].content.password, false);
      assert.equal(replyOf(r.records, r.msg_id).status, 'ok');
      assert.match(streamText(r.records, r.msg_id, 'stdout'), /got hello\n$/);
    });

    it('without allow_stdin: no input_request, the output mentions end-of-file, the cell ends', async function () {
      const r = await execute('read x; echo "got $x"', { allow_stdin: false, stdin_grace: 0.3 });
      assert.equal(r.records.filter((m) => m.channel === 'stdin').length, 0, 'no input_request');
      const text = streamText(r.records, r.msg_id, 'stdout') + streamText(r.records, r.msg_id, 'stderr');
      assert.match(text, /end-of-file/);
      assert.match(text, /got \n/);
      assert.ok(r.ms < 5000, `${r.ms} ms`);
    });

    it('each input_request carries its own prompt (`read -p`, twice in one cell)', async function () {
      const r = await execute('read -p "name? " x; read -p "pw: " y; echo "got $x $y"', { allow_stdin: true, answers: ['hello', 'secret'] });
      const prompts = of(r.records, r.msg_id).filter((m) => m.msg_type === 'input_request').map((m) => m.content.prompt);
      assert.match(streamText(r.records, r.msg_id, 'stdout'), /got hello secret\n$/);
      // Regression: the second request used to carry the first prompt's text too ("name? pw: ").
      assert.deepEqual(prompts, ['name? ', 'pw: ']);
    });
  });

  describe('lifecycle', function () {
    type Shutdown = { msg_id: string; records: Rec[]; exit_code: number | null; exit_ms: number; processes_before: string[]; left: string[] };
    for (const restart of [false, true]) {
      it(`shutdown_request (restart ${restart}) on control is answered, then the kernel and its lab exit`, async function () {
        const r = await (await d()).call<Shutdown>('shutdown', { restart });
        const reply = r.records.find((m) => m.channel === 'control' && m.parent.msg_id === r.msg_id);
        assert.ok(reply, 'shutdown_reply on control');
        assert.deepEqual(reply.content, { status: 'ok', restart });
        assert.equal(reply.parent.msg_type, 'shutdown_request');
        assert.equal(r.exit_code, 0, 'the kernel process exited by itself, with status 0');
        assert.ok(r.exit_ms < 5000, `exited ${r.exit_ms} ms after the request`);
        assert.ok(r.processes_before.length >= 3, `the kernel had its lab: ${r.processes_before.join('; ')}`);
        assert.deepEqual(r.left, [], 'nothing of the kernel or its lab is left');
      });
    }

    it('km.restart_kernel() gives a fresh lab: `echo $$` is 2 again after nested shells', async function () {
      type Ran = { status: string; stdout: string };
      const r = await (await d()).call<{ nested: Ran[]; old_pid: number; new_pid: number; old_left: string[]; after: Ran; restart_ms: number }>('restart');
      assert.deepEqual(r.nested.map((x) => x.status), ['ok', 'ok', 'ok']);
      assert.notEqual(r.nested[2].stdout.trim(), '2', 'inside two nested shells $$ is not 2');
      assert.notEqual(r.new_pid, r.old_pid, 'a new kernel process');
      assert.deepEqual(r.old_left, [], 'the old kernel and its lab are gone');
      assert.deepEqual(r.after, { status: 'ok', stdout: '2\nlab\n' });
    });

    it('after `exec true` (ShellExited) the next cell reports a fresh shell', async function () {
      const r = await execute('exec true');
      const reply = replyOf(r.records, r.msg_id);
      assert.equal(reply.status, 'error');
      assert.equal(reply.ename, 'ShellExited');
      const next = await execute('echo $$');
      assert.equal(replyOf(next.records, next.msg_id).status, 'ok');
      assert.equal(streamText(next.records, next.msg_id, 'stdout'), '2\n');
      assert.match(streamText(next.records, next.msg_id, 'stderr'), /fresh/);
    });
  });

  describe('introspection', function () {
    type IsComplete = { code: string; reply: Content }[];
    type Requested = { msg_id: string; records: Rec[] };
    const request = async (method: string, args: Record<string, unknown>) => {
      const r = await (await d()).call<Requested>('request', { method, ...args });
      assert.deepEqual(statusOf(r.records, r.msg_id), ['busy', 'idle'], `busy/idle around ${method}`);
      return replyOf(r.records, r.msg_id);
    };

    it('is_complete: `echo hi` complete, `for i in 1; do` incomplete, `fi` invalid (and a few more)', async function () {
      const samples: [string, string][] = [
        ['echo hi', 'complete'],
        ['for i in 1; do echo $i; done', 'complete'],
        ['for i in 1; do', 'incomplete'],
        ['if true; then', 'incomplete'],
        ['cat <<EOF\nline', 'incomplete'],
        ['echo \\', 'incomplete'],
        ['fi', 'invalid'],
        ['done', 'invalid'],
        [')', 'invalid'],
      ];
      const r = await (await d()).call<IsComplete>('is_complete', { samples: samples.map(([c]) => c) });
      assert.deepEqual(r.map((x) => [x.code, x.reply.status]), samples);
      for (const x of r) if (x.reply.status === 'incomplete') assert.equal(typeof x.reply.indent, 'string', `indent for ${x.code}`);
    });

    it('is_complete: an open quote or $( is incomplete (bash would ask for more lines), as execute treats it', async function () {
      const samples = ['echo "abc', "echo 'abc", 'echo $(ls', 'echo `ls'];
      const r = await (await d()).call<IsComplete>('is_complete', { samples });
      const ran = await execute('echo "abc');
      assert.equal(replyOf(ran.records, ran.msg_id).ename, 'IncompleteInput', 'execute calls an open quote incomplete');
      // Regression: is_complete used to look for bash -n's "unexpected end of file" only, and
      // called these invalid; bash 5.2 says "unexpected EOF while looking for matching `\"'".
      assert.deepEqual(r.map((x) => [x.code, x.reply.status]), samples.map((c) => [c, 'incomplete']));
    });

    it('complete `ech` → echo among the matches, cursor 0..3', async function () {
      const c = await request('complete', { code: 'ech', cursor_pos: 3 });
      assert.equal(c.status, 'ok');
      assert.ok(c.matches.includes('echo'), JSON.stringify(c.matches));
      assert.equal(c.cursor_start, 0);
      assert.equal(c.cursor_end, 3);
    });

    it('inspect `unshare` is found (text/plain); a made-up name is not', async function () {
      const found = await request('inspect', { code: 'unshare', cursor_pos: 7 });
      assert.equal(found.status, 'ok');
      assert.equal(found.found, true);
      assert.match(found.data['text/plain'], /unshare/);
      const missing = await request('inspect', { code: 'nslab_no_such_command_xyz', cursor_pos: 5 });
      assert.equal(missing.status, 'ok');
      assert.equal(missing.found, false);
    });

    it('history tail returns the last cells as (session, line, code)', async function () {
      const a = await execute('echo history-one');
      const b = await execute('echo history-two');
      const h = await request('history', { hist_access_type: 'tail', n: 2, raw: true, output: false });
      assert.equal(h.status, 'ok');
      const counts = [replyOf(a.records, a.msg_id).execution_count, replyOf(b.records, b.msg_id).execution_count];
      assert.deepEqual(
        h.history.map((e: [number, number, string]) => [e[1], e[2]]),
        [
          [counts[0], 'echo history-one'],
          [counts[1], 'echo history-two'],
        ],
      );
      for (const e of h.history) assert.equal(typeof e[0], 'number', 'session number');
    });

    it('comm_info: ok, no comms', async function () {
      assert.deepEqual(await request('comm_info', {}), { status: 'ok', comms: {} });
    });
  });

  describe('bad input', function () {
    it('wrong or missing signatures (shell, control, stdin) and an unknown msg_type get no reply and run nothing; kernel_info right after is answered', async function () {
      const before = await execute('true');
      const r = await (await d()).call<{ bad_ids: Record<string, string>; unknown_id: string; good_ids: string[]; records: Rec[]; kernel_alive: boolean }>('bad_input');
      for (const [name, id] of Object.entries(r.bad_ids)) {
        assert.deepEqual(of(r.records, id), [], `${name}: nothing answers or is parented to it`);
      }
      assert.doesNotMatch(JSON.stringify(r.records), /BAD-SIGNATURE-RAN|UNSIGNED-RAN/);
      assert.deepEqual(sequence(of(r.records, r.unknown_id)), ['iopub:status:busy', 'iopub:status:idle'], 'unknown msg_type: busy/idle, no reply');
      for (const id of r.good_ids) assert.equal(replyOf(r.records, id).status, 'ok');
      assert.ok(r.kernel_alive, 'a wrongly signed shutdown_request was not obeyed');
      for (const ch of ['shell', 'control', 'stdin']) {
        const logged = await (await d()).waitForLog(new RegExp(`\\b${ch}\\b.*signature|signature.*\\b${ch}\\b`, 'i'));
        assert.ok(logged, `the kernel logged the drop on ${ch}:\n${(await d()).recentLog()}`);
      }
      const after = await execute('true');
      assert.equal(replyOf(after.records, after.msg_id).execution_count, replyOf(before.records, before.msg_id).execution_count + 1, 'no wrongly signed execute counted');
    });
  });

  // Mocha runs a suite's own tests before its child suites: this one must be in the last child.
  describe('cleanup', function () {
    it('leaves no process behind (kernels and labs of every scenario)', async function () {
      if (driver) leftovers.push(...(await driver.close()));
      driver = null;
      assert.deepEqual(leftovers, [], leftoverMessage(leftovers));
    });
  });
});
