/**
 * An in-memory `Transport` for testing the kernel core without sockets (after xeus's
 * `xmock_server`). Messages still go through the real codec, so the core sees exactly what
 * it would see from ZeroMQ, and a message that could not be sent on the wire fails here too.
 */
import type { Message, MsgType, UntypedMessage } from './messages.js';
import { Signer } from './signing.js';
import type { Channel, InboundChannel, Transport } from './transport.js';
import { decode, encode, splitFrames } from './wire.js';

export interface SentMessage {
  channel: Channel;
  msg: Message;
}

/** The routing identity given to delivered messages that carry none. */
export const DEFAULT_CLIENT_IDENTITY = Buffer.from('client');

export class MemoryTransport implements Transport {
  /** Everything sent, in order. */
  readonly sent: SentMessage[] = [];
  private listener: ((channel: InboundChannel, msg: UntypedMessage) => void) | undefined;
  private waiters: { predicate: (sent: SentMessage) => boolean; resolve: (sent: SentMessage) => void }[] = [];
  private closed = false;
  // Signed with a real key so that delivered messages exercise the same path as the wire.
  private readonly signer = new Signer('hmac-sha256', 'memory-transport');

  onMessage(listener: (channel: InboundChannel, msg: UntypedMessage) => void): void {
    this.listener = listener;
  }

  /**
   * Hand `msg` to the listener, synchronously, as if a client had sent it on `channel`.
   * It is encoded and decoded on the way, so the listener gets a fresh copy. A message
   * without identities gets `DEFAULT_CLIENT_IDENTITY`, so replies to it can be routed.
   */
  deliver(channel: InboundChannel, msg: Message | UntypedMessage): void {
    if (this.listener === undefined) throw new Error('MemoryTransport.deliver: no listener registered (call onMessage first)');
    if (this.closed) throw new Error('MemoryTransport.deliver: transport is closed');
    const identities = msg.identities.length > 0 ? msg.identities : [DEFAULT_CLIENT_IDENTITY];
    this.listener(channel, decode(splitFrames(encode({ ...msg, identities }, this.signer)), this.signer));
  }

  async send<T extends MsgType>(channel: Channel, msg: Message<T>): Promise<void> {
    if (this.closed) throw new Error(`cannot send ${msg.header.msg_type} on ${channel}: transport is closed`);
    encode(msg, this.signer); // throws as ZmqTransport.send would (e.g. on a BigInt or a cycle)
    const sent: SentMessage = { channel, msg };
    this.sent.push(sent);
    const [matched, waiting] = partition(this.waiters, (waiter) => waiter.predicate(sent));
    this.waiters = waiting;
    for (const waiter of matched) waiter.resolve(sent);
  }

  /**
   * The first sent message matching `predicate`, whether it was sent already or is sent
   * within `timeoutMs`. Rejects on timeout, listing what was sent, to make failures legible.
   */
  waitFor(predicate: (sent: SentMessage) => boolean, timeoutMs = 2000): Promise<SentMessage> {
    const already = this.sent.find(predicate);
    if (already) return Promise.resolve(already);
    return new Promise((resolve, reject) => {
      const waiter = {
        predicate,
        resolve: (sent: SentMessage) => {
          clearTimeout(timer);
          resolve(sent);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        const history = this.sent.map((s) => `${s.channel}:${s.msg.header.msg_type}`).join(', ') || 'nothing';
        reject(new Error(`MemoryTransport.waitFor: no matching message within ${timeoutMs} ms; sent: ${history}`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

function partition<T>(items: readonly T[], test: (item: T) => boolean): [T[], T[]] {
  const yes: T[] = [];
  const no: T[] = [];
  for (const item of items) (test(item) ? yes : no).push(item);
  return [yes, no];
}
