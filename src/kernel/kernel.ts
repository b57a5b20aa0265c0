/**
 * The kernel core: joins the wire (protocol/) and the shells (shell/). Each handler receives a
 * request context from the dispatcher typed by its message type (`RequestContext<T>`: the
 * request's content and `reply(content)` typed by the message table); it builds its iopub
 * messages with `ctx.child`. No handler casts or names a message type to build a message; the
 * handler tables below are the only place request types meet handlers. Abort after error is the
 * dispatcher's (see dispatcher.ts).
 */
import { Dispatcher, MAIN_SHELL, unknownSubshell, type HandlerTable, type RequestContext, type SubshellKey } from './dispatcher.js';
import { parseCell } from './cell-options.js';
import { Subshells, TerminalLimitError, type ShellState } from './subshells.js';
import { answerUserExpressions, errorFields, globMatch, introduction, shuttingDown, subshellDeleted } from './replies.js';
import {
  MessageFactory,
  PROTOCOL_VERSION,
  type ErrorFields,
  type ExecuteReply,
  type ExecuteRequest,
  type JsonObject,
  type KernelInfoReply,
  type Message,
  type Received,
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
  /** Terminal numbers whose shell runs or is starting. */
  terminalsInUse(): number[];
  /** Start terminal `n` now; `console`: a frontend of its own types into it (a subshell). */
  openTerminal(n: number, options?: { console?: boolean }): Promise<void>;
  /** End terminal `n` and what was started in it; a later cell there starts a fresh shell. */
  endTerminal(n: number): Promise<void>;
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
  /** Called once a shutdown_request was answered and its status idle is out (the process should exit). */
  onShutdown?(restart: boolean): void;
}

interface PendingInput {
  /** The shell whose cell asked. */
  subshell: SubshellKey;
  resolve(value: string | null): void;
}

export class Kernel {
  readonly dispatcher: Dispatcher;
  /** The main shell and the subshells, each with its execution count and history. */
  private readonly subshells = new Subshells();
  /** input_request msg_id → the cell waiting for its answer. */
  private readonly pendingInputs = new Map<string, PendingInput>();
  /** Terminals with a cell running now → the shell whose cell it is. */
  private readonly busyTerminals = new Map<number, SubshellKey>();
  /** Set by shutdown_request: nothing new runs. */
  private stopping = false;
  private bashVersionCache: string | null = null;
  private get introspection(): Introspection {
    return this.options.introspection ?? NO_INTROSPECTION;
  }

  constructor(
    transport: Transport,
    private readonly shells: ShellBackend,
    private readonly options: KernelOptions,
    factory = new MessageFactory(),
  ) {
    const shell: HandlerTable = {
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
    };
    const control: HandlerTable = {
      kernel_info_request: (c) => this.handleKernelInfo(c),
      interrupt_request: (c) => this.handleInterrupt(c),
      shutdown_request: (c) => this.handleShutdown(c),
      create_subshell_request: (c) => this.handleCreateSubshell(c),
      delete_subshell_request: (c) => this.handleDeleteSubshell(c),
      list_subshell_request: (c) => this.handleListSubshell(c),
    };
    this.dispatcher = new Dispatcher(transport, factory, {
      shell,
      control,
      // Introspection touches no shell (separate helper processes): Tab and Shift+Tab are
      // answered while a cell runs.
      concurrent: ['is_complete_request', 'complete_request', 'inspect_request', 'kernel_info_request'],
      kernelWide: ['kernel_info_request'],
      onStdin: (m) => this.onStdin(m),
    });
  }

  start(): Promise<void> {
    return this.dispatcher.start();
  }

  /**
   * SIGINT to the kernel process means the same as interrupt_request. Both are kernel-wide
   * (JEP 91: interrupt is handled at the kernel, not the subshell, level): every running cell
   * of every shell is interrupted.
   */
  interrupt(): void {
    this.cancelInputs();
    this.shells.interrupt();
  }

  // ---- execute ----------------------------------------------------------------------------

  private async handleExecute(ctx: RequestContext<'execute_request'>): Promise<void> {
    const shell = this.subshells.get(ctx.subshell);
    if (!shell) return ctx.refuse(unknownSubshell(ctx.subshell));
    if (this.stopping) return ctx.refuse(shuttingDown());
    const req = ctx.request.content;
    const code = typeof req.code === 'string' ? req.code : '';
    const silent = req.silent === true;
    const storeHistory = !silent && req.store_history !== false;
    if (storeHistory) shell.executionCount++;
    const count = shell.executionCount;
    if (!silent) await ctx.publish(ctx.child.executeInput(code, count));
    if (storeHistory) shell.history.push([0, count, code]);

    let outcome: ErrorFields | null;
    try {
      // A subshell becomes a terminal with its first cell (see subshells.ts).
      const terminal = this.subshells.assignTerminal(shell, this.shells.terminalsInUse());
      const parsed = parseCell(code, terminal);
      outcome = parsed.errors.length
        ? errorFields('CellOptionError', `invalid cell options — nothing was run:\n${parsed.errors.join('\n')}`)
        : await this.runCell(ctx, shell, parsed, req, silent);
    } catch (err) {
      if (!(err instanceof TerminalLimitError)) throw err;
      outcome = errorFields('TerminalLimit', err.message);
    }

    if (outcome) {
      if (!silent) await ctx.publish(ctx.child.error(outcome));
      // The dispatcher aborts the executes waiting behind this one (stop_on_error) on this reply.
      const reply: ExecuteReply = { status: 'error', execution_count: count, ...outcome, user_expressions: {} };
      await ctx.reply(reply);
      return;
    }
    await ctx.reply({
      status: 'ok',
      execution_count: count,
      user_expressions: answerUserExpressions(req.user_expressions),
      payload: [],
    });
  }

  /** Runs the cell; returns the error to report, or null when it succeeded. */
  private async runCell(ctx: RequestContext<'execute_request'>, shell: ShellState, parsed: ReturnType<typeof parseCell>, req: Received<ExecuteRequest>, silent: boolean): Promise<ErrorFields | null> {
    const { options } = parsed;
    // One cell at a time per terminal: a terminal's shell reads one command line at a time.
    const holder = this.busyTerminals.get(options.terminal);
    if (holder !== undefined) {
      const who = holder === MAIN_SHELL ? 'the main shell (the notebook)' : `the subshell of terminal ${this.subshells.get(holder)?.terminal ?? '?'} (its console)`;
      return errorFields('TerminalBusy', `terminal ${options.terminal} is running a cell sent from ${who}; nothing was run. Run this cell again when that one is done, or interrupt it`);
    }
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
      onOutput: (text) => publish('stdout', text),
      onNotice: (text) => publish('stderr', text),
      onDisplay: (bundle) => send('display', () => ctx.child.displayData(bundle.data, bundle.metadata as JsonObject)),
      requestInput: req.allow_stdin === true ? (prompt, password) => this.requestInput(ctx, prompt, password) : undefined,
    };
    if (shell.id !== MAIN_SHELL && !shell.introduced && !silent) {
      shell.introduced = true;
      publish('stderr', introduction(shell.terminal!));
    }
    let timedOut = false;
    const timer = options.timeoutSeconds
      ? setTimeout(() => {
          timedOut = true;
          this.shells.interrupt(options.terminal);
        }, options.timeoutSeconds * 1000)
      : null;
    let result: CellResult;
    this.busyTerminals.set(options.terminal, shell.id);
    try {
      // A subshell's own terminal is a console's: started marked so (nstree says so).
      if (shell.id !== MAIN_SHELL && options.terminal === shell.terminal) await this.shells.openTerminal(options.terminal, { console: true });
      if (shell.id !== MAIN_SHELL && !this.subshells.get(shell.id)) {
        // Deleted while its shell started: that shell ends too, and nothing runs.
        if (options.terminal === shell.terminal) await this.shells.endTerminal(options.terminal);
        return subshellDeleted(shell.terminal);
      }
      result = await this.shells.run(options.terminal, parsed.code, io, { wait: options.wait });
    } catch (err) {
      // The engine is shut down (or the terminal could not start): the cell still gets its reply.
      log.warn(`cell in terminal ${options.terminal} did not run: ${(err as Error).message}`);
      result = { outcome: 'exited', exitCode: null };
    } finally {
      this.busyTerminals.delete(options.terminal);
      if (timer) clearTimeout(timer);
    }
    await sending;
    // Deleted while this cell ran (delete_subshell_request ended its terminal).
    if (shell.id !== MAIN_SHELL && !this.subshells.get(shell.id)) return subshellDeleted(shell.terminal);
    if (this.stopping && result.outcome === 'exited') return shuttingDown();

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

  private requestInput(ctx: RequestContext<'execute_request'>, prompt: string, password: boolean): Promise<string | null> {
    this.cancelInputs(ctx.subshell);
    return new Promise((resolve) => {
      const ask = ctx.child.inputRequest(prompt, password);
      const id = ask.header.msg_id;
      this.pendingInputs.set(id, { subshell: ctx.subshell, resolve });
      ctx.toStdin(ask).catch((err) => {
        log.error('input_request failed', err);
        this.pendingInputs.delete(id);
        resolve(null);
      });
    });
  }

  /**
   * An input_reply answers the input_request it is parented to (JupyterLab parents it); a client
   * that sends no parent (jupyter_client's `input()`) answers the one of the shell its header
   * names, or the only one waiting.
   */
  private onStdin(msg: UntypedMessage): void {
    const parentId = 'msg_id' in msg.parent_header ? msg.parent_header.msg_id : undefined;
    let id = typeof parentId === 'string' && this.pendingInputs.has(parentId) ? parentId : undefined;
    if (id === undefined) {
      const named = msg.header.subshell_id ?? MAIN_SHELL;
      const waiting = [...this.pendingInputs.entries()];
      id = (waiting.find(([, p]) => p.subshell === named) ?? (waiting.length === 1 ? waiting[0] : undefined))?.[0];
    }
    const pending = id === undefined ? undefined : this.pendingInputs.get(id);
    if (id === undefined || !pending) {
      log.warn(`unexpected ${msg.header.msg_type} on stdin; ignored`);
      return;
    }
    this.pendingInputs.delete(id);
    const value = msg.content.value;
    pending.resolve(typeof value === 'string' ? value : '');
  }

  /** The programs waiting for input get end-of-file: those of one shell, or all. */
  private cancelInputs(subshell?: SubshellKey): void {
    for (const [id, pending] of [...this.pendingInputs]) {
      if (subshell !== undefined && pending.subshell !== subshell) continue;
      this.pendingInputs.delete(id);
      pending.resolve(null);
    }
  }

  // ---- subshells (control channel, JEP 91) --------------------------------------------------

  private async handleCreateSubshell(ctx: RequestContext<'create_subshell_request'>): Promise<void> {
    if (this.stopping) return ctx.refuse(shuttingDown());
    let state: ShellState;
    try {
      state = this.subshells.create();
    } catch (err) {
      if (!(err instanceof TerminalLimitError)) throw err;
      return ctx.refuse(errorFields('TerminalLimit', err.message));
    }
    const id = state.id!;
    this.dispatcher.openSubshell(id);
    log.info(`subshell ${id} created; it becomes a terminal with its first cell`);
    await ctx.reply({ status: 'ok', subshell_id: id });
  }

  private async handleDeleteSubshell(ctx: RequestContext<'delete_subshell_request'>): Promise<void> {
    const { subshell_id: id } = ctx.request.content;
    if (id === undefined || id === null) {
      const evalue = id === null
        ? 'the main shell (subshell_id null, terminal 1) cannot be deleted; shutdown_request ends the kernel'
        : 'delete_subshell_request needs the subshell_id of the subshell to delete';
      return ctx.refuse(errorFields(id === null ? 'MainShell' : 'BadRequest', evalue));
    }
    const state = typeof id === 'string' ? this.subshells.delete(id) : undefined;
    if (typeof id !== 'string' || !state) return ctx.refuse(unknownSubshell(id));
    this.dispatcher.closeSubshell(id, subshellDeleted(state.terminal));
    this.cancelInputs(id);
    // The reply goes out when the terminal and its processes are gone.
    if (state.terminal !== null) await this.shells.endTerminal(state.terminal);
    log.info(`subshell ${id}${state.terminal === null ? '' : ` (terminal ${state.terminal})`} deleted`);
    await ctx.reply({ status: 'ok' });
  }

  private async handleListSubshell(ctx: RequestContext<'list_subshell_request'>): Promise<void> {
    const list = this.subshells.list();
    await ctx.reply({
      status: 'ok',
      subshell_id: list.map((s) => s.id!),
      terminals: Object.fromEntries(list.filter((s) => s.terminal !== null).map((s) => [s.id!, s.terminal!])),
    });
  }

  // ---- everything else ----------------------------------------------------------------------

  private async handleKernelInfo(ctx: RequestContext<'kernel_info_request'>): Promise<void> {
    this.bashVersionCache ??= this.shells.bashVersion();
    const subshell = ctx.subshell === MAIN_SHELL ? undefined : this.subshells.get(ctx.subshell);
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
        'Cell options: #| terminal: N, #| wait: false, #| timeout: S (a trailing # comment is allowed)' +
        (subshell ? (subshell.terminal === null ? '\nThis subshell becomes a terminal of the lab with its first cell.' : `\nThis subshell is terminal ${subshell.terminal} of the lab.`) : ''),
      help_links: [
        { text: 'Bash manual', url: 'https://www.gnu.org/software/bash/manual/' },
        { text: 'namespaces(7)', url: 'https://man7.org/linux/man-pages/man7/namespaces.7.html' },
        { text: 'unshare(1)', url: 'https://man7.org/linux/man-pages/man1/unshare.1.html' },
      ],
      debugger: false,
      supported_features: ['kernel subshells'],
    };
    await ctx.reply(content);
  }

  private async handleIsComplete(ctx: RequestContext<'is_complete_request'>): Promise<void> {
    const { code } = ctx.request.content;
    const body = typeof code === 'string' ? parseCell(code).code : '';
    await ctx.reply(await this.introspection.isComplete(body));
  }

  private async handleComplete(ctx: RequestContext<'complete_request'>): Promise<void> {
    const req = ctx.request.content;
    const code = typeof req.code === 'string' ? req.code : '';
    const r = await this.introspection.complete(code, req.cursor_pos, this.shells.terminalView?.(this.terminalOfCell(ctx.subshell, code)));
    await ctx.reply({ status: 'ok', matches: r.matches, cursor_start: r.start, cursor_end: r.end, metadata: {} });
  }

  private async handleInspect(ctx: RequestContext<'inspect_request'>): Promise<void> {
    const req = ctx.request.content;
    const code = typeof req.code === 'string' ? req.code : '';
    const text = await this.introspection.inspect(code, req.cursor_pos, this.shells.terminalView?.(this.terminalOfCell(ctx.subshell, code)));
    await ctx.reply({ status: 'ok', found: text !== null, data: text === null ? {} : { 'text/plain': text }, metadata: {} });
  }

  /** The terminal a cell of `subshell` runs in: its own, unless `#| terminal: N`. */
  private terminalOfCell(subshell: SubshellKey, code: string): number {
    // A subshell with no terminal yet completes against the main shell's directory.
    return parseCell(code, this.subshells.get(subshell)?.terminal ?? 1).options.terminal;
  }

  private async handleHistory(ctx: RequestContext<'history_request'>): Promise<void> {
    const req = ctx.request.content;
    let items = (this.subshells.get(ctx.subshell) ?? this.subshells.main).history;
    if (req.hist_access_type === 'tail') items = items.slice(-Math.max(0, Number(req.n) || 0));
    if (req.hist_access_type === 'search' && typeof req.pattern === 'string') {
      const pattern = req.pattern;
      items = items.filter(([, , code]) => globMatch(pattern, code));
      if (req.n) items = items.slice(-Number(req.n));
    }
    await ctx.reply({ status: 'ok', history: items });
  }

  private async handleCommInfo(ctx: RequestContext<'comm_info_request'>): Promise<void> {
    await ctx.reply({ status: 'ok', comms: {} });
  }

  private async handleInterrupt(ctx: RequestContext<'interrupt_request'>): Promise<void> {
    this.interrupt();
    await ctx.reply({ status: 'ok' });
  }

  private async handleShutdown(ctx: RequestContext<'shutdown_request'>): Promise<void> {
    const restart = ctx.request.content.restart === true;
    // Shutdown (and restart, which is a shutdown followed by a new kernel process) ends every
    // shell with the lab, subshells included (JEP 91: handled at the kernel level).
    this.stopping = true;
    this.cancelInputs();
    await this.shells.shutdown();
    // A cell that was running ends now (its shell is gone): let its reply and idle go out
    // before the process exits.
    await Promise.race([this.dispatcher.drained(), new Promise((r) => setTimeout(r, 2000).unref())]);
    await ctx.reply({ status: 'ok', restart });
    ctx.afterIdle(() => this.options.onShutdown?.(restart));
  }
}
