/**
 * The dispatcher owns the order of everything a request causes on the wire:
 *
 *   status busy → (handler: execute_input → output → reply) → status idle
 *
 * all parented to the request (spec: "Kernel status"; ipykernel's dispatch_shell). Shell
 * requests run one at a time in arrival order, except the handlers named `concurrent`
 * (introspection), which are answered at once; control requests are served at once too, also
 * while a cell runs, so interrupt and shutdown work during a long cell.
 * A failing handler is logged and the loop goes on; an unknown msg_type is logged and still
 * gets busy/idle, so a client waiting for idle never hangs.
 */
import { ChildBuilder, MessageFactory, isKnownMsgType, type Message, type MsgType, type UntypedMessage } from '../protocol/messages.js';
import type { InboundChannel, Transport } from '../protocol/transport.js';
import { logger } from '../log.js';

const log = logger('dispatch');

/** What a handler may do for its request. */
export interface RequestContext {
  readonly request: UntypedMessage;
  readonly channel: InboundChannel;
  /** Builder of messages parented to the request. */
  readonly child: ChildBuilder<MsgType>;
  /** Send the reply on the request's own channel. */
  reply(msg: Message): Promise<void>;
  /** Publish on iopub. */
  publish(msg: Message): Promise<void>;
  /** Send on stdin (input_request), routed to the request's client. */
  toStdin(msg: Message): Promise<void>;
}

export type Handler = (ctx: RequestContext) => Promise<void>;
export type HandlerTable = Partial<Record<MsgType, Handler>>;

export interface DispatcherOptions {
  shell: HandlerTable;
  control: HandlerTable;
  /** Messages arriving on stdin (input_reply). */
  onStdin(msg: UntypedMessage): void;
  /**
   * Shell handlers that may run at once, beside a running cell, instead of waiting in the
   * queue. Their `idle` still waits until the queue is idle: idle means the kernel is idle.
   */
  concurrent?: Handler[];
  /** Whether a queued shell request must be answered `aborted` instead of run. */
  shouldAbort?(msg: UntypedMessage): boolean;
  /** The reply sent for an aborted request. */
  abortedReply?(ctx: RequestContext): Promise<void>;
}

export class Dispatcher {
  private readonly shellQueue: UntypedMessage[] = [];
  private shellBusy = false;
  private controlChain: Promise<void> = Promise.resolve();
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly transport: Transport,
    readonly factory: MessageFactory,
    private readonly options: DispatcherOptions,
  ) {}

  /** Say `starting` (the one message without a parent) and begin serving. */
  async start(): Promise<void> {
    this.transport.onMessage((channel, msg) => this.receive(channel, msg));
    await this.transport.send('iopub', this.factory.orphan('status', { execution_state: 'starting' }));
  }

  /** Requests waiting on the shell channel (not counting the one running). */
  get queuedShellRequests(): readonly UntypedMessage[] { return this.shellQueue; }

  /** Resolves when the shell queue is empty and nothing runs. */
  drained(): Promise<void> {
    if (!this.shellBusy && this.shellQueue.length === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private receive(channel: InboundChannel, msg: UntypedMessage): void {
    log.debug(`${channel} ← ${msg.header.msg_type} ${msg.header.msg_id}`);
    switch (channel) {
      case 'shell':
        if (this.isConcurrent(msg)) {
          void this.serve('shell', msg, this.options.shell, true);
        } else {
          this.shellQueue.push(msg);
          void this.pumpShell();
        }
        break;
      case 'control':
        // Control requests are served in order among themselves, independent of the shell queue.
        this.controlChain = this.controlChain.then(() => this.serve('control', msg, this.options.control));
        break;
      case 'stdin':
        this.options.onStdin(msg);
        break;
    }
  }

  private async pumpShell(): Promise<void> {
    if (this.shellBusy) return;
    this.shellBusy = true;
    try {
      for (let msg = this.shellQueue.shift(); msg; msg = this.shellQueue.shift()) {
        await this.serve('shell', msg, this.options.shell);
      }
    } finally {
      this.shellBusy = false;
      for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  private isConcurrent(msg: UntypedMessage): boolean {
    const type = msg.header.msg_type;
    const handler = isKnownMsgType(type) ? this.options.shell[type] : undefined;
    return handler !== undefined && (this.options.concurrent ?? []).includes(handler);
  }

  private async serve(channel: InboundChannel, msg: UntypedMessage, table: HandlerTable, idleWhenDrained = false): Promise<void> {
    const ctx = this.context(channel, msg);
    try {
      await ctx.publish(ctx.child.status('busy'));
      const type = msg.header.msg_type;
      const handler = isKnownMsgType(type) ? table[type] : undefined;
      if (!handler) {
        log.warn(`no handler for ${type} on ${channel}; ignored`);
      } else if (channel === 'shell' && this.options.shouldAbort?.(msg)) {
        await this.options.abortedReply?.(ctx);
      } else {
        await handler(ctx);
      }
    } catch (err) {
      log.error(`handler for ${msg.header.msg_type} failed`, err as Error);
    } finally {
      try {
        if (idleWhenDrained) await this.drained();
        await ctx.publish(ctx.child.status('idle'));
      } catch (err) {
        log.error('could not publish idle', err as Error);
      }
    }
  }

  private context(channel: InboundChannel, request: UntypedMessage): RequestContext {
    const child = this.factory.childOf(request) as ChildBuilder<MsgType>;
    return {
      request,
      channel,
      child,
      reply: (m) => this.transport.send(channel, m),
      // iopub carries no routing identities: every subscriber gets everything.
      publish: (m) => this.transport.send('iopub', { ...m, identities: [] }),
      toStdin: (m) => this.transport.send('stdin', m),
    };
  }
}
