/**
 * The kernel core: joins the wire (protocol/) and the shells (shell/). Each handler receives a
 * request context from the dispatcher and builds its messages with `ctx.child` — no handler
 * spells a msg_type; the table below is the only place request types meet handlers.
 */
import { Dispatcher, type HandlerTable, type RequestContext } from './dispatcher.js';
import { checkExpectations, hasExpectations, parseCell } from './cell-options.js';
import {
  MessageFactory,
  PROTOCOL_VERSION,
  type CompleteRequest,
  type ErrorFields,
  type ExecuteReply,
  type ExecuteRequest,
  type HistoryRequest,
  type InspectRequest,
  type IsCompleteRequest,
  type JsonObject,
  type KernelInfoReply,
  type ShutdownRequest,
  type Message,
  type UntypedMessage,
} from '../protocol/messages.js';
import type { Transport } from '../protocol/transport.js';
import type { CellIO, CellResult, RunOptions } from '../shell/session.js';
import type { TerminalView } from '../shell/terminal-view.js';
import { logger } from '../log.js';

const log = logger('kernel');

/** What the kernel needs from the shell engine (ShellEngine implements it; tests fake it). */
export interface ShellBackend {
  readonly mode: string;
  run(terminal: number, code: string, io: CellIO, options?: RunOptions): Promise<CellResult>;
  interrupt(terminal?: number): void;
  shutdown(): Promise<void>;
  bashVersion(): string;
  /** Where the shell in terminal `n` stands (for completion and inspection). */
  terminalView?(terminal: number): TerminalView | undefined;
}

/** Answers about a cell without running it (src/introspect implements it; src/cli hands it over). */
export interface Introspection {
  isComplete(code: string): Promise<{ status: 'complete' | 'invalid' | 'unknown' } | { status: 'incomplete'; indent: string }>;
  /** `cursorPos` as the request gave it (code points); the answer's range in code points too. */
  complete(code: string, cursorPos: unknown, view?: TerminalView): Promise<{ matches: string[]; start: number; end: number }>;
  inspect(code: string, cursorPos: unknown, view?: TerminalView): Promise<string | null>;
}

/** Without an introspection: nothing is known, nothing is found. */
const NO_INTROSPECTION: Introspection = {
  isComplete: async () => ({ status: 'unknown' }),
  complete: async () => ({ matches: [], start: 0, end: 0 }),
  inspect: async () => null,
};

export interface KernelOptions {
  implementationVersion: string;
  introspection?: Introspection;
  /** Called after a shutdown_request was answered (the process should exit). */
  onShutdown?(restart: boolean): void;
}

interface PendingInput {
  resolve(value: string | null): void;
}

export class Kernel {
  readonly dispatcher: Dispatcher;
  private executionCount = 0;
  private readonly history: [number, number, string][] = [];
  private pendingInput: PendingInput | null = null;
  /** Execute requests that arrived before a failed cell: answered `aborted` (stop_on_error). */
  private readonly toAbort = new Set<string>();
  private bashVersionCache: string | null = null;
  private readonly shellHandlers: HandlerTable;
  private get introspection(): Introspection {
    return this.options.introspection ?? NO_INTROSPECTION;
  }

  constructor(
    transport: Transport,
    private readonly shells: ShellBackend,
    private readonly options: KernelOptions,
    factory = new MessageFactory(),
  ) {
    const shell: HandlerTable = (this.shellHandlers = {
      execute_request: (c) => this.handleExecute(c),
      kernel_info_request: (c) => this.handleKernelInfo(c),
      is_complete_request: (c) => this.handleIsComplete(c),
      complete_request: (c) => this.handleComplete(c),
      inspect_request: (c) => this.handleInspect(c),
      history_request: (c) => this.handleHistory(c),
      comm_info_request: (c) => this.handleCommInfo(c),
      // nslab has no comm targets; comm messages are accepted and ignored (spec: "Custom Messages").
      comm_open: async () => undefined,
      comm_msg: async () => undefined,
      comm_close: async () => undefined,
    });
    const control: HandlerTable = {
      kernel_info_request: (c) => this.handleKernelInfo(c),
      interrupt_request: (c) => this.handleInterrupt(c),
      shutdown_request: (c) => this.handleShutdown(c),
    };
    this.dispatcher = new Dispatcher(transport, factory, {
      shell,
      control,
      // Introspection touches no shell (separate helper processes): Tab and Shift+Tab are
      // answered while a cell runs.
      concurrent: [shell.is_complete_request!, shell.complete_request!, shell.inspect_request!, shell.kernel_info_request!],
      onStdin: (m) => this.onStdin(m),
      shouldAbort: (m) => this.toAbort.delete(m.header.msg_id),
      abortedReply: (c) => c.reply(c.child.reply<'execute_request'>({ status: 'aborted' })),
    });
  }

  start(): Promise<void> {
    return this.dispatcher.start();
  }

  /** SIGINT to the kernel process means the same as interrupt_request. */
  interrupt(): void {
    this.cancelInput();
    this.shells.interrupt();
  }

  // ---- execute ----------------------------------------------------------------------------

  private async handleExecute(ctx: RequestContext): Promise<void> {
    const req = ctx.request.content as unknown as ExecuteRequest;
    const code = typeof req.code === 'string' ? req.code : '';
    const silent = req.silent === true;
    const storeHistory = !silent && req.store_history !== false;
    if (storeHistory) this.executionCount++;
    const count = this.executionCount;
    if (!silent) await ctx.publish(ctx.child.executeInput(code, count));
    if (storeHistory) this.history.push([0, count, code]);

    const parsed = parseCell(code);
    const outcome = parsed.errors.length
      ? errorFields('CellOptionError', `invalid cell options — nothing was run:\n${parsed.errors.join('\n')}`)
      : await this.runCell(ctx, parsed, req, silent);

    if (outcome) {
      if (!silent) await ctx.publish(ctx.child.error(outcome));
      if (req.stop_on_error !== false) this.abortQueuedExecutes();
      const reply: ExecuteReply = { status: 'error', execution_count: count, ...outcome, user_expressions: {} };
      await ctx.reply(ctx.child.reply<'execute_request'>(reply));
      return;
    }
    await ctx.reply(
      ctx.child.reply<'execute_request'>({
        status: 'ok',
        execution_count: count,
        user_expressions: answerUserExpressions(req.user_expressions),
        payload: [],
      }),
    );
  }

  /** Runs the cell; returns the error to report, or null when it succeeded. */
  private async runCell(ctx: RequestContext, parsed: ReturnType<typeof parseCell>, req: ExecuteRequest, silent: boolean): Promise<ErrorFields | null> {
    const { options } = parsed;
    const keepOutput = hasExpectations(options);
    let output = '';
    // Sends go out in the order they are made; the reply waits for them (idle after output).
    let sending: Promise<void> = Promise.resolve();
    const send = (what: string, make: () => Message) => {
      if (silent) return;
      sending = sending.then(() => ctx.publish(make())).catch((err) => log.error(`${what} send failed`, err));
    };
    const publish = (name: 'stdout' | 'stderr', text: string) => {
      if (text) send('stream', () => ctx.child.stream(name, text));
    };
    const io: CellIO = {
      onOutput: (text) => {
        if (keepOutput) output += text;
        publish('stdout', text);
      },
      onNotice: (text) => publish('stderr', text),
      onDisplay: (bundle) => {
        // Expectations read what the learner reads: the picture's text form counts as output.
        if (keepOutput) output += bundle.data['text/plain'] ?? '';
        send('display', () => ctx.child.displayData(bundle.data, bundle.metadata as JsonObject));
      },
      requestInput: req.allow_stdin === true ? (prompt, password) => this.requestInput(ctx, prompt, password) : undefined,
    };
    let timedOut = false;
    const timer = options.timeoutSeconds
      ? setTimeout(() => {
          timedOut = true;
          this.shells.interrupt(options.terminal);
        }, options.timeoutSeconds * 1000)
      : null;
    let result: CellResult;
    try {
      result = await this.shells.run(options.terminal, parsed.code, io, { wait: options.wait });
    } finally {
      if (timer) clearTimeout(timer);
    }
    await sending;

    const failedExpectations = checkExpectations(options, output, result.exitCode);
    if (failedExpectations.length) {
      return errorFields('ExpectationFailed', `${failedExpectations.join('; ')}.\n--- output seen ---\n${clip(output)}`);
    }
    if (timedOut) return errorFields('Timeout', `the cell ran longer than its timeout of ${options.timeoutSeconds} s and was interrupted`);
    switch (result.outcome) {
      case 'completed':
        return result.exitCode === 0 || result.exitCode === null ? null : errorFields('ExitStatus', `exit status ${result.exitCode}`);
      case 'interrupted':
        return errorFields('Interrupted', `interrupted${result.exitCode === null ? '' : ` (exit status ${result.exitCode})`}`);
      case 'incomplete':
        return errorFields('IncompleteInput', 'the cell ended inside an unfinished command (an open quote, here-document or compound command); it was cancelled and nothing of it ran');
      case 'exited':
        return errorFields('ShellExited', 'the shell exited during this cell; the next cell starts a fresh one');
      case 'untracked':
      case 'detached':
        return null;
    }
  }

  private requestInput(ctx: RequestContext, prompt: string, password: boolean): Promise<string | null> {
    this.cancelInput();
    return new Promise((resolve) => {
      this.pendingInput = { resolve };
      ctx.toStdin(ctx.child.inputRequest(prompt, password)).catch((err) => {
        log.error('input_request failed', err);
        this.cancelInput();
      });
    });
  }

  private onStdin(msg: UntypedMessage): void {
    const pending = this.pendingInput;
    if (!pending) {
      log.warn(`unexpected ${msg.header.msg_type} on stdin; ignored`);
      return;
    }
    this.pendingInput = null;
    const value = (msg.content as { value?: unknown }).value;
    pending.resolve(typeof value === 'string' ? value : '');
  }

  private cancelInput(): void {
    const pending = this.pendingInput;
    this.pendingInput = null;
    pending?.resolve(null);
  }

  private abortQueuedExecutes(): void {
    const execute = this.shellHandlers.execute_request;
    for (const m of this.dispatcher.queuedShellRequests) {
      if (this.shellHandlers[m.header.msg_type as keyof HandlerTable] === execute) this.toAbort.add(m.header.msg_id);
    }
  }

  // ---- everything else ----------------------------------------------------------------------

  private async handleKernelInfo(ctx: RequestContext): Promise<void> {
    this.bashVersionCache ??= this.shells.bashVersion();
    const content: KernelInfoReply = {
      status: 'ok',
      protocol_version: PROTOCOL_VERSION,
      implementation: 'nslab',
      implementation_version: this.options.implementationVersion,
      language_info: {
        name: 'bash',
        version: this.bashVersionCache,
        mimetype: 'text/x-sh',
        file_extension: '.sh',
        pygments_lexer: 'bash',
        codemirror_mode: 'shell',
      },
      banner:
        `nslab ${this.options.implementationVersion} — Namespace Lab (bash ${this.bashVersionCache})\n` +
        `Persistent bash shells inside a disposable Linux namespace lab (mode: ${this.shells.mode}).\n` +
        'Cell options: #| terminal: N, #| wait: false, #| expect-exit: N, #| expect-output: TEXT, #| expect-absent: TEXT, #| timeout: S',
      help_links: [
        { text: 'Bash manual', url: 'https://www.gnu.org/software/bash/manual/' },
        { text: 'namespaces(7)', url: 'https://man7.org/linux/man-pages/man7/namespaces.7.html' },
        { text: 'unshare(1)', url: 'https://man7.org/linux/man-pages/man1/unshare.1.html' },
      ],
      debugger: false,
      supported_features: [],
    };
    await ctx.reply(ctx.child.reply<'kernel_info_request'>(content));
  }

  private async handleIsComplete(ctx: RequestContext): Promise<void> {
    const { code } = ctx.request.content as unknown as IsCompleteRequest;
    const body = typeof code === 'string' ? parseCell(code).code : '';
    await ctx.reply(ctx.child.reply<'is_complete_request'>(await this.introspection.isComplete(body)));
  }

  private async handleComplete(ctx: RequestContext): Promise<void> {
    const req = ctx.request.content as unknown as CompleteRequest;
    const code = typeof req.code === 'string' ? req.code : '';
    const terminal = parseCell(code).options.terminal;
    const r = await this.introspection.complete(code, req.cursor_pos, this.shells.terminalView?.(terminal));
    await ctx.reply(ctx.child.reply<'complete_request'>({ status: 'ok', matches: r.matches, cursor_start: r.start, cursor_end: r.end, metadata: {} }));
  }

  private async handleInspect(ctx: RequestContext): Promise<void> {
    const req = ctx.request.content as unknown as InspectRequest;
    const code = typeof req.code === 'string' ? req.code : '';
    const text = await this.introspection.inspect(code, req.cursor_pos, this.shells.terminalView?.(parseCell(code).options.terminal));
    await ctx.reply(
      ctx.child.reply<'inspect_request'>({ status: 'ok', found: text !== null, data: text === null ? {} : { 'text/plain': text }, metadata: {} }),
    );
  }

  private async handleHistory(ctx: RequestContext): Promise<void> {
    const req = ctx.request.content as unknown as HistoryRequest;
    let items = this.history;
    if (req.hist_access_type === 'tail') items = items.slice(-Math.max(0, Number(req.n) || 0));
    if (req.hist_access_type === 'search' && typeof req.pattern === 'string') {
      const pattern = req.pattern;
      items = items.filter(([, , code]) => globMatch(pattern, code));
      if (req.n) items = items.slice(-Number(req.n));
    }
    await ctx.reply(ctx.child.reply<'history_request'>({ status: 'ok', history: items }));
  }

  private async handleCommInfo(ctx: RequestContext): Promise<void> {
    await ctx.reply(ctx.child.reply<'comm_info_request'>({ status: 'ok', comms: {} }));
  }

  private async handleInterrupt(ctx: RequestContext): Promise<void> {
    this.interrupt();
    await ctx.reply(ctx.child.reply<'interrupt_request'>({ status: 'ok' }));
  }

  private async handleShutdown(ctx: RequestContext): Promise<void> {
    const restart = (ctx.request.content as unknown as ShutdownRequest).restart === true;
    this.cancelInput();
    await this.shells.shutdown();
    // A cell that was running ends now (its shell is gone): let its reply and idle go out
    // before the process exits.
    await Promise.race([this.dispatcher.drained(), new Promise((r) => setTimeout(r, 2000).unref())]);
    await ctx.reply(ctx.child.reply<'shutdown_request'>({ status: 'ok', restart }));
    this.options.onShutdown?.(restart);
  }
}

function errorFields(ename: string, evalue: string): ErrorFields {
  // The traceback is what frontends display: one plain line, no invented stack.
  return { ename, evalue, traceback: [`\x1b[31m${ename}\x1b[0m: ${evalue}`] };
}

/**
 * user_expressions are Python-centric (spec: "Execute"): nslab evaluates nothing it was not asked
 * to run as a cell, so each expression is answered explicitly with an error.
 */
function answerUserExpressions(exprs: unknown): JsonObject {
  const out: JsonObject = {};
  if (exprs && typeof exprs === 'object') {
    for (const name of Object.keys(exprs)) {
      out[name] = { status: 'error', ename: 'NotSupported', evalue: 'nslab does not evaluate user_expressions', traceback: [] };
    }
  }
  return out;
}

function clip(text: string, max = 2000): string {
  return text.length > max ? text.slice(0, max) + `\n… (${text.length - max} more characters)` : text;
}

/**
 * Does `text` match the history-search `glob` (`*` any run, `?` one character)? A linear
 * two-pointer match: a regex made from the glob backtracks exponentially on `*a*a*a*…b`.
 */
export function globMatch(glob: string, text: string): boolean {
  let g = 0;
  let t = 0;
  let star = -1;
  let resume = 0;
  while (t < text.length) {
    if (g < glob.length && (glob[g] === '?' || glob[g] === text[t])) {
      g++;
      t++;
    } else if (g < glob.length && glob[g] === '*') {
      star = g++;
      resume = t;
    } else if (star >= 0) {
      g = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (g < glob.length && glob[g] === '*') g++;
  return g === glob.length;
}
