/**
 * A shell backend for the kernel core tests whose cells are scripted: `echo X` prints X,
 * `fail N` exits N, `block` waits until interrupted (or its terminal ends), `ask` reads input,
 * `incomplete` is unfinished, `picture X` shows rich output. It keeps track of its terminals as
 * the engine does (started on first use, opened and ended on request).
 */
import type { ShellBackend } from '../../src/kernel/kernel.js';
import { MessageFactory, type ContentMap, type Message, type MsgType } from '../../src/protocol/messages.js';
import type { SentMessage, MemoryTransport } from '../../src/protocol/memory-transport.js';
import type { CellIO, CellResult, RunOptions } from '../../src/shell/session.js';

export class ScriptedShell implements ShellBackend {
  readonly mode = 'test';
  readonly runs: { terminal: number; code: string; options?: RunOptions }[] = [];
  interrupts = 0;
  shutdowns = 0;
  readonly opened: { terminal: number; console: boolean }[] = [];
  readonly ended: number[] = [];
  private readonly live = new Set<number>([1]);
  /** Blocked cells by terminal: release with the result they return. */
  private readonly blocked = new Map<number, (r: CellResult) => void>();

  async run(terminal: number, code: string, io: CellIO, options?: RunOptions): Promise<CellResult> {
    this.runs.push({ terminal, code, options });
    this.live.add(terminal);
    const [cmd, arg = ''] = code.trim().split(/\s+(.*)/s);
    switch (cmd) {
      case 'echo':
        io.onOutput(arg + '\n');
        return { outcome: 'completed', exitCode: 0 };
      case 'fail':
        return { outcome: 'completed', exitCode: Number(arg) };
      case 'block':
        if (arg) io.onOutput(arg + '\n');
        return new Promise<CellResult>((r) => this.blocked.set(terminal, r));
      case 'ask': {
        const answer = io.requestInput ? await io.requestInput('Name: ', arg === 'password') : null;
        io.onOutput(answer === null ? 'EOF\n' : `got ${answer}\n`);
        return { outcome: 'completed', exitCode: 0 };
      }
      case 'incomplete':
        return { outcome: 'incomplete', exitCode: null };
      case 'picture':
        io.onOutput('before\n');
        io.onDisplay?.({ data: { 'text/plain': `picture of ${arg}`, 'image/svg+xml': '<svg/>' }, metadata: {} });
        io.onOutput('after\n');
        return { outcome: 'completed', exitCode: 0 };
      default:
        return { outcome: 'completed', exitCode: 0 };
    }
  }
  /** Let the cell blocked in `terminal` finish with exit status 0. */
  finish(terminal: number): void {
    this.blocked.get(terminal)?.({ outcome: 'completed', exitCode: 0 });
    this.blocked.delete(terminal);
  }
  /** Is a cell blocked in `terminal` now? */
  isBlocked(terminal: number): boolean { return this.blocked.has(terminal); }
  interrupt(terminal?: number): void {
    this.interrupts++;
    for (const [n, release] of [...this.blocked]) {
      if (terminal !== undefined && n !== terminal) continue;
      this.blocked.delete(n);
      release({ outcome: 'interrupted', exitCode: 130 });
    }
  }
  private end(n: number): void {
    this.live.delete(n);
    this.blocked.get(n)?.({ outcome: 'exited', exitCode: null });
    this.blocked.delete(n);
  }
  async shutdown(): Promise<void> {
    this.shutdowns++;
    for (const n of [...this.live, ...this.blocked.keys()]) this.end(n);
  }
  bashVersion(): string { return '5.2.15'; }
  terminalsInUse(): number[] { return [...this.live].sort((a, b) => a - b); }
  async openTerminal(n: number, options: { console?: boolean } = {}): Promise<void> {
    this.opened.push({ terminal: n, console: options.console === true });
    this.live.add(n);
  }
  async endTerminal(n: number): Promise<void> {
    this.ended.push(n);
    this.end(n);
  }
}

export const client = new MessageFactory('client-session', 'tester');

export function request<T extends MsgType>(type: T, content: ContentMap[T], subshellId?: string | null): Message<T> {
  const header = subshellId === undefined ? client.header(type) : { ...client.header(type), subshell_id: subshellId };
  return { identities: [Buffer.from('c1')], header, parent_header: {}, metadata: {}, content, buffers: [] };
}
export function execute(code: string, extra: Partial<ContentMap['execute_request']> = {}, subshellId?: string | null): Message<'execute_request'> {
  return request('execute_request', { code, silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true, ...extra }, subshellId);
}
export const childrenOf = (t: MemoryTransport, req: Message) => t.sent.filter((s) => (s.msg.parent_header as { msg_id?: string }).msg_id === req.header.msg_id);
export const describeSent = (s: SentMessage) => {
  const c = s.msg.content as Record<string, unknown>;
  const detail = s.msg.header.msg_type === 'status' ? `:${c.execution_state}` : '';
  return `${s.channel}:${s.msg.header.msg_type}${detail}`;
};
export const isIdleFor = (req: Message) => (s: SentMessage) =>
  s.msg.header.msg_type === 'status' && (s.msg.content as { execution_state: string }).execution_state === 'idle' && (s.msg.parent_header as { msg_id?: string }).msg_id === req.header.msg_id;
/** The reply to `req` (on shell or control). */
export const replyTo = (t: MemoryTransport, req: Message) => childrenOf(t, req).find((s) => s.channel !== 'iopub' && s.channel !== 'stdin');
