/**
 * `Transport` over ZeroMQ: the five kernel sockets of the connection file.
 *
 *   shell, control, stdin  Router     requests in, replies routed back by identity
 *   iopub                  Publisher  broadcast output and status
 *   heartbeat              Reply      echoes every message, in a loop of its own
 *
 * Spec: https://jupyter-client.readthedocs.io/en/stable/messaging.html#introduction
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import * as zmq from 'zeromq';
import { logger } from '../log.js';
import { endpoint, type ConnectionInfo, type PortField } from './connection.js';
import { BindError, ProtocolError } from './errors.js';
import type { Message, MsgType, UntypedMessage } from './messages.js';
import { Signer } from './signing.js';
import type { Channel, InboundChannel, Transport } from './transport.js';
import { decode, encode, MAX_MESSAGE_BYTES, splitFrames } from './wire.js';

const log = logger('protocol');

/**
 * How long a closed socket may keep trying to deliver what is still queued. Long enough
 * for a final reply (shutdown_reply) to leave over a local connection, short enough that a
 * vanished client does not hold up the kernel's exit.
 */
const CLOSE_LINGER_MS = 200;

type Listener = (channel: InboundChannel, msg: UntypedMessage) => void;

// A type, not an interface: Object.values() then knows the sockets' type (an interface has no
// index signature, and Object.values would give `any`).
type Sockets = {
  shell: zmq.Router;
  control: zmq.Router;
  stdin: zmq.Router;
  iopub: zmq.Publisher;
  heartbeat: zmq.Router;
};

/** Binding order, and the connection-file field holding each socket's port. */
const PORTS: readonly [keyof Sockets, PortField][] = [
  ['shell', 'shell_port'],
  ['control', 'control_port'],
  ['stdin', 'stdin_port'],
  ['iopub', 'iopub_port'],
  ['heartbeat', 'hb_port'],
];

const INBOUND: readonly InboundChannel[] = ['shell', 'control', 'stdin'];

/**
 * Messages iopub keeps for one subscriber that does not read (see bind). Output messages carry
 * at most 64 KB of text (shell/output.ts), so a stalled subscriber costs at most ~32 MB; a
 * frontend that reads would have to fall ~3 s behind a 10 MB/s flood to lose anything.
 */
const IOPUB_HIGH_WATER_MARK = 500;

/** Signatures remembered to refuse replays (jupyter_client keeps a digest history too). */
const REPLAY_MEMORY = 65_536;

/**
 * The signatures of the last `size` messages: a signed message is accepted once. Without
 * this, a byte-for-byte copy of a signed execute_request would run its code again.
 */
class RecentSignatures {
  private readonly set = new Set<string>();
  constructor(private readonly size: number) {}

  /** Remember `sig`; false if it was seen already. */
  add(sig: string): boolean {
    if (this.set.has(sig)) return false;
    this.set.add(sig);
    if (this.set.size > this.size) this.set.delete(this.set.values().next().value as string);
    return true;
  }
}

export class ZmqTransport implements Transport {
  private listener: Listener | undefined;
  private readonly loops: Promise<void>[] = [];
  private closing: Promise<void> | undefined;
  private readonly queues: Record<Channel, SendQueue>;
  private readonly seen = new RecentSignatures(REPLAY_MEMORY);

  private constructor(
    private readonly sockets: Sockets,
    private readonly signer: Signer,
  ) {
    this.queues = {
      shell: new SendQueue(sockets.shell),
      control: new SendQueue(sockets.control),
      stdin: new SendQueue(sockets.stdin),
      iopub: new SendQueue(sockets.iopub),
    };
  }

  /**
   * Bind every socket to the address of the connection file, and only there, then start
   * answering heartbeats. Requests wait in ZeroMQ's queues until `onMessage` is called.
   *
   * @throws UnsupportedSignatureScheme before binding anything
   * @throws BindError naming the channel and port; the sockets already bound are closed
   */
  static async bind(info: ConnectionInfo): Promise<ZmqTransport> {
    const signer = new Signer(info.signature_scheme, info.key);
    // libzmq refuses (and disconnects) a peer whose message is larger than this before it
    // is buffered whole; splitFrames checks the same bound again on what it receives.
    const inbound = { linger: CLOSE_LINGER_MS, maxMessageSize: MAX_MESSAGE_BYTES };
    const sockets: Sockets = {
      shell: new zmq.Router(inbound),
      control: new zmq.Router(inbound),
      stdin: new zmq.Router(inbound),
      // Output is coalesced into few messages (a 10 MB cell is ~160), so a frontend that
      // reads loses nothing at this mark; a subscriber that never reads (anyone may subscribe,
      // without the key) holds at most this many messages of memory.
      iopub: new zmq.Publisher({ linger: CLOSE_LINGER_MS, sendHighWaterMark: IOPUB_HIGH_WATER_MARK }),
      // A Router, echoing frames as they came (identity included), as ipykernel's heartbeat
      // device does: a Reply socket's state machine could send a ping's echo to a peer that
      // had hung up mid-message instead of to the next client.
      heartbeat: new zmq.Router(inbound),
    };
    for (const [channel, portField] of PORTS) {
      const port = info[portField];
      const address = endpoint(info, port);
      try {
        await sockets[channel].bind(address);
      } catch (err) {
        for (const socket of Object.values(sockets)) socket.close();
        throw new BindError(channel, port, address, err);
      }
      log.debug(`${channel} bound to ${address}`);
    }
    const transport = new ZmqTransport(sockets, signer);
    transport.loops.push(transport.answerHeartbeats());
    return transport;
  }

  /**
   * Set the listener and, on the first call, start one receive loop per inbound channel.
   * The listener is called synchronously for each message and never awaited, so a slow
   * request cannot stall the channel (the kernel core queues work itself).
   */
  onMessage(listener: Listener): void {
    const first = this.listener === undefined;
    this.listener = listener;
    if (!first || this.closing) return;
    for (const channel of INBOUND) {
      this.loops.push(forEachMessage(this.sockets[channel], channel, (frames) => this.dispatch(channel, frames)));
    }
  }

  /**
   * Sign and queue `msg`. On iopub the routing identities are replaced by a topic frame,
   * `kernel.<session>.<msg_type>` as ipykernel sends, which subscribers may filter on.
   * On the other channels the message's identities route it to the requesting client.
   */
  async send<T extends MsgType>(channel: Channel, msg: Message<T>): Promise<void> {
    if (this.closing) throw new Error(`cannot send ${msg.header.msg_type} on ${channel}: transport is closed`);
    let identities = msg.identities;
    if (channel === 'iopub') {
      identities = [Buffer.from(`kernel.${msg.header.session}.${msg.header.msg_type}`)];
    } else if (identities.length === 0) {
      // A Router would take the delimiter for an identity and silently drop the message.
      throw new Error(`cannot send ${msg.header.msg_type} on ${channel}: no routing identities (build it with childOf(request))`);
    }
    await this.queues[channel].push(encode({ ...msg, identities }, this.signer));
  }

  /**
   * Let queued sends reach their sockets, close every socket, and wait for the loops to
   * end. Idempotent: later calls return the first call's promise.
   */
  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    await Promise.all(Object.values(this.queues).map((queue) => queue.drained()));
    for (const socket of Object.values(this.sockets)) socket.close();
    await Promise.all(this.loops);
  }

  private dispatch(channel: InboundChannel, frames: Buffer[]): void {
    let msg: UntypedMessage;
    try {
      const raw = splitFrames(frames);
      msg = decode(raw, this.signer);
      if (this.signer.enabled && !this.seen.add(raw.signature.toString('latin1'))) {
        log.warn(`dropped a message on ${channel}: a replay of a message already received (same signature)`);
        return;
      }
    } catch (err) {
      // Expected from a misbehaving or unauthenticated peer: say why, without a stack.
      // Anything else is a bug in nslab, so keep its stack.
      if (err instanceof ProtocolError) log.warn(`dropped a message on ${channel}: ${err.message}`);
      else log.warn(`dropped a message on ${channel}:`, err);
      return;
    }
    log.debug(`${channel} received ${msg.header.msg_type} ${msg.header.msg_id}`);
    try {
      this.listener?.(channel, msg);
    } catch (err) {
      log.error(`handling ${msg.header.msg_type} from ${channel} threw`, err);
    }
  }

  /**
   * Echo each heartbeat back, frames untouched (spec: "Heartbeat for kernels"). Depends on
   * nothing but its socket, so a client sees the kernel alive while a command runs. It does
   * share Node's event loop, unlike ipykernel's heartbeat thread: anything that blocks the
   * loop for seconds would make the kernel look dead.
   */
  private answerHeartbeats(): Promise<void> {
    const socket = this.sockets.heartbeat;
    return forEachMessage(socket, 'heartbeat', (frames) => socket.send(frames));
  }
}

/**
 * Receive from `socket` until it is closed, passing each message to `handle`. Nothing ends
 * the loop but closing the socket: every failure is logged and the next message read.
 */
async function forEachMessage(
  socket: zmq.Router,
  name: string,
  handle: (frames: Buffer[]) => void | Promise<void>,
): Promise<void> {
  while (!socket.closed) {
    try {
      await handle(await socket.receive());
    } catch (err) {
      // Closing the socket rejects the pending receive (EAGAIN): the normal way out.
      if (socket.closed) return;
      log.warn(`${name} loop:`, err);
      // A receive that keeps failing at once would otherwise spin without yielding.
      await nextTurn();
    }
  }
}

/**
 * Sends on one socket, one at a time: zeromq v6 rejects (EBUSY) a send issued while the
 * previous one is still pending on the same socket. Router and Publisher sockets queue or
 * drop rather than block, so this rarely waits; it makes concurrent sends safe regardless.
 */
export class SendQueue {
  private tail: Promise<void> = Promise.resolve();

  constructor(private readonly socket: zmq.Writable) {}

  push(frames: Buffer[]): Promise<void> {
    const sent = this.tail.then(() => this.socket.send(frames));
    // One failed send is reported to its caller; it must not block the sends after it.
    this.tail = sent.catch(() => undefined);
    return sent;
  }

  /** Settles once every send pushed so far has. */
  drained(): Promise<void> {
    return this.tail;
  }
}
