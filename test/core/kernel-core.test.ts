/**
 * The kernel core on an in-memory transport with a scripted shell: message order, parents,
 * stop_on_error, control while a cell runs, stdin, cell options. No sockets, no PTY.
 */
import assert from 'node:assert/strict';
import { Kernel } from '../../src/kernel/kernel.js';
import { MemoryTransport } from '../../src/protocol/memory-transport.js';
import { type Message, type ContentMap } from '../../src/protocol/messages.js';
import { ScriptedShell, childrenOf, client, describeSent, execute, isIdleFor, request } from './scripted-shell.js';

describe('kernel core (in-memory transport)', () => {
  let transport: MemoryTransport;
  let shell: ScriptedShell;
  let shutdowns: boolean[];

  beforeEach(async () => {
    transport = new MemoryTransport();
    shell = new ScriptedShell();
    shutdowns = [];
    await new Kernel(transport, shell, { implementationVersion: '0.0.0', onShutdown: (r) => shutdowns.push(r) }).start();
  });

  it('says starting once, with no parent', () => {
    const starting = transport.sent.filter((s) => s.msg.header.msg_type === 'status');
    assert.equal(starting.length, 1);
    assert.deepEqual(starting[0].msg.content, { execution_state: 'starting' });
    assert.deepEqual(starting[0].msg.parent_header, {});
  });

  it('orders an execute: busy → execute_input → stream → reply → idle, all parented', async () => {
    const req = execute('echo hello');
    transport.deliver('shell', req);
    await transport.waitFor(isIdleFor(req));
    assert.deepEqual(childrenOf(transport, req).map(describeSent), [
      'iopub:status:busy', 'iopub:execute_input', 'iopub:stream', 'shell:execute_reply', 'iopub:status:idle',
    ]);
    const stream = childrenOf(transport, req).find((s) => s.msg.header.msg_type === 'stream')!;
    assert.deepEqual(stream.msg.content, { name: 'stdout', text: 'hello\n' });
    const reply = childrenOf(transport, req).find((s) => s.channel === 'shell')!;
    assert.equal((reply.msg.content as { status: string }).status, 'ok');
    assert.equal((reply.msg.content as { execution_count: number }).execution_count, 1);
    assert.deepEqual(reply.msg.identities, [Buffer.from('c1')], 'the reply is routed to the requesting client');
    for (const s of childrenOf(transport, req).filter((x) => x.channel === 'iopub')) assert.deepEqual(s.msg.identities, []);
  });

  it('sends rich output as display_data in its place among the stream, parented', async () => {
    const req = execute('picture ns1');
    transport.deliver('shell', req);
    await transport.waitFor(isIdleFor(req));
    assert.deepEqual(childrenOf(transport, req).map(describeSent), [
      'iopub:status:busy', 'iopub:execute_input', 'iopub:stream', 'iopub:display_data', 'iopub:stream', 'shell:execute_reply', 'iopub:status:idle',
    ]);
    const display = childrenOf(transport, req).find((s) => s.msg.header.msg_type === 'display_data')!;
    assert.deepEqual(display.msg.content, { data: { 'text/plain': 'picture of ns1', 'image/svg+xml': '<svg/>' }, metadata: {} });
    assert.equal((childrenOf(transport, req).find((s) => s.channel === 'shell')!.msg.content as { status: string }).status, 'ok');
    const silent = execute('picture ns1', { silent: true });
    transport.deliver('shell', silent);
    await transport.waitFor(isIdleFor(silent));
    assert.ok(!childrenOf(transport, silent).some((s) => s.msg.header.msg_type === 'display_data'), 'silent: no display_data');
  });

  it('reports a non-zero exit status as an error, with no fake traceback', async () => {
    const req = execute('fail 3');
    transport.deliver('shell', req);
    await transport.waitFor(isIdleFor(req));
    const error = childrenOf(transport, req).find((s) => s.msg.header.msg_type === 'error')!;
    const content = error.msg.content as ContentMap['error'];
    assert.equal(content.ename, 'ExitStatus');
    assert.match(content.evalue, /exit status 3/);
    assert.equal(content.traceback.length, 1);
    const reply = childrenOf(transport, req).find((s) => s.channel === 'shell')!;
    assert.equal((reply.msg.content as { status: string }).status, 'error');
    assert.deepEqual(childrenOf(transport, req).map(describeSent).slice(-3), ['iopub:error', 'shell:execute_reply', 'iopub:status:idle']);
  });

  it('aborts executes queued behind an error (stop_on_error), but not later ones', async () => {
    const failing = execute('block');
    const queued1 = execute('echo a');
    const queued2 = execute('echo b');
    transport.deliver('shell', failing);
    transport.deliver('shell', queued1);
    transport.deliver('shell', queued2);
    // The scripted `block` ends as interrupted (an error) once interrupted from control.
    transport.deliver('control', request('interrupt_request', {}));
    await transport.waitFor(isIdleFor(queued2));
    for (const q of [queued1, queued2]) {
      const reply = childrenOf(transport, q).find((s) => s.channel === 'shell')!;
      assert.equal((reply.msg.content as { status: string }).status, 'aborted');
      assert.deepEqual(childrenOf(transport, q).map(describeSent), ['iopub:status:busy', 'shell:execute_reply', 'iopub:status:idle']);
    }
    assert.deepEqual(shell.runs.map((r) => r.code), ['block'], 'aborted cells never reach the shell');
    const later = execute('echo c');
    transport.deliver('shell', later);
    await transport.waitFor(isIdleFor(later));
    assert.equal((childrenOf(transport, later).find((s) => s.channel === 'shell')!.msg.content as { status: string }).status, 'ok');
  });

  it('runs queued cells after an error when stop_on_error is false', async () => {
    const failing = execute('fail 1', { stop_on_error: false });
    const next = execute('echo a');
    transport.deliver('shell', failing);
    transport.deliver('shell', next);
    await transport.waitFor(isIdleFor(next));
    assert.equal((childrenOf(transport, next).find((s) => s.channel === 'shell')!.msg.content as { status: string }).status, 'ok');
  });

  it('serves control while a cell runs: kernel_info answers, interrupt ends the cell', async () => {
    const cell = execute('block');
    transport.deliver('shell', cell);
    await transport.waitFor((s) => s.msg.header.msg_type === 'execute_input');
    const info = request('kernel_info_request', {});
    transport.deliver('control', info);
    const infoReply = await transport.waitFor((s) => s.channel === 'control' && s.msg.header.msg_type === 'kernel_info_reply');
    assert.equal((infoReply.msg.content as { language_info: { name: string } }).language_info.name, 'bash');
    assert.ok(!transport.sent.some(isIdleFor(cell)), 'the cell is still running');
    transport.deliver('control', request('interrupt_request', {}));
    await transport.waitFor(isIdleFor(cell));
    const err = childrenOf(transport, cell).find((s) => s.msg.header.msg_type === 'error')!;
    assert.equal((err.msg.content as { ename: string }).ename, 'Interrupted');
    assert.equal(shell.interrupts, 1);
  });

  it('answers kernel_info on shell while a cell runs; its idle waits until the kernel is idle', async () => {
    const cell = execute('block');
    transport.deliver('shell', cell);
    await transport.waitFor((s) => s.msg.header.msg_type === 'execute_input');
    const info = request('kernel_info_request', {});
    transport.deliver('shell', info);
    await transport.waitFor((s) => s.channel === 'shell' && s.msg.header.msg_type === 'kernel_info_reply');
    assert.ok(!transport.sent.some(isIdleFor(info)), 'no idle while the cell still runs');
    transport.deliver('control', request('interrupt_request', {}));
    await transport.waitFor(isIdleFor(info));
    const order = transport.sent.filter((s) => isIdleFor(cell)(s) || isIdleFor(info)(s));
    assert.deepEqual(order.map((s) => (s.msg.parent_header as { msg_id: string }).msg_id), [cell.header.msg_id, info.header.msg_id]);
  });

  it('asks for input on stdin when allowed, and routes the answer back', async () => {
    const cell = execute('ask', { allow_stdin: true });
    transport.deliver('shell', cell);
    const ask = await transport.waitFor((s) => s.channel === 'stdin');
    assert.equal(ask.msg.header.msg_type, 'input_request');
    assert.deepEqual(ask.msg.content, { prompt: 'Name: ', password: false });
    assert.deepEqual(ask.msg.identities, [Buffer.from('c1')]);
    transport.deliver('stdin', { ...request('input_reply', { value: 'Ada' }), parent_header: ask.msg.header });
    await transport.waitFor(isIdleFor(cell));
    const stream = childrenOf(transport, cell).find((s) => s.msg.header.msg_type === 'stream')!;
    assert.equal((stream.msg.content as { text: string }).text, 'got Ada\n');
  });

  it('never asks for input when allow_stdin is false (the program gets end-of-file)', async () => {
    const cell = execute('ask', { allow_stdin: false });
    transport.deliver('shell', cell);
    await transport.waitFor(isIdleFor(cell));
    assert.ok(!transport.sent.some((s) => s.channel === 'stdin'));
    assert.equal((childrenOf(transport, cell).find((s) => s.msg.header.msg_type === 'stream')!.msg.content as { text: string }).text, 'EOF\n');
  });

  it('interrupt while waiting for input cancels the request', async () => {
    const cell = execute('ask', { allow_stdin: true });
    transport.deliver('shell', cell);
    await transport.waitFor((s) => s.channel === 'stdin');
    transport.deliver('control', request('interrupt_request', {}));
    await transport.waitFor(isIdleFor(cell));
    assert.equal((childrenOf(transport, cell).find((s) => s.msg.header.msg_type === 'stream')!.msg.content as { text: string }).text, 'EOF\n');
  });

  it('keeps silent cells silent and out of the execution count', async () => {
    const quiet = execute('echo hidden', { silent: true });
    transport.deliver('shell', quiet);
    await transport.waitFor(isIdleFor(quiet));
    assert.deepEqual(childrenOf(transport, quiet).map(describeSent), ['iopub:status:busy', 'shell:execute_reply', 'iopub:status:idle']);
    const loud = execute('echo shown');
    transport.deliver('shell', loud);
    await transport.waitFor(isIdleFor(loud));
    const input = childrenOf(transport, loud).find((s) => s.msg.header.msg_type === 'execute_input')!;
    assert.equal((input.msg.content as { execution_count: number }).execution_count, 1);
  });

  it('rejects malformed cell options before running anything', async () => {
    const cell = execute('#| terminal: zero\n#| colour: red\necho x');
    transport.deliver('shell', cell);
    await transport.waitFor(isIdleFor(cell));
    assert.equal(shell.runs.length, 0);
    const err = childrenOf(transport, cell).find((s) => s.msg.header.msg_type === 'error')!.msg.content as ContentMap['error'];
    assert.equal(err.ename, 'CellOptionError');
    assert.match(err.evalue, /terminal must be a number/);
    assert.match(err.evalue, /unknown cell option `colour`/);
  });

  it('passes terminal and wait options to the shell; a trailing # comment explains an option', async () => {
    const cell = execute('#| terminal: 2  # 2 つ目のターミナルで実行\n#| wait: false # 終わるのを待たずに次へ\necho hello');
    transport.deliver('shell', cell);
    await transport.waitFor(isIdleFor(cell));
    assert.deepEqual(shell.runs[0], { terminal: 2, code: 'echo hello', options: { wait: false } });
    assert.equal((childrenOf(transport, cell).find((s) => s.channel === 'shell')!.msg.content as { status: string }).status, 'ok');

    // A `#` that is not after white space is part of the value, as in bash.
    const glued = execute('#| terminal: 2#3\necho x');
    transport.deliver('shell', glued);
    await transport.waitFor(isIdleFor(glued));
    const gluedErr = childrenOf(transport, glued).find((s) => s.msg.header.msg_type === 'error')!.msg.content as ContentMap['error'];
    assert.match(gluedErr.evalue, /terminal must be a number from 1 to 9, not `2#3`/);
  });

  it('checks are not cell options: an old `#| expect-…` line says where checks live, and nothing runs', async () => {
    const cell = execute('#| expect-output: hello\necho hello');
    transport.deliver('shell', cell);
    await transport.waitFor(isIdleFor(cell));
    assert.equal(shell.runs.length, 0);
    const err = childrenOf(transport, cell).find((s) => s.msg.header.msg_type === 'error')!.msg.content as ContentMap['error'];
    assert.equal(err.ename, 'CellOptionError');
    assert.match(err.evalue, /`expect-output` is no longer a cell option: a check lives in the cell's metadata/);
  });

  it('reports an unfinished command as IncompleteInput', async () => {
    const cell = execute('incomplete');
    transport.deliver('shell', cell);
    await transport.waitFor(isIdleFor(cell));
    const err = childrenOf(transport, cell).find((s) => s.msg.header.msg_type === 'error')!.msg.content as ContentMap['error'];
    assert.equal(err.ename, 'IncompleteInput');
  });

  it('still sends busy and idle for an unknown message type', async () => {
    const odd = { ...request('kernel_info_request', {}), header: { ...client.header('kernel_info_request'), msg_type: 'frobnicate_request' } } as unknown as Message;
    transport.deliver('shell', odd);
    await transport.waitFor(isIdleFor(odd));
    assert.deepEqual(childrenOf(transport, odd).map(describeSent), ['iopub:status:busy', 'iopub:status:idle']);
  });

  it('answers history, comm_info, and user_expressions explicitly', async () => {
    const cell = execute('echo one', { user_expressions: { x: '$HOME' } });
    transport.deliver('shell', cell);
    await transport.waitFor(isIdleFor(cell));
    const reply = childrenOf(transport, cell).find((s) => s.channel === 'shell')!.msg.content as { user_expressions: Record<string, { status: string }> };
    assert.equal(reply.user_expressions.x.status, 'error');
    const hist = request('history_request', { output: false, raw: true, hist_access_type: 'tail', n: 5 });
    transport.deliver('shell', hist);
    const hr = await transport.waitFor((s) => s.msg.header.msg_type === 'history_reply');
    assert.deepEqual((hr.msg.content as { history: unknown[] }).history, [[0, 1, 'echo one']]);
    const comm = request('comm_info_request', {});
    transport.deliver('shell', comm);
    const cr = await transport.waitFor((s) => s.msg.header.msg_type === 'comm_info_reply');
    assert.deepEqual(cr.msg.content, { status: 'ok', comms: {} });
  });

  it('shuts down on request: the shells end, then the reply goes out', async () => {
    const req = request('shutdown_request', { restart: true });
    transport.deliver('control', req);
    const reply = await transport.waitFor((s) => s.msg.header.msg_type === 'shutdown_reply');
    assert.equal(reply.channel, 'control');
    assert.deepEqual(reply.msg.content, { status: 'ok', restart: true });
    assert.equal(shell.shutdowns, 1);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(shutdowns, [true], 'the process is told to exit after the reply');
  });
});
