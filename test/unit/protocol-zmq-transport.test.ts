import { freePorts, loopbackConnectionInfo } from '../helpers/net.js';
import { seededRandom } from '../helpers/rng.js';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as zmq from 'zeromq';
import { setLogLevel } from '../../src/log.js';
import { endpoint, type ConnectionInfo } from '../../src/protocol/connection.js';
import { BindError, UnsupportedSignatureScheme } from '../../src/protocol/errors.js';
import { MessageFactory, type KernelInfoReply, type Message, type UntypedMessage } from '../../src/protocol/messages.js';
import { Signer } from '../../src/protocol/signing.js';
import type { InboundChannel } from '../../src/protocol/transport.js';
import { decode, encode, splitFrames } from '../../src/protocol/wire.js';
import { SendQueue, ZmqTransport } from '../../src/protocol/zmq-transport.js';

const KEY = 'zmq-transport-test-key';
const signer = new Signer('hmac-sha256', KEY);
const client = new MessageFactory('client-session', 'tester');
const kernel = new MessageFactory('kernel-session', 'nslab');

const KERNEL_INFO: KernelInfoReply = {
  status: 'ok',
  protocol_version: '5.3',
  implementation: 'nslab',
  implementation_version: '0.1.0',
  language_info: {
    name: 'bash',
    version: '5',
    mimetype: 'text/x-sh',
    file_extension: '.sh',
    pygments_lexer: 'bash',
    codemirror_mode: 'shell',
  },
  banner: '',
  help_links: [],
  debugger: false,
  supported_features: [],
};

function listen(port: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

function tcpConnectionInfo(): Promise<ConnectionInfo> {
  return loopbackConnectionInfo(KEY);
}

/** `promise`, or a rejection naming `what` after `ms`; the timer never outlives the test. */
async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Collects what the transport delivers, and lets a test wait for the n-th message. */
class Inbox {
  readonly received: { channel: InboundChannel; msg: UntypedMessage }[] = [];
  private wake: (() => void) | undefined;

  readonly listener = (channel: InboundChannel, msg: UntypedMessage): void => {
    this.received.push({ channel, msg });
    this.wake?.();
  };

  async waitForCount(count: number, ms = 3000): Promise<void> {
    await within(ms, `${count} delivered message(s), got ${this.received.length}`, (async () => {
      while (this.received.length < count) await new Promise<void>((resolve) => (this.wake = resolve));
    })());
  }
}

/** Records the nslab log lines written to stderr while `body` runs; other output passes through. */
async function capturingLog(body: (lines: string[]) => Promise<void>): Promise<void> {
  const original = process.stderr.write;
  const lines: string[] = [];
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
    const text = String(chunk);
    if (text.startsWith('[nslab ')) {
      lines.push(text);
      return true;
    }
    return original.call(process.stderr, chunk, ...rest);
  }) as typeof process.stderr.write;
  try {
    await body(lines);
  } finally {
    process.stderr.write = original;
  }
}

function kernelInfoRequest(): Message<'kernel_info_request'> {
  return client.orphan('kernel_info_request', {});
}

function executeRequest(code: string): Message<'execute_request'> {
  return client.orphan('execute_request', {
    code,
    silent: false,
    store_history: true,
    user_expressions: {},
    allow_stdin: false,
    stop_on_error: true,
  });
}

describe('protocol/zmq-transport', function () {
  this.timeout(15000);

  let transport: ZmqTransport | undefined;
  let info: ConnectionInfo;
  const clientSockets: zmq.Socket[] = [];

  before(() => setLogLevel('warn'));

  beforeEach(async () => {
    info = await tcpConnectionInfo();
  });

  afterEach(async () => {
    for (const socket of clientSockets.splice(0)) socket.close();
    await transport?.close();
    transport = undefined;
  });

  /** A client socket connected to one of the kernel's ports, closed after the test. */
  function connect<S extends zmq.Socket>(socket: S, port: number, at: ConnectionInfo = info): S {
    socket.linger = 0;
    socket.connect(endpoint(at, port));
    clientSockets.push(socket);
    return socket;
  }

  async function bound(at: ConnectionInfo = info): Promise<ZmqTransport> {
    transport = await ZmqTransport.bind(at);
    return transport;
  }

  it('delivers a signed kernel_info_request and routes the signed reply to its sender', async () => {
    const kernelSide = await bound();
    const inbox = new Inbox();
    kernelSide.onMessage(inbox.listener);
    const alice = connect(new zmq.Dealer({ routingId: 'alice' }), info.shell_port);
    const bob = connect(new zmq.Dealer({ routingId: 'bob' }), info.shell_port);

    const request = kernelInfoRequest();
    await alice.send(encode(request, signer));
    await bob.send(encode(kernelInfoRequest(), signer));
    await inbox.waitForCount(2);

    const fromAlice = inbox.received.find((r) => r.msg.header.msg_id === request.header.msg_id);
    assert.ok(fromAlice, 'alice’s request was not delivered');
    assert.equal(fromAlice.channel, 'shell');
    assert.deepEqual(fromAlice.msg.header, request.header);
    assert.deepEqual(fromAlice.msg.identities, [Buffer.from('alice')]);

    await kernelSide.send('shell', kernel.childOf(fromAlice.msg).make('kernel_info_reply', KERNEL_INFO));
    const reply = decode(splitFrames(await within(3000, 'the reply', alice.receive())), signer);
    assert.equal(reply.header.msg_type, 'kernel_info_reply');
    assert.equal((reply.parent_header as { msg_id?: string }).msg_id, request.header.msg_id);
    assert.deepEqual(reply.identities, []);
    assert.equal(bob.readable, false, 'the reply went to the wrong client');
  });

  it('drops garbage and badly signed messages, logging each, and delivers the valid one', async () => {
    const kernelSide = await bound();
    const inbox = new Inbox();
    kernelSide.onMessage(inbox.listener);
    const dealer = connect(new zmq.Dealer(), info.shell_port);
    const random = seededRandom(7);

    await capturingLog(async (log) => {
      const garbage = Array.from({ length: 20 }, () =>
        Array.from({ length: 1 + Math.floor(random() * 6) }, () =>
          Buffer.from(Array.from({ length: Math.floor(random() * 30) }, () => Math.floor(random() * 256))),
        ),
      );
      for (const frames of garbage) await dealer.send(frames);
      await dealer.send(encode(kernelInfoRequest(), new Signer('hmac-sha256', 'not-the-key')));
      const valid = kernelInfoRequest();
      await dealer.send(encode(valid, signer));

      await inbox.waitForCount(1);
      assert.equal(inbox.received.length, 1);
      assert.equal(inbox.received[0].msg.header.msg_id, valid.header.msg_id);
      const warnings = log.filter((line) => line.includes('WARN') && line.includes(' protocol] dropped a message on shell'));
      assert.equal(warnings.length, garbage.length + 1, log.join(''));
      assert.match(warnings.at(-1) ?? '', /signature/);
    });
  });

  it('keeps receiving after the listener throws', async () => {
    const kernelSide = await bound();
    const inbox = new Inbox();
    let calls = 0;
    kernelSide.onMessage((channel, msg) => {
      if (++calls === 1) throw new Error('handler bug');
      inbox.listener(channel, msg);
    });
    const dealer = connect(new zmq.Dealer(), info.shell_port);
    await capturingLog(async (log) => {
      await dealer.send(encode(kernelInfoRequest(), signer));
      const second = kernelInfoRequest();
      await dealer.send(encode(second, signer));
      await inbox.waitForCount(1);
      assert.equal(inbox.received[0].msg.header.msg_id, second.header.msg_id);
      assert.ok(log.some((line) => line.includes('ERROR') && line.includes('handler bug')), log.join(''));
    });
  });

  it('delivers control and stdin messages with their channel, and routes stdin replies back', async () => {
    const kernelSide = await bound();
    const inbox = new Inbox();
    kernelSide.onMessage(inbox.listener);
    const control = connect(new zmq.Dealer(), info.control_port);
    const stdin = connect(new zmq.Dealer(), info.stdin_port);

    await control.send(encode(client.orphan('interrupt_request', {}), signer));
    await inbox.waitForCount(1);
    await stdin.send(encode(client.orphan('input_reply', { value: 'yes' }), signer));
    await inbox.waitForCount(2);
    assert.deepEqual(
      inbox.received.map((r) => `${r.channel}:${r.msg.header.msg_type}`),
      ['control:interrupt_request', 'stdin:input_reply'],
    );

    const stdinMsg = inbox.received[1].msg;
    await kernelSide.send('stdin', kernel.childOf(stdinMsg).inputRequest('Password:', true));
    const echoed = decode(splitFrames(await within(3000, 'the input_request', stdin.receive())), signer);
    assert.deepEqual(echoed.content, { prompt: 'Password:', password: true });
  });

  it('holds requests in ZeroMQ until a listener is registered', async () => {
    const kernelSide = await bound();
    const dealer = connect(new zmq.Dealer(), info.shell_port);
    const early = kernelInfoRequest();
    await dealer.send(encode(early, signer));
    await delay(100);
    const inbox = new Inbox();
    kernelSide.onMessage(inbox.listener);
    await inbox.waitForCount(1);
    assert.equal(inbox.received[0].msg.header.msg_id, early.header.msg_id);
  });

  it('accepts a 10 MB execute_request', async () => {
    const kernelSide = await bound();
    const inbox = new Inbox();
    kernelSide.onMessage(inbox.listener);
    const dealer = connect(new zmq.Dealer(), info.shell_port);
    const code = 'echo '.padEnd(10 * 1024 * 1024, 'x');
    await dealer.send(encode(executeRequest(code), signer));
    await inbox.waitForCount(1, 10000);
    assert.equal((inbox.received[0].msg.content as { code: string }).code, code);
  });

  it('serializes concurrent sends on one socket, keeping their order', async () => {
    const kernelSide = await bound();
    const inbox = new Inbox();
    kernelSide.onMessage(inbox.listener);
    const dealer = connect(new zmq.Dealer(), info.shell_port);
    await dealer.send(encode(kernelInfoRequest(), signer));
    await inbox.waitForCount(1);

    const parent = kernel.childOf(inbox.received[0].msg);
    const count = 300;
    await Promise.all(Array.from({ length: count }, (_, i) => kernelSide.send('shell', parent.stream('stdout', `line ${i}\n`))));
    for (let i = 0; i < count; i++) {
      const msg = decode(splitFrames(await within(3000, `message ${i}`, dealer.receive())), signer);
      assert.equal((msg.content as { text: string }).text, `line ${i}\n`);
    }
  });

  it('SendQueue: sends issued while zeromq blocks wait their turn instead of failing with EBUSY', async () => {
    // A Dealer with no connected peer (and `immediate`, so connecting does not count) blocks
    // on send: the state in which zeromq rejects a second send with EBUSY.
    const [port] = await freePorts(1);
    const dealer = new zmq.Dealer({ linger: 0, immediate: true });
    clientSockets.push(dealer);
    dealer.connect(`tcp://127.0.0.1:${port}`);
    const queue = new SendQueue(dealer);
    const sends = ['one', 'two', 'three'].map((text) => queue.push([Buffer.from(text)]));

    const router = new zmq.Router({ linger: 0 });
    clientSockets.push(router);
    await router.bind(`tcp://127.0.0.1:${port}`);
    await within(3000, 'the queued sends', Promise.all([...sends, queue.drained()]));
    for (const text of ['one', 'two', 'three']) {
      const [, body] = await within(3000, text, router.receive());
      assert.equal(body.toString(), text);
    }
  });

  it('publishes on iopub under a kernel.<session>.<msg_type> topic, signed', async () => {
    const kernelSide = await bound();
    const subscriber = connect(new zmq.Subscriber(), info.iopub_port);
    subscriber.subscribe();
    const parent = kernel.childOf(kernelInfoRequest());
    const received = subscriber.receive();
    // A subscription takes a moment to reach the publisher, which drops messages until then
    // (ZeroMQ's "slow joiner"): publish until one arrives.
    let arrived = false;
    void received.then(() => (arrived = true), () => undefined);
    const deadline = Date.now() + 3000;
    while (!arrived && Date.now() < deadline) {
      await kernelSide.send('iopub', parent.status('busy'));
      await delay(20);
    }
    const frames = await within(100, 'an iopub message', received);
    assert.equal(frames[0].toString(), 'kernel.kernel-session.status');
    const msg = decode(splitFrames(frames), signer);
    assert.deepEqual(msg.content, { execution_state: 'busy' });
    assert.deepEqual(msg.identities, [Buffer.from('kernel.kernel-session.status')]);
  });

  it('refuses to send on a router channel a message that has no identities', async () => {
    const kernelSide = await bound();
    await assert.rejects(
      kernelSide.send('shell', kernel.orphan('kernel_info_reply', KERNEL_INFO)),
      /no routing identities/,
    );
  });

  it('echoes heartbeats, frames untouched, without a listener', async () => {
    await bound();
    const heart = connect(new zmq.Request(), info.hb_port);
    for (const beat of [['ping'], ['multi', 'part', '\x00\xff']]) {
      await heart.send(beat);
      const echo = await within(3000, 'the heartbeat echo', heart.receive());
      assert.deepEqual(echo.map(String), beat);
    }
  });

  it('rejects a port already in use, naming the channel and port, and releases what it bound', async () => {
    const squatter = await listen(info.control_port);
    try {
      await assert.rejects(ZmqTransport.bind(info), (err: unknown) => {
        assert.ok(err instanceof BindError, String(err));
        assert.equal(err.code, 'BIND_FAILED');
        assert.equal(err.channel, 'control');
        assert.equal(err.port, info.control_port);
        assert.match(err.message, new RegExp(`control channel to tcp://127\\.0\\.0\\.1:${info.control_port} \\(port ${info.control_port}\\)`));
        return true;
      });
    } finally {
      await closeServer(squatter);
    }
    // The shell socket was bound before control failed: it must have been closed.
    await within(3000, `port ${info.shell_port} to be released`, (async () => {
      for (;;) {
        try {
          return await closeServer(await listen(info.shell_port));
        } catch {
          await delay(50);
        }
      }
    })());
  });

  it('rejects an unsupported signature scheme before binding anything', async () => {
    await assert.rejects(ZmqTransport.bind({ ...info, signature_scheme: 'hmac-md5' }), UnsupportedSignatureScheme);
    await closeServer(await listen(info.shell_port));
  });

  it('works over ipc, with jupyter_client’s socket file names', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nslab-ipc-'));
    try {
      const ipc: ConnectionInfo = { ...info, transport: 'ipc', ip: join(dir, 'kernel'), shell_port: 1, control_port: 2, stdin_port: 3, iopub_port: 4, hb_port: 5 };
      const kernelSide = await bound(ipc);
      const inbox = new Inbox();
      kernelSide.onMessage(inbox.listener);
      await connect(new zmq.Dealer(), ipc.shell_port, ipc).send(encode(kernelInfoRequest(), signer));
      await inbox.waitForCount(1);
      assert.equal(inbox.received[0].msg.header.msg_type, 'kernel_info_request');
    } finally {
      for (const socket of clientSockets.splice(0)) socket.close();
      await transport?.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('closes idempotently and refuses to send afterwards', async () => {
    const kernelSide = await bound();
    kernelSide.onMessage(() => undefined);
    const first = kernelSide.close();
    assert.equal(kernelSide.close(), first);
    await first;
    await assert.rejects(kernelSide.send('iopub', kernel.orphan('status', { execution_state: 'idle' })), /closed/);
  });

  it('leaves no handle open after close(): a process that binds and closes exits by itself', async () => {
    const moduleUrl = new URL('../../src/protocol/zmq-transport.js', import.meta.url).href;
    const script = `
      const { ZmqTransport } = await import(${JSON.stringify(moduleUrl)});
      const transport = await ZmqTransport.bind(JSON.parse(process.argv[1]));
      transport.onMessage(() => {});
      await transport.send('iopub', ${JSON.stringify(kernel.orphan('status', { execution_state: 'starting' }))});
      await transport.close();
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script, JSON.stringify(info)], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      assert.equal(await within(5000, 'the child process to exit', exited), 0, stderr);
    } finally {
      child.kill('SIGKILL');
    }
  });
});

