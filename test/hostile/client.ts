/**
 * An independent Jupyter client for the hostile suite: raw ZeroMQ sockets and HMAC signing done
 * here with node:crypto, nothing imported from nslab's protocol code, so a bug shared by nslab's
 * encoder and decoder cannot hide itself.
 *
 * Every message the kernel sends is checked on arrival (delimiter, signature under the key, strict
 * UTF-8, JSON objects); anything that fails is counted in `invalid` and kept in `invalidSamples`.
 */
import { createHmac, randomUUID } from 'node:crypto';
import * as zmq from 'zeromq';

export const DELIM = Buffer.from('<IDS|MSG>', 'ascii');

export interface ConnectionInfo {
  transport: 'tcp';
  ip: string;
  shell_port: number;
  control_port: number;
  stdin_port: number;
  iopub_port: number;
  hb_port: number;
  key: string;
  signature_scheme: 'hmac-sha256';
  kernel_name?: string;
}

export type RequestChannel = 'shell' | 'control' | 'stdin';

export interface Msg {
  channel: RequestChannel | 'iopub';
  identities: Buffer[];
  header: Record<string, unknown> & { msg_id: string; msg_type: string; session: string };
  parent_header: Record<string, unknown> & { msg_id?: string; session?: string };
  metadata: Record<string, unknown>;
  content: Record<string, any>;
}

export interface Executed {
  reply: Msg;
  /** Every iopub message parented to the request, in arrival order. */
  iopub: Msg[];
  stdout: string;
  stderr: string;
  ms: number;
  msgId: string;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function hmacHex(key: string | Buffer, frames: readonly Buffer[]): string {
  const h = createHmac('sha256', key);
  for (const f of frames) h.update(f);
  return h.digest('hex');
}

/** A promise that rejects after `ms`, naming `what`; the timer never outlives it. */
export async function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Serialises sends on one zeromq socket (v6 rejects a send while another is pending: EBUSY). */
class Sender {
  private tail: Promise<void> = Promise.resolve();
  constructor(private readonly socket: zmq.Writable) {}
  send(frames: Buffer[]): Promise<void> {
    const p = this.tail.then(() => this.socket.send(frames));
    this.tail = p.catch(() => undefined);
    return p;
  }
}

interface Waiter {
  resolve(m: Msg): void;
}

export interface ClientOptions {
  /** ZeroMQ routing id of the shell/control/stdin dealers (default: the session id). */
  routingId?: string;
  /** Answer input_request messages: a string, or null to leave them unanswered. */
  onInputRequest?: (req: Msg) => string | null;
  username?: string;
}

export class Client {
  readonly session = randomUUID();
  readonly username: string;
  /** Messages from the kernel that failed verification (must stay 0). */
  invalid = 0;
  invalidSamples: string[] = [];
  /** Replies that arrived for requests nobody was waiting for any more, by parent msg_id. */
  readonly strayReplies = new Map<string, Msg>();
  /** Every request msg_id this client saw anything for (replies or iopub), to prove drops. */
  readonly seenParents = new Set<string>();
  onInputRequest: ((req: Msg) => string | null) | undefined;
  inputRequests: Msg[] = [];

  private readonly sockets: { shell: zmq.Dealer; control: zmq.Dealer; stdin: zmq.Dealer; iopub: zmq.Subscriber; hb: zmq.Dealer };
  private readonly senders: Record<'shell' | 'control' | 'stdin' | 'hb', Sender>;
  private readonly replyWaiters = new Map<string, Waiter>();
  private readonly idleWaiters = new Map<string, Waiter>();
  private readonly iopubByParent = new Map<string, Msg[]>();
  private readonly hbWaiters = new Map<string, (frames: Buffer[]) => void>();
  private readonly loops: Promise<void>[] = [];
  private closed = false;
  /** Total iopub messages received. */
  iopubCount = 0;

  constructor(
    readonly info: ConnectionInfo,
    opts: ClientOptions = {},
  ) {
    this.username = opts.username ?? 'hostile';
    this.onInputRequest = opts.onInputRequest;
    // As jupyter_client does: shell and stdin share one routing id (the session), so that an
    // input_request, routed by the execute_request's identity, reaches this client's stdin socket.
    const routingId = opts.routingId ?? this.session;
    const dealer = () => new zmq.Dealer({ linger: 0, ...(routingId ? { routingId } : {}) });
    this.sockets = {
      shell: dealer(),
      control: dealer(),
      stdin: dealer(),
      iopub: new zmq.Subscriber({ linger: 0 }),
      hb: new zmq.Dealer({ linger: 0 }),
    };
    const url = (port: number) => `tcp://${info.ip}:${port}`;
    this.sockets.shell.connect(url(info.shell_port));
    this.sockets.control.connect(url(info.control_port));
    this.sockets.stdin.connect(url(info.stdin_port));
    this.sockets.iopub.connect(url(info.iopub_port));
    this.sockets.iopub.subscribe();
    this.sockets.hb.connect(url(info.hb_port));
    this.senders = {
      shell: new Sender(this.sockets.shell),
      control: new Sender(this.sockets.control),
      stdin: new Sender(this.sockets.stdin),
      hb: new Sender(this.sockets.hb),
    };
    for (const ch of ['shell', 'control', 'stdin'] as const) this.loops.push(this.receiveLoop(ch, this.sockets[ch]));
    this.loops.push(this.receiveLoop('iopub', this.sockets.iopub));
    this.loops.push(this.heartbeatLoop());
  }

  // ---- building and sending -----------------------------------------------------------------

  header(msgType: string, extra: Record<string, unknown> = {}): Msg['header'] {
    return {
      msg_id: randomUUID(),
      msg_type: msgType,
      session: this.session,
      username: this.username,
      date: new Date().toISOString(),
      version: '5.3',
      ...extra,
    };
  }

  /** The four JSON frames of a message (header, parent, metadata, content). */
  jsonFrames(header: unknown, content: unknown, parent: unknown = {}, metadata: unknown = {}): Buffer[] {
    return [header, parent, metadata, content].map((v) => Buffer.from(JSON.stringify(v), 'utf8'));
  }

  sign(frames: readonly Buffer[]): Buffer {
    return Buffer.from(hmacHex(this.info.key, frames), 'ascii');
  }

  /** A complete, correctly signed message as a dealer sends it: delimiter, signature, frames. */
  signed(jsonFrames: Buffer[], buffers: Buffer[] = []): Buffer[] {
    return [DELIM, this.sign(jsonFrames), ...jsonFrames, ...buffers];
  }

  sendRaw(channel: RequestChannel | 'hb', frames: Buffer[]): Promise<void> {
    return this.senders[channel].send(frames);
  }

  /** Send a signed request; returns its header. */
  async send(channel: RequestChannel, msgType: string, content: unknown, opts: { header?: Record<string, unknown>; parent?: unknown } = {}): Promise<Msg['header']> {
    const header = this.header(msgType, opts.header);
    await this.sendRaw(channel, this.signed(this.jsonFrames(header, content, opts.parent ?? {})));
    return header;
  }

  // ---- waiting --------------------------------------------------------------------------------

  /** Resolves with the reply to `msgId` (on any request channel). */
  reply(msgId: string, timeoutMs: number): Promise<Msg> {
    const stray = this.strayReplies.get(msgId);
    if (stray) {
      this.strayReplies.delete(msgId);
      return Promise.resolve(stray);
    }
    return within(
      timeoutMs,
      `the reply to ${msgId}`,
      new Promise<Msg>((resolve) => this.replyWaiters.set(msgId, { resolve })),
    ).finally(() => this.replyWaiters.delete(msgId));
  }

  /** Resolves when iopub says `idle` for `msgId`. */
  idle(msgId: string, timeoutMs: number): Promise<Msg> {
    const seen = this.iopubByParent.get(msgId)?.find((m) => m.header.msg_type === 'status' && m.content.execution_state === 'idle');
    if (seen) return Promise.resolve(seen);
    return within(timeoutMs, `idle for ${msgId}`, new Promise<Msg>((resolve) => this.idleWaiters.set(msgId, { resolve }))).finally(() =>
      this.idleWaiters.delete(msgId),
    );
  }

  /** iopub messages parented to `msgId` so far (kept until `forget`). */
  iopubFor(msgId: string): Msg[] {
    return this.iopubByParent.get(msgId) ?? [];
  }

  forget(msgId: string): void {
    this.iopubByParent.delete(msgId);
  }

  /** Send a request and wait for its reply. */
  async request(channel: RequestChannel, msgType: string, content: unknown = {}, timeoutMs = 10_000, header?: Record<string, unknown>): Promise<Msg> {
    const h = this.header(msgType, header);
    const reply = this.reply(h.msg_id, timeoutMs);
    await this.sendRaw(channel, this.signed(this.jsonFrames(h, content)));
    return reply;
  }

  /** A kernel_info round trip; true if answered within `timeoutMs`. */
  async alive(channel: 'shell' | 'control' = 'shell', timeoutMs = 10_000): Promise<boolean> {
    try {
      const r = await this.request(channel, 'kernel_info_request', {}, timeoutMs);
      return r.header.msg_type === 'kernel_info_reply' && r.content.status === 'ok';
    } catch {
      return false;
    }
  }

  /** Heartbeat ping: true if the same bytes come back within `timeoutMs`. */
  async ping(timeoutMs = 5000, payload = Buffer.from(`ping-${randomUUID()}`)): Promise<boolean> {
    const key = payload.toString('latin1');
    const echoed = new Promise<Buffer[]>((resolve) => this.hbWaiters.set(key, resolve));
    // A dealer talking to a REP socket must send the empty envelope delimiter itself.
    await this.sendRaw('hb', [Buffer.alloc(0), payload]);
    try {
      const frames = await within(timeoutMs, 'heartbeat echo', echoed);
      return frames.length === 1 && frames[0].equals(payload);
    } catch {
      return false;
    } finally {
      this.hbWaiters.delete(key);
    }
  }

  /**
   * Wait until iopub delivers (ZeroMQ's slow-joiner: a subscription takes a moment to reach the
   * publisher). Sends kernel_info requests until one's busy status is seen on iopub.
   */
  async waitForIopub(timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const h = this.header('kernel_info_request');
      const reply = this.reply(h.msg_id, Math.max(1000, deadline - Date.now()));
      await this.sendRaw('shell', this.signed(this.jsonFrames(h, {})));
      await reply;
      try {
        await this.idle(h.msg_id, 300);
        this.forget(h.msg_id);
        return;
      } catch {
        this.forget(h.msg_id);
      }
    }
    throw new Error('iopub never delivered');
  }

  /** Run a cell: waits for the execute_reply and for idle; collects what iopub said about it. */
  async execute(
    code: string,
    opts: { allowStdin?: boolean; stopOnError?: boolean; silent?: boolean; timeoutMs?: number; onSent?: (msgId: string) => void } = {},
  ): Promise<Executed> {
    const content = {
      code,
      silent: opts.silent ?? false,
      store_history: !(opts.silent ?? false),
      user_expressions: {},
      allow_stdin: opts.allowStdin ?? false,
      stop_on_error: opts.stopOnError ?? true,
    };
    const started = Date.now();
    const h = this.header('execute_request');
    const timeout = opts.timeoutMs ?? 30_000;
    const reply = this.reply(h.msg_id, timeout);
    const idle = this.idle(h.msg_id, timeout);
    await this.sendRaw('shell', this.signed(this.jsonFrames(h, content)));
    opts.onSent?.(h.msg_id);
    const [r] = await Promise.all([reply, idle]);
    return this.collect(h.msg_id, r, started);
  }

  /** Send an execute_request without waiting; `finish` later waits for its reply and idle. */
  async submit(code: string, opts: { allowStdin?: boolean; stopOnError?: boolean } = {}): Promise<{ msgId: string; finish(timeoutMs?: number): Promise<Executed> }> {
    const started = Date.now();
    const h = this.header('execute_request');
    const replyWaiter = new Promise<Msg>((resolve) => this.replyWaiters.set(h.msg_id, { resolve }));
    const idleWaiter = new Promise<Msg>((resolve) => this.idleWaiters.set(h.msg_id, { resolve }));
    await this.sendRaw(
      'shell',
      this.signed(
        this.jsonFrames(h, {
          code,
          silent: false,
          store_history: true,
          user_expressions: {},
          allow_stdin: opts.allowStdin ?? false,
          stop_on_error: opts.stopOnError ?? true,
        }),
      ),
    );
    return {
      msgId: h.msg_id,
      finish: async (timeoutMs = 30_000) => {
        try {
          const [r] = await within(timeoutMs, `execute ${JSON.stringify(code.slice(0, 40))}`, Promise.all([replyWaiter, idleWaiter]));
          return this.collect(h.msg_id, r, started);
        } finally {
          this.replyWaiters.delete(h.msg_id);
          this.idleWaiters.delete(h.msg_id);
        }
      },
    };
  }

  private collect(msgId: string, reply: Msg, started: number): Executed {
    const iopub = this.iopubFor(msgId);
    this.forget(msgId);
    const text = (name: string) =>
      iopub
        .filter((m) => m.header.msg_type === 'stream' && m.content.name === name)
        .map((m) => m.content.text as string)
        .join('');
    return { reply, iopub, stdout: text('stdout'), stderr: text('stderr'), ms: Date.now() - started, msgId };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const s of Object.values(this.sockets)) s.close();
    await Promise.all(this.loops);
  }

  // ---- receiving ------------------------------------------------------------------------------

  /** Receive from `socket` until it is closed, handing each message to `handle`. */
  private async eachMessage(socket: { closed: boolean; receive(): Promise<Buffer[]> }, handle: (frames: Buffer[]) => void): Promise<void> {
    while (!socket.closed) {
      let frames: Buffer[];
      try {
        frames = await socket.receive();
      } catch {
        if (socket.closed) return;
        await sleep(1);
        continue;
      }
      handle(frames);
    }
  }

  private receiveLoop(channel: RequestChannel | 'iopub', socket: zmq.Dealer | zmq.Subscriber): Promise<void> {
    return this.eachMessage(socket, (frames) => {
      const msg = this.verify(channel, frames);
      if (msg) this.deliver(msg);
    });
  }

  private heartbeatLoop(): Promise<void> {
    return this.eachMessage(this.sockets.hb, (frames) => {
      // [empty delimiter, payload…]
      const body = frames[0]?.length === 0 ? frames.slice(1) : frames;
      const key = body[0]?.toString('latin1') ?? '';
      this.hbWaiters.get(key)?.(body);
    });
  }

  private bad(why: string): null {
    this.invalid++;
    if (this.invalidSamples.length < 10) this.invalidSamples.push(why);
    return null;
  }

  /** Check a message from the kernel the way a strict client would. */
  private verify(channel: RequestChannel | 'iopub', frames: Buffer[]): Msg | null {
    const at = frames.findIndex((f) => f.equals(DELIM));
    if (at < 0) return this.bad(`${channel}: no delimiter`);
    const rest = frames.slice(at + 1);
    if (rest.length < 5) return this.bad(`${channel}: ${rest.length} frames after the delimiter`);
    const [sig, ...json] = rest;
    const four = json.slice(0, 4);
    if (sig.toString('ascii') !== hmacHex(this.info.key, four)) return this.bad(`${channel}: bad signature`);
    const parsed: unknown[] = [];
    for (const f of four) {
      try {
        parsed.push(JSON.parse(utf8.decode(f)));
      } catch (err) {
        return this.bad(`${channel}: frame not UTF-8 JSON: ${(err as Error).message}`);
      }
    }
    const isObj = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);
    if (!parsed.every(isObj)) return this.bad(`${channel}: a JSON frame is not an object`);
    const [header, parent, metadata, content] = parsed as Record<string, any>[];
    if (typeof header.msg_id !== 'string' || typeof header.msg_type !== 'string' || typeof header.session !== 'string') {
      return this.bad(`${channel}: header lacks msg_id/msg_type/session`);
    }
    return { channel, identities: frames.slice(0, at), header: header as Msg['header'], parent_header: parent, metadata, content };
  }

  private deliver(msg: Msg): void {
    const parentId = typeof msg.parent_header.msg_id === 'string' ? msg.parent_header.msg_id : '';
    if (parentId) this.seenParents.add(parentId);
    if (msg.channel === 'iopub') {
      this.iopubCount++;
      if (!parentId) return;
      // iopub is a broadcast: keep only what belongs to this client's session.
      if (msg.parent_header.session !== this.session) return;
      let list = this.iopubByParent.get(parentId);
      if (!list) {
        this.iopubByParent.set(parentId, (list = []));
        // Nobody collects the busy/idle of liveness checks: keep memory bounded in long runs.
        if (this.iopubByParent.size > 20_000) this.iopubByParent.delete(this.iopubByParent.keys().next().value!);
      }
      list.push(msg);
      if (msg.header.msg_type === 'status' && msg.content.execution_state === 'idle') {
        const w = this.idleWaiters.get(parentId);
        if (w) {
          this.idleWaiters.delete(parentId);
          w.resolve(msg);
        }
      }
      return;
    }
    if (msg.header.msg_type === 'input_request') {
      this.inputRequests.push(msg);
      const answer = this.onInputRequest?.(msg) ?? null;
      if (answer !== null) {
        void this.sendRaw('stdin', this.signed(this.jsonFrames(this.header('input_reply'), { value: answer }, msg.header)));
      }
      return;
    }
    const w = this.replyWaiters.get(parentId);
    if (w) {
      this.replyWaiters.delete(parentId);
      w.resolve(msg);
    } else if (parentId) {
      this.strayReplies.set(parentId, msg);
      // Keep memory bounded in long runs.
      if (this.strayReplies.size > 5000) this.strayReplies.delete(this.strayReplies.keys().next().value!);
    }
  }
}
