/**
 * Kernel subshells (JEP 91, protocol 5.5) in the kernel core, on an in-memory transport with a
 * scripted shell: create/list/delete on control, one serial queue per subshell running beside
 * the others, each with its busy/idle, execution count, history and abort-after-error; unknown
 * ids, the terminal bound, delete of the main shell, and requests during a restart.
 */
import assert from 'node:assert/strict';
import { Kernel } from '../../src/kernel/kernel.js';
import { MAX_TERMINALS } from '../../src/kernel/cell-options.js';
import { MemoryTransport, type SentMessage } from '../../src/protocol/memory-transport.js';
import type { ContentMap, Message } from '../../src/protocol/messages.js';
import { ScriptedShell, childrenOf, describeSent, execute, isIdleFor, replyTo, request } from './scripted-shell.js';

type Content = Record<string, any>;

/** Resolves once `cond` holds (checked every few ms, for at most 2 s). */
async function until(cond: () => boolean): Promise<void> {
  for (const end = Date.now() + 2000; !cond(); await new Promise((r) => setTimeout(r, 5))) {
    if (Date.now() > end) throw new Error('condition not met within 2 s');
  }
}

describe('kernel core: subshells (JEP 91, protocol 5.5)', () => {
  let transport: MemoryTransport;
  let shell: ScriptedShell;

  beforeEach(async () => {
    transport = new MemoryTransport();
    shell = new ScriptedShell();
    await new Kernel(transport, shell, { implementationVersion: '0.0.0' }).start();
  });

  /** Send on `channel` and wait for the request's idle; its reply content. */
  async function ask(channel: 'shell' | 'control', req: Message): Promise<Content> {
    transport.deliver(channel, req);
    await transport.waitFor(isIdleFor(req));
    const reply = replyTo(transport, req);
    assert.ok(reply, `${req.header.msg_type} got a reply`);
    return reply.msg.content as Content;
  }
  const create = () => ask('control', request('create_subshell_request', {}));
  const list = () => ask('control', request('list_subshell_request', {}));
  const remove = (id: unknown) => ask('control', request('delete_subshell_request', { subshell_id: id as string }));
  const text = (req: Message, name = 'stdout') =>
    childrenOf(transport, req).filter((s) => s.msg.header.msg_type === 'stream' && (s.msg.content as Content).name === name).map((s) => (s.msg.content as Content).text).join('');
  const errorOf = (req: Message) => childrenOf(transport, req).find((s) => s.msg.header.msg_type === 'error')?.msg.content as ContentMap['error'] | undefined;

  it('says protocol 5.5 and "kernel subshells" in kernel_info', async () => {
    const info = await ask('shell', request('kernel_info_request', {}));
    assert.equal(info.protocol_version, '5.5');
    assert.deepEqual(info.supported_features, ['kernel subshells']);
    assert.ok(transport.sent.filter((s) => s.msg.header.msg_type !== 'status' || (s.msg.content as Content).execution_state !== 'starting').every((s) => s.msg.header.version === '5.5'));
  });

  it('creates subshells that become the next free terminals with their first cell; lists them (main shell not listed)', async () => {
    const req = request('create_subshell_request', {});
    const first = await ask('control', req);
    assert.equal(first.status, 'ok');
    assert.match(first.subshell_id, /^[0-9a-f-]{36}$/);
    assert.deepEqual(childrenOf(transport, req).map(describeSent), ['iopub:status:busy', 'control:create_subshell_reply', 'iopub:status:idle']);
    const second = await create();
    // JupyterLab makes a subshell per comm target too: no terminal, no shell until a cell runs.
    assert.deepEqual(shell.opened, []);
    assert.deepEqual(await list(), { status: 'ok', subshell_id: [first.subshell_id, second.subshell_id], terminals: {} });
    await ask('shell', execute('echo first', {}, second.subshell_id));
    // A notebook cell uses terminal 3: the next subshell skips it.
    await ask('shell', execute('#| terminal: 3\necho notebook'));
    await ask('shell', execute('echo second', {}, first.subshell_id));
    assert.deepEqual(shell.opened, [{ terminal: 2, console: true }, { terminal: 4, console: true }], 'a subshell terminal starts marked as a console');
    assert.deepEqual(shell.runs.map((r) => [r.terminal, r.code]), [[2, 'echo first'], [3, 'echo notebook'], [4, 'echo second']]);
    assert.deepEqual((await list()).terminals, { [second.subshell_id]: 2, [first.subshell_id]: 4 });
  });

  it('runs a subshell beside the main shell: own busy/idle, execution count, history, first line saying its terminal', async () => {
    const { subshell_id: sub } = await create();
    const main = execute('block');
    transport.deliver('shell', main);
    await transport.waitFor((s) => s.msg.header.msg_type === 'execute_input');
    const a = execute('echo from the console', {}, sub);
    const b = execute('echo again', {}, sub);
    transport.deliver('shell', a);
    transport.deliver('shell', b);
    await transport.waitFor(isIdleFor(b));
    assert.ok(shell.isBlocked(1) && !transport.sent.some(isIdleFor(main)), 'the main shell is still busy');
    assert.deepEqual(childrenOf(transport, a).map(describeSent), ['iopub:status:busy', 'iopub:execute_input', 'iopub:stream', 'iopub:stream', 'shell:execute_reply', 'iopub:status:idle']);
    for (const s of childrenOf(transport, a)) assert.equal((s.msg.parent_header as Content).subshell_id, sub, 'parent header keeps the subshell_id');
    assert.match(text(a, 'stderr'), /this subshell is terminal 2 of the lab.*"#\| terminal: 2" runs here too/);
    assert.equal(text(a), 'from the console\n');
    assert.equal(text(b, 'stderr'), '', 'said once');
    assert.deepEqual([a, b].map((r) => (replyTo(transport, r)!.msg.content as Content).execution_count), [1, 2]);
    assert.deepEqual(shell.runs.map((r) => [r.terminal, r.code]), [[1, 'block'], [2, 'echo from the console'], [2, 'echo again']]);
    shell.finish(1);
    await transport.waitFor(isIdleFor(main));
    assert.equal((replyTo(transport, main)!.msg.content as Content).execution_count, 1, 'the main shell counts on its own');
    const hist = (id?: string) => ask('shell', request('history_request', { output: false, raw: true, hist_access_type: 'tail', n: 10 }, id));
    assert.deepEqual((await hist()).history, [[0, 1, 'block']]);
    assert.deepEqual((await hist(sub)).history, [[0, 1, 'echo from the console'], [0, 2, 'echo again']]);
    const info = await ask('shell', request('kernel_info_request', {}, sub));
    assert.match(info.banner, /This subshell is terminal 2 of the lab/);
  });

  it('aborts after an error only in the failing subshell queue', async () => {
    const { subshell_id: sub } = await create();
    const subBlock = execute('block', {}, sub);
    const subQueued = execute('echo still runs', {}, sub);
    const mainFail = execute('fail 1');
    const mainQueued = execute('echo aborted');
    for (const m of [subBlock, subQueued, mainFail, mainQueued]) transport.deliver('shell', m);
    await transport.waitFor(isIdleFor(mainQueued));
    assert.equal((replyTo(transport, mainQueued)!.msg.content as Content).status, 'aborted');
    shell.finish(2);
    await transport.waitFor(isIdleFor(subQueued));
    assert.equal((replyTo(transport, subQueued)!.msg.content as Content).status, 'ok');
    assert.equal(text(subQueued), 'still runs\n');
  });

  it('answers a request for an unknown subshell with an error reply, never silence', async () => {
    const bogus = 'no-such-subshell';
    const cell = execute('echo x', {}, bogus);
    const reply = await ask('shell', cell);
    assert.equal(reply.status, 'error');
    assert.equal(reply.ename, 'UnknownSubshell');
    assert.deepEqual(childrenOf(transport, cell).map(describeSent), ['iopub:status:busy', 'iopub:error', 'shell:execute_reply', 'iopub:status:idle']);
    const completion = await ask('shell', request('complete_request', { code: 'ec', cursor_pos: 2 }, bogus));
    assert.equal(completion.ename, 'UnknownSubshell');
    const empty = await ask('shell', execute('echo x', {}, ''));
    assert.equal(empty.ename, 'UnknownSubshell', 'an empty id names no subshell');
    const comm = request('comm_msg', { comm_id: 'c', data: {} }, bogus);
    transport.deliver('shell', comm);
    await transport.waitFor(isIdleFor(comm));
    assert.deepEqual(childrenOf(transport, comm).map(describeSent), ['iopub:status:busy', 'iopub:status:idle']);
    const info = await ask('shell', request('kernel_info_request', {}, bogus));
    assert.equal(info.status, 'ok', 'kernel_info is about the kernel: a console whose subshell is gone still connects');
    assert.equal(shell.runs.length, 0);
  });

  it('deletes a subshell: its running cell and queue end with errors, its terminal ends, its id is gone', async () => {
    const { subshell_id: sub } = await create();
    const running = execute('block', {}, sub);
    const queued = execute('echo never', {}, sub);
    transport.deliver('shell', running);
    transport.deliver('shell', queued);
    await until(() => shell.isBlocked(2));
    assert.deepEqual(await remove(sub), { status: 'ok' });
    assert.deepEqual(shell.ended, [2]);
    await transport.waitFor(isIdleFor(running));
    await transport.waitFor(isIdleFor(queued));
    assert.equal(errorOf(running)?.ename, 'SubshellDeleted');
    assert.equal((replyTo(transport, queued)!.msg.content as Content).ename, 'SubshellDeleted');
    assert.deepEqual(shell.runs.map((r) => r.code), ['block']);
    assert.deepEqual((await list()).subshell_id, []);
    const late = await ask('shell', execute('echo late', {}, sub));
    assert.equal(late.ename, 'UnknownSubshell');
    const again = await remove(sub);
    assert.equal(again.ename, 'UnknownSubshell');
    const next = (await create()).subshell_id;
    await ask('shell', execute('echo next', {}, next));
    assert.deepEqual(shell.runs.at(-1), { terminal: 2, code: 'echo next', options: { wait: true } }, 'the number is free again');
  });

  it('refuses to delete the main shell, or a request without an id', async () => {
    const main = await remove(null);
    assert.equal(main.status, 'error');
    assert.equal(main.ename, 'MainShell');
    assert.match(main.evalue, /main shell .* cannot be deleted/);
    const none = await ask('control', request('delete_subshell_request', {} as ContentMap['delete_subshell_request']));
    assert.equal(none.ename, 'BadRequest');
    for (const odd of [42, {}, ['x']]) assert.equal((await remove(odd)).ename, 'UnknownSubshell');
    assert.equal((await ask('shell', execute('echo alive'))).status, 'ok');
  });

  it('bounds the terminals: hundreds of creates give the free ones, then a clear error each, and the kernel goes on', async () => {
    const requests = Array.from({ length: 300 }, () => request('create_subshell_request', {}));
    for (const r of requests) transport.deliver('control', r);
    await transport.waitFor(isIdleFor(requests[requests.length - 1]), 5000);
    const replies = requests.map((r) => replyTo(transport, r)!.msg.content as Content);
    const ok = replies.filter((r) => r.status === 'ok');
    assert.equal(ok.length, MAX_TERMINALS - 1);
    assert.equal(new Set(ok.map((r) => r.subshell_id)).size, ok.length);
    const refused = replies.filter((r) => r.status === 'error');
    assert.equal(refused.length, 300 - ok.length);
    assert.ok(refused.every((r) => r.ename === 'TerminalLimit'));
    assert.match(refused[0].evalue, new RegExp(`there are ${MAX_TERMINALS - 1} subshells already, one for each of the lab's terminals 2–${MAX_TERMINALS}; close a subshell console`));
    for (const r of ok) await ask('shell', execute('echo hi', {}, r.subshell_id));
    assert.deepEqual(shell.runs.map((r) => r.terminal), Array.from({ length: MAX_TERMINALS - 1 }, (_, i) => i + 2));
    assert.equal((await ask('shell', execute('echo alive'))).status, 'ok');
    assert.equal((await remove(ok[3].subshell_id)).status, 'ok');
    const again = await create();
    assert.equal(again.status, 'ok');
    await ask('shell', execute('echo again', {}, again.subshell_id));
    assert.equal(shell.runs.at(-1)!.terminal, 5);
  });

  it('a subshell whose first cell finds every terminal taken by notebook cells gets a clear error, nothing run', async () => {
    for (let n = 2; n <= MAX_TERMINALS; n++) await ask('shell', execute(`#| terminal: ${n}\necho ${n}`));
    const { subshell_id: sub } = await create();
    const cell = execute('echo never', {}, sub);
    const reply = await ask('shell', cell);
    assert.equal(reply.ename, 'TerminalLimit');
    assert.match(reply.evalue, /all 9 terminals of the lab are in use \(1: the main shell; 2, 3, 4, 5, 6, 7, 8, 9: notebook cells with #\| terminal\), so this subshell has none; nothing was run/);
    assert.ok(!shell.runs.some((r) => r.code === 'echo never'));
  });

  it('one terminal, two doors: a notebook cell with #| terminal: N reaches the subshell terminal, one cell at a time', async () => {
    const { subshell_id: sub } = await create();
    const terminal = 2;
    const consoleCell = execute('block', {}, sub);
    transport.deliver('shell', consoleCell);
    await transport.waitFor((s) => s.msg.header.msg_type === 'execute_input');
    const clash = execute(`#| terminal: ${terminal}\necho from the notebook`);
    await ask('shell', clash);
    assert.equal(errorOf(clash)?.ename, 'TerminalBusy');
    assert.match(errorOf(clash)!.evalue, /terminal 2 is running a cell sent from the subshell of terminal 2 \(its console\); nothing was run/);
    shell.finish(terminal);
    await transport.waitFor(isIdleFor(consoleCell));
    assert.equal((await ask('shell', execute(`#| terminal: ${terminal}\necho from the notebook`))).status, 'ok');
    assert.equal((await ask('shell', execute('#| terminal: 1\necho from the console', {}, sub))).status, 'ok');
    assert.deepEqual(shell.runs.slice(-2).map((r) => [r.terminal, r.code]), [[2, 'echo from the notebook'], [1, 'echo from the console']]);
  });

  it('interrupt is kernel-wide: it stops the cells of every shell', async () => {
    const { subshell_id: sub } = await create();
    const a = execute('block');
    const b = execute('block', {}, sub);
    transport.deliver('shell', a);
    transport.deliver('shell', b);
    await until(() => shell.isBlocked(1) && shell.isBlocked(2));
    await ask('control', request('interrupt_request', {}));
    await transport.waitFor(isIdleFor(a));
    await transport.waitFor(isIdleFor(b));
    assert.deepEqual([errorOf(a)?.ename, errorOf(b)?.ename], ['Interrupted', 'Interrupted']);
  });

  it('routes stdin per subshell: two programs asking at once get their own answers', async () => {
    const { subshell_id: sub } = await create();
    const a = execute('ask', { allow_stdin: true });
    const b = execute('ask', { allow_stdin: true }, sub);
    transport.deliver('shell', a);
    transport.deliver('shell', b);
    const askOf = (req: Message) => transport.waitFor((s) => s.channel === 'stdin' && (s.msg.parent_header as Content).msg_id === req.header.msg_id);
    const [askA, askB] = await Promise.all([askOf(a), askOf(b)]);
    transport.deliver('stdin', { ...request('input_reply', { value: 'console' }), parent_header: askB.msg.header });
    transport.deliver('stdin', { ...request('input_reply', { value: 'notebook' }), parent_header: askA.msg.header });
    await transport.waitFor(isIdleFor(a));
    await transport.waitFor(isIdleFor(b));
    assert.deepEqual([text(a), text(b)], ['got notebook\n', 'got console\n']);
  });

  it('answers every subshell request during a restart, and refuses new subshells then', async () => {
    const { subshell_id: sub } = await create();
    // stop_on_error false: the queued cells are not aborted after the first one's error, they
    // meet the shutdown themselves.
    const running = execute('block', { stop_on_error: false }, sub);
    const queued = execute('echo queued', {}, sub);
    transport.deliver('shell', running);
    transport.deliver('shell', queued);
    await until(() => shell.isBlocked(2));
    const restart = request('shutdown_request', { restart: true });
    const during = request('create_subshell_request', {});
    const cellDuring = execute('echo during', {}, sub);
    transport.deliver('control', restart);
    transport.deliver('control', during);
    transport.deliver('shell', cellDuring);
    const all = [running, queued, cellDuring, during, restart];
    for (const r of all) await transport.waitFor(isIdleFor(r));
    const status = (r: Message) => (replyTo(transport, r)!.msg.content as Content);
    assert.deepEqual(all.map((r) => status(r).status), ['error', 'error', 'error', 'error', 'ok']);
    assert.deepEqual([running, queued, cellDuring, during].map((r) => status(r).ename), Array(4).fill('KernelShuttingDown'));
    assert.deepEqual(shell.runs.map((r) => r.code), ['block'], 'nothing new ran');
    const replies: SentMessage[] = transport.sent.filter((s) => s.msg.header.msg_type === 'shutdown_reply');
    assert.equal(replies.length, 1);
  });
});
