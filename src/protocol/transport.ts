/**
 * The boundary between the wire and the kernel core: decoded, verified messages in, messages
 * out. `ZmqTransport` implements it over ZeroMQ; tests use an in-memory one.
 */
import type { Message, MsgType, UntypedMessage } from './messages.js';

/** Channels a client sends requests on. */
export type InboundChannel = 'shell' | 'control' | 'stdin';
/** Channels the kernel sends on. */
export type Channel = InboundChannel | 'iopub';

export interface Transport {
  /**
   * Register the one listener for incoming messages. Only messages whose signature was
   * verified and whose frames parsed reach it; everything else is logged and dropped by
   * the transport.
   */
  onMessage(listener: (channel: InboundChannel, msg: UntypedMessage) => void): void;
  /** Sign and send. Resolves when the message is queued on the socket. */
  send<T extends MsgType>(channel: Channel, msg: Message<T>): Promise<void>;
  close(): Promise<void>;
}
