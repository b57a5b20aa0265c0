/**
 * The dispatcher owns the order of everything a request causes on the wire:
 *
 *   status busy → (handler: execute_input → output → reply) → status idle
 *
 * all parented to the request (spec: "Kernel status"; ipykernel's dispatch_shell).
 *
 * Shell requests go to one serial queue per subshell (kernel subshells, JEP 91 / protocol 5.5):
 * the main shell (`subshell_id` absent or null) and every subshell made by
 * `create_subshell_request`. Each queue runs its requests one at a time in arrival order, with
 * its own abort-after-error; the queues run concurrently with each other. Handlers named
 * `concurrent` (introspection) are answered at once, beside a running cell; their idle waits
 * until their own queue is idle. A request for a subshell that does not exist gets an error
 * reply (never silence: JEP 91, "use of a subshell_id that is not recognised will raise an
 * error"). Control requests are served at once too, in order among themselves, also while
 * cells run, so interrupt, shutdown and the subshell requests work during a long cell.
 * A failing handler is logged and the loop goes on; an unknown msg_type is logged and still
 * gets busy/idle, so a client waiting for idle never hangs.
 */
import { ChildBuilder, MessageFactory, isKnownMsgType, type ErrorFields, type Message, type MsgType, type UntypedMessage } from '../protocol/messages.js';
import type { InboundChannel, Transport } from '../protocol/transport.js';
import { logger } from '../log.js';

const log = logger('dispatch');

/** The main shell's key: JEP 91 calls it the parent subshell, with subshell_id None. */
export const MAIN_SHELL = null;
export type SubshellKey = string | null;

/** What a handler may do for its request. */
export interface RequestContext {
  readonly request: UntypedMessage;
  readonly channel: InboundChannel;
  /** The subshell whose queue the request came through (null: the main shell, and control). */
  readonly subshell: SubshellKey;
  /** Builder of messages parented to the request. */
  readonly child: ChildBuilder<MsgType>;
  /** Send the reply on the request's own channel. */
  reply(msg: Message): Promise<void>;
  /** Publish on iopub. */
  publish(msg: Message): Promise<void>;
  /** Send on stdin (input_request), routed to the request's client. */
  toStdin(msg: Message): Promise<void>;
  /** Answer the abortable requests waiting in this request's queue `aborted` (stop_on_error). */
  abortQueued(): void;
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
   * queue. Their `idle` still waits until their queue is idle.
   */
  concurrent?: Handler[];
  /**
   * Shell handlers about the kernel as a whole (kernel_info): served whatever subshell the
   * request names, even one that is gone, so that a console whose subshell ended with a restart
   * still connects and is then told, cell by cell, that its terminal is gone.
   */
  kernelWide?: Handler[];
  /** Request types that `abortQueued` answers `aborted` (execute_request). */
  abortable?: MsgType[];
  /** The reply sent for an aborted request. */
  abortedReply?(ctx: RequestContext): Promise<void>;
  /**
   * Answer a shell request that will not run, between its busy and idle: it names a subshell
   * that does not exist, or its subshell was deleted while it waited.
   */
  refuse(ctx: RequestContext, why: ErrorFields): Promise<void>;
}

/** One serial queue of shell requests: the main shell's or a subshell's. */
class ShellQueue {
  readonly waiting: UntypedMessage[] = [];
  running = false;
  /** msg_ids of waiting requests to answer `aborted` instead of running. */
  readonly toAbort = new Set<string>();
  private idleWaiters: (() => void)[] = [];

  constructor(readonly key: SubshellKey) {}

  get idle(): boolean { return !this.running && this.waiting.length === 0; }

  drained(): Promise<void> {
    return this.idle ? Promise.resolve() : new Promise((r) => this.idleWaiters.push(r));
  }

  wakeIdleWaiters(): void {
    for (const w of this.idleWaiters.splice(0)) w();
  }
}

export class Dispatcher {
  private readonly queues = new Map<SubshellKey, ShellQueue>([[MAIN_SHELL, new ShellQueue(MAIN_SHELL)]]);
  private controlChain: Promise<void> = Promise.resolve();

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

  /** A new subshell's queue: requests naming `id` are served from now on. */
  openSubshell(id: string): void {
    if (this.queues.has(id)) throw new Error(`subshell ${id} exists already`);
    this.queues.set(id, new ShellQueue(id));
  }

  /**
   * Close a subshell's queue: later requests naming it are refused as unknown, and those still
   * waiting in it are refused with `why`. The one running goes on until its handler returns.
   */
  closeSubshell(id: string, why: ErrorFields): void {
    const queue = this.queues.get(id);
    if (!queue) return;
    this.queues.delete(id);
    for (const msg of queue.waiting.splice(0)) void this.serveRefused('shell', msg, why);
    if (queue.idle) queue.wakeIdleWaiters();
  }

  /** Resolves when every shell queue is empty and nothing runs in any. */
  async drained(): Promise<void> {
    for (let busy = [...this.queues.values()].filter((q) => !q.idle); busy.length; busy = [...this.queues.values()].filter((q) => !q.idle)) {
      await Promise.all(busy.map((q) => q.drained()));
    }
  }

  private receive(channel: InboundChannel, msg: UntypedMessage): void {
    log.debug(`${channel} ← ${msg.header.msg_type} ${msg.header.msg_id}`);
    switch (channel) {
      case 'shell':
        this.receiveShell(msg);
        break;
      case 'control':
        // Control requests are served in order among themselves, independent of the shell queues.
        this.controlChain = this.controlChain.then(() => this.serve('control', msg, this.options.control, MAIN_SHELL));
        break;
      case 'stdin':
        this.options.onStdin(msg);
        break;
    }
  }

  private receiveShell(msg: UntypedMessage): void {
    const handler = this.handlerOf(msg, this.options.shell);
    const id = msg.header.subshell_id;
    // JEP 91: absent or null names the main shell; any other value must name a subshell.
    const key: SubshellKey = id === undefined || id === null ? MAIN_SHELL : id;
    const queue = this.queues.get(key);
    if (!queue) {
      if (handler && (this.options.kernelWide ?? []).includes(handler)) {
        void this.serve('shell', msg, this.options.shell, MAIN_SHELL);
      } else {
        log.warn(`${msg.header.msg_type} ${msg.header.msg_id} names subshell ${JSON.stringify(id)}, which does not exist`);
        void this.serveRefused('shell', msg, unknownSubshell(id));
      }
      return;
    }
    if (handler && (this.options.concurrent ?? []).includes(handler)) {
      void this.serve('shell', msg, this.options.shell, key, queue);
    } else {
      queue.waiting.push(msg);
      void this.pump(queue);
    }
  }

  private async pump(queue: ShellQueue): Promise<void> {
    if (queue.running) return;
    queue.running = true;
    try {
      for (let msg = queue.waiting.shift(); msg; msg = queue.waiting.shift()) {
        await this.serve('shell', msg, this.options.shell, queue.key);
      }
    } finally {
      queue.running = false;
      queue.wakeIdleWaiters();
    }
  }

  private handlerOf(msg: UntypedMessage, table: HandlerTable): Handler | undefined {
    const type = msg.header.msg_type;
    return isKnownMsgType(type) ? table[type] : undefined;
  }

  /** busy → handler (or the aborted reply) → idle; `idleAfter`: a queue whose idle the idle waits for. */
  private async serve(channel: InboundChannel, msg: UntypedMessage, table: HandlerTable, key: SubshellKey, idleAfter?: ShellQueue): Promise<void> {
    const ctx = this.context(channel, msg, key);
    try {
      await ctx.publish(ctx.child.status('busy'));
      const handler = this.handlerOf(msg, table);
      if (!handler) {
        log.warn(`no handler for ${msg.header.msg_type} on ${channel}; ignored`);
      } else if (channel === 'shell' && this.queues.get(key)?.toAbort.delete(msg.header.msg_id)) {
        await this.options.abortedReply?.(ctx);
      } else {
        await handler(ctx);
      }
    } catch (err) {
      log.error(`handler for ${msg.header.msg_type} failed`, err as Error);
    } finally {
      try {
        if (idleAfter) await idleAfter.drained();
        await ctx.publish(ctx.child.status('idle'));
      } catch (err) {
        log.error('could not publish idle', err as Error);
      }
    }
  }

  /** busy → the refusal → idle, for a request that will not run. */
  private async serveRefused(channel: InboundChannel, msg: UntypedMessage, why: ErrorFields, idleAfter?: ShellQueue): Promise<void> {
    const ctx = this.context(channel, msg, MAIN_SHELL);
    try {
      await ctx.publish(ctx.child.status('busy'));
      await this.options.refuse(ctx, why);
    } catch (err) {
      log.error(`refusing ${msg.header.msg_type} failed`, err as Error);
    } finally {
      try {
        if (idleAfter) await idleAfter.drained();
        await ctx.publish(ctx.child.status('idle'));
      } catch (err) {
        log.error('could not publish idle', err as Error);
      }
    }
  }

  private context(channel: InboundChannel, request: UntypedMessage, subshell: SubshellKey): RequestContext {
    const child = this.factory.childOf(request) as ChildBuilder<MsgType>;
    return {
      request,
      channel,
      subshell,
      child,
      reply: (m) => this.transport.send(channel, m),
      // iopub carries no routing identities: every subscriber gets everything.
      publish: (m) => this.transport.send('iopub', { ...m, identities: [] }),
      toStdin: (m) => this.transport.send('stdin', m),
      abortQueued: () => {
        const queue = this.queues.get(subshell);
        const abortable = this.options.abortable ?? [];
        if (channel !== 'shell' || !queue) return;
        for (const m of queue.waiting) if ((abortable as string[]).includes(m.header.msg_type)) queue.toAbort.add(m.header.msg_id);
      },
    };
  }
}

export function unknownSubshell(id: unknown): ErrorFields {
  const evalue = `unknown subshell_id ${JSON.stringify(id)}: no subshell has this id (it was deleted, or the kernel restarted since it was made); nothing was run. ` +
    'Close its console and open a new subshell console for a new terminal';
  return { ename: 'UnknownSubshell', evalue, traceback: [`\x1b[31mUnknownSubshell\x1b[0m: ${evalue}`] };
}
