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
import {
  inboundAs,
  isKnownMsgType,
  isRequestType,
  MessageFactory,
  type ChildBuilder,
  type ErrorFields,
  type Inbound,
  type Message,
  type MsgType,
  type ReplyContent,
  type UntypedMessage,
} from '../protocol/messages.js';
import type { InboundChannel, Transport } from '../protocol/transport.js';
import { logger } from '../log.js';

const log = logger('dispatch');

/** The main shell's key: JEP 91 calls it the parent subshell, with subshell_id None. */
export const MAIN_SHELL = null;
export type SubshellKey = string | null;

/**
 * The request type that abort-after-error answers `aborted` (spec: "Execute", stop_on_error:
 * "whether to abort the execution queue if an exception is encountered"; as ipykernel, only
 * the shell queue of the failed request, and only requests waiting in it).
 */
const ABORTABLE = 'execute_request' satisfies MsgType;

/** What a handler of requests of type `T` may do for its request. */
export interface RequestContext<T extends MsgType = MsgType> {
  readonly request: Inbound<T>;
  readonly channel: InboundChannel;
  /** The subshell whose queue the request came through (null: the main shell, and control). */
  readonly subshell: SubshellKey;
  /** Builder of the iopub and stdin messages parented to the request. */
  readonly child: ChildBuilder<T>;
  /**
   * Send the reply, built from the request (its type from the table), on the request's own
   * channel. A failed execute's reply aborts the executes waiting behind it unless the request
   * said `stop_on_error: false`.
   */
  readonly reply: (content: ReplyContent<T>) => Promise<void>;
  /**
   * Answer a request that will not run: a non-silent execute says why on iopub too, and every
   * request gets its reply with `status: 'error'`. Aborts nothing.
   */
  readonly refuse: (why: ErrorFields) => Promise<void>;
  /** Publish on iopub. */
  readonly publish: (msg: Message) => Promise<void>;
  /** Send on stdin (input_request), routed to the request's client. */
  readonly toStdin: (msg: Message<'input_request'>) => Promise<void>;
  /**
   * Run `fn` once this request's status idle has been published (or failed to be): a shutdown
   * ends the process only after its idle is out, whatever the timing of the transport.
   */
  readonly afterIdle: (fn: () => void) => void;
}

export type Handler<T extends MsgType> = (ctx: RequestContext<T>) => Promise<void>;
/** Each message type's handler, given a context typed by that message type. */
export type HandlerTable = { [T in MsgType]?: Handler<T> };

export interface DispatcherOptions {
  shell: HandlerTable;
  control: HandlerTable;
  /** Messages arriving on stdin (input_reply). */
  onStdin(msg: UntypedMessage): void;
  /**
   * Shell request types that may run at once, beside a running cell, instead of waiting in the
   * queue. Their `idle` still waits until their queue is idle.
   */
  concurrent?: MsgType[];
  /**
   * Shell request types about the kernel as a whole (kernel_info): served whatever subshell the
   * request names, even one that is gone, so that a console whose subshell ended with a restart
   * still connects and is then told, cell by cell, that its terminal is gone.
   */
  kernelWide?: MsgType[];
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
    const type = msg.header.msg_type;
    const id = msg.header.subshell_id;
    // JEP 91: absent or null names the main shell; any other value must name a subshell.
    const key: SubshellKey = id === undefined || id === null ? MAIN_SHELL : id;
    const queue = this.queues.get(key);
    if (!queue) {
      if (this.isAmong(type, this.options.kernelWide)) {
        void this.serve('shell', msg, this.options.shell, MAIN_SHELL);
      } else {
        log.warn(`${msg.header.msg_type} ${msg.header.msg_id} names subshell ${JSON.stringify(id)}, which does not exist`);
        void this.serveRefused('shell', msg, unknownSubshell(id));
      }
      return;
    }
    if (this.isAmong(type, this.options.concurrent)) {
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

  private isAmong(type: string, types: MsgType[] | undefined): boolean {
    return isKnownMsgType(type) && (types ?? []).includes(type);
  }

  /** busy → handler (or the aborted reply) → idle; `idleAfter`: a queue whose idle the idle waits for. */
  private async serve(channel: InboundChannel, msg: UntypedMessage, table: HandlerTable, key: SubshellKey, idleAfter?: ShellQueue): Promise<void> {
    const afterIdle: (() => void)[] = [];
    await this.between(channel, msg, idleAfter, afterIdle, () => {
      if (channel === 'shell' && this.queues.get(key)?.toAbort.delete(msg.header.msg_id)) {
        const aborted = inboundAs(msg, ABORTABLE);
        return aborted ? this.transport.send(channel, this.factory.childOf(aborted).reply({ status: 'aborted' })) : Promise.resolve();
      }
      const type = msg.header.msg_type;
      const handling = isKnownMsgType(type) ? this.handle(type, channel, msg, table, key, afterIdle) : undefined;
      if (!handling) log.warn(`no handler for ${type} on ${channel}; ignored`);
      return handling ?? Promise.resolve();
    });
  }

  /**
   * The table's handler for `type` at work, with a context typed by it; undefined if there is
   * none. Not async: the handler's own promise is returned, so that the idle follows it at once.
   */
  private handle<T extends MsgType>(type: T, channel: InboundChannel, msg: UntypedMessage, table: HandlerTable, key: SubshellKey, afterIdle: (() => void)[]): Promise<void> | undefined {
    const handler = table[type];
    const request = inboundAs(msg, type);
    if (!handler || !request) return undefined;
    return handler(this.context(channel, msg, request, key, afterIdle));
  }

  /** busy → the refusal → idle, for a request that will not run. */
  private async serveRefused(channel: InboundChannel, msg: UntypedMessage, why: ErrorFields, idleAfter?: ShellQueue): Promise<void> {
    await this.between(channel, msg, idleAfter, [], () => this.refuse(channel, msg, why));
  }

  /**
   * status busy → `work` → status idle, all parented to `msg`, then `afterIdle`; a failure of
   * `work` is logged.
   */
  private async between(channel: InboundChannel, msg: UntypedMessage, idleAfter: ShellQueue | undefined, afterIdle: (() => void)[], work: () => Promise<void>): Promise<void> {
    const child = this.factory.childOf(msg);
    try {
      await this.publish(child.status('busy'));
      await work();
    } catch (err) {
      log.error(`handler for ${msg.header.msg_type} failed`, err);
    } finally {
      try {
        if (idleAfter) await idleAfter.drained();
        await this.publish(child.status('idle'));
      } catch (err) {
        log.error('could not publish idle', err);
      }
      for (const fn of afterIdle) fn();
    }
  }

  /** See `RequestContext.refuse`. */
  private async refuse(channel: InboundChannel, msg: UntypedMessage, why: ErrorFields): Promise<void> {
    const type = msg.header.msg_type;
    const child = this.factory.childOf(msg);
    if (type === ABORTABLE && msg.content.silent !== true) await this.publish(child.error(why));
    if (isRequestType(type)) await this.transport.send(channel, child.errorReply(why));
  }

  // iopub carries no routing identities: every subscriber gets everything.
  private publish(msg: Message): Promise<void> {
    return this.transport.send('iopub', { ...msg, identities: [] });
  }

  /**
   * stop_on_error (spec: "Execute"): a failed execute's reply marks the executes waiting in its
   * queue, which are then answered `aborted` in their turn instead of running.
   */
  private abortAfter(channel: InboundChannel, msg: UntypedMessage, key: SubshellKey, reply: Message): void {
    const queue = this.queues.get(key);
    if (channel !== 'shell' || !queue || msg.header.msg_type !== ABORTABLE) return;
    if (!('status' in reply.content) || reply.content.status !== 'error' || msg.content.stop_on_error === false) return;
    for (const m of queue.waiting) if (m.header.msg_type === ABORTABLE) queue.toAbort.add(m.header.msg_id);
  }

  private context<T extends MsgType>(channel: InboundChannel, msg: UntypedMessage, request: Inbound<T>, subshell: SubshellKey, afterIdle: (() => void)[]): RequestContext<T> {
    const child = this.factory.childOf(request);
    return {
      request,
      channel,
      subshell,
      child,
      reply: (content) => {
        const reply = child.reply(content);
        this.abortAfter(channel, msg, subshell, reply);
        return this.transport.send(channel, reply);
      },
      refuse: (why) => this.refuse(channel, msg, why),
      publish: (m) => this.publish(m),
      toStdin: (m) => this.transport.send('stdin', m),
      afterIdle: (fn) => void afterIdle.push(fn),
    };
  }
}

export function unknownSubshell(id: unknown): ErrorFields {
  const evalue = `unknown subshell_id ${JSON.stringify(id)}: no subshell has this id (it was deleted, or the kernel restarted since it was made); nothing was run. ` +
    'Close its console and open a new subshell console for a new terminal';
  return { ename: 'UnknownSubshell', evalue, traceback: [`\x1b[31mUnknownSubshell\x1b[0m: ${evalue}`] };
}
