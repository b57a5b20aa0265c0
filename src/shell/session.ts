/**
 * One persistent shell in a PTY, driven the way a person drives a terminal: a cell is typed
 * line by line, and the next line goes in only when the shell asks for it (its prompt or its
 * continuation prompt, which carry nslab's markers). Knows nothing about Jupyter.
 *
 * This class keeps the PTY, the typing, the timers and the cell's output sink. What the terminal
 * is doing is the command tracker's to say (command-tracker.ts): every byte read goes through
 * the stream parser into it, with what this class types and what /proc finds, and this class
 * acts on the events it emits. Where the byte stream cannot tell what is going on (a program
 * without markers is waiting at the terminal), /proc can: see procfs.ts.
 */
import * as pty from 'node-pty';
import { safeReadlink } from '../common/files.js';
import { StreamParser } from './stream-parser.js';
import { armingLine } from './markers.js';
import { Backlog, DEFAULT_LIMITS, type OutputLimits } from './output.js';
import { CellSink, displayText, formatChars, withFinalNewline, type CellIO } from './cell-sink.js';
import { CommandTracker, type SessionFact, type TrackerEvent, type TrackerInput } from './command-tracker.js';
import { foregroundGroup, foregroundRunning, nsPids, processTree, readsSecret, readStat, SHELL_NAMES, terminal, type ProcStat, type Terminal, type TerminalModes, type Waiter } from './procfs.js';
import { WaitingWatcher } from './waiting-watcher.js';
import { AnswerQueue } from './answer-queue.js';
import type { Command } from '../lab/sandbox.js';
import { terminalViewOf, type TerminalView } from './terminal-view.js';
import { logger } from '../log.js';

export type { CellIO };

const log = logger('shell');

export interface SessionOptions {
  command: Command;
  env: Record<string, string>;
  cwd: string;
  cols: number;
  rows: number;
  nonce: string;
  limits?: OutputLimits;
  /** After ^C, how long to wait for the prompt before killing the foreground process group. */
  interruptGraceMs?: number;
  /** Output silence after which nslab looks whether a program waits for terminal input. */
  quietMs?: number;
  /** How long to wait for the first prompt. */
  startTimeoutMs?: number;
  /**
   * Sees everything the command tracker is fed, in order, with the raw bytes in place of the
   * parser's events: what test/helpers/record-session.ts writes into a fixture.
   */
  record?: (entry: SessionRecord) => void;
}

/** One entry of a session's recording: bytes read from the PTY, or a fact of the session. */
export type SessionRecord = { kind: 'bytes'; data: Uint8Array } | SessionFact;

export type CellOutcome =
  /** The last line ran to its prompt; `exitCode` is its status. */
  | 'completed'
  /** The cell ended inside an unfinished command (open quote, `do` without `done`…); cancelled. */
  | 'incomplete'
  /** Interrupted; the shell is back at a prompt. */
  | 'interrupted'
  /** A program without markers waits for input; it gets the next cell's lines. */
  | 'untracked'
  /** `wait: false`: the last command is still running in this terminal. */
  | 'detached'
  /** The shell exited (or was killed) during the cell. */
  | 'exited';

export interface CellResult {
  outcome: CellOutcome;
  exitCode: number | null;
}

export interface RunOptions {
  /** false: return once the last line is typed, leaving it running (cell option `wait: false`). */
  wait?: boolean;
}

/** What the shell said to a line typed into it (the tracker's events that end a wait). */
type ShellAnswer = Extract<TrackerEvent, { kind: 'prompt' | 'continuation' | 'untracked' | 'exited' }>;

const PASSWORD_PROMPT = /pass(word|phrase)|PIN\b|パスワード|暗証/i;
const EXIT_DRAIN_MS = 50;
/** How long an unfinished line is held while its program is busy (see settleUnfinishedLine). */
const BUSY_PROMPT_MS = 1000;
/** How long the PTY's process gets to reap its killed children before it is killed itself. */
const KILL_REAP_MS = 300;
/** How long a ^C typed to cancel an unfinished command may take to bring the prompt back (cancelToPrompt). */
const CANCEL_WAIT_MS = 3000;

export class ShellSession {
  private readonly term: pty.IPty;
  private readonly parser: StreamParser;
  private readonly tracker = new CommandTracker();
  private readonly tty: Terminal;
  private readonly limits: OutputLimits;
  private readonly interruptGraceMs: number;
  /** Output while no cell runs (a command left running), kept for the next cell. */
  private readonly backlog: Backlog;
  /** The running cell's sink, the one place its io is kept. */
  private cell: CellSink | null = null;
  private readonly answers = new AnswerQueue<ShellAnswer>();
  private readonly watcher: WaitingWatcher;
  private topShellPgrp: number | null = null;
  private exitResolve!: () => void;
  /** Settles when the PTY's process has exited and its last output was read. */
  readonly exited: Promise<void> = new Promise((r) => (this.exitResolve = r));
  readonly pid: number;

  private constructor(private readonly opts: SessionOptions) {
    this.limits = opts.limits ?? DEFAULT_LIMITS;
    this.interruptGraceMs = opts.interruptGraceMs ?? 250;
    this.backlog = new Backlog(this.limits.capChars);
    this.parser = new StreamParser(opts.nonce);
    this.term = pty.spawn(opts.command.file, opts.command.args, {
      name: opts.env.TERM ?? 'xterm-256color',
      cols: opts.cols,
      rows: opts.rows,
      cwd: opts.cwd,
      env: opts.env,
      encoding: null,
    });
    this.pid = this.term.pid;
    this.tty = terminal((this.term as unknown as { _pty?: string })._pty ?? safeReadlink(`/proc/${this.pid}/fd/0`) ?? '');
    this.watcher = new WaitingWatcher(this.pid, this.tty, opts.quietMs ?? 60, {
      found: (program, modes) => this.tell({ kind: 'waiting', program, modes }),
      nobodyReads: () => this.settleUnfinishedLine(),
      answers: () => this.answers.count,
    });
    this.term.onData((data: string | Buffer) => this.onData(typeof data === 'string' ? Buffer.from(data, 'utf8') : data));
    this.term.onExit(() => {
      // node-pty may report the exit before the last output was delivered (see README, "PTY
      // facts"): give the reader a moment, then end the stream.
      setTimeout(() => {
        for (const e of this.parser.end()) this.feed(e);
        this.tell({ kind: 'exit' });
        this.exitResolve();
      }, EXIT_DRAIN_MS);
    });
  }

  /** Start the shell and wait for its first prompt. Startup output is kept for the first cell. */
  static async start(opts: SessionOptions): Promise<ShellSession> {
    const s = new ShellSession(opts);
    const timeout = opts.startTimeoutMs ?? 15000;
    const first = await s.answers.next(timeout);
    if (first?.kind === 'prompt') {
      s.topShellPgrp = s.findShell(first.shellPid)?.pgrp ?? null;
      return s;
    }
    const { text } = s.backlog.take();
    s.kill();
    await s.exited;
    const why = first === null ? `no prompt within ${timeout} ms` : 'the shell exited';
    throw new Error(`The shell did not start (${why}).${text.trim() ? ' It printed:\n' + text.trim() : ''}`);
  }

  get alive(): boolean { return this.tracker.phase !== 'exited'; }
  /** True while a command left running by `wait: false` has not come back to the prompt. */
  get busy(): boolean { return this.tracker.phase === 'running'; }

  /** Run one cell. Cells on one session must not overlap (the kernel serialises them). */
  async run(code: string, io: CellIO, options: RunOptions = {}): Promise<CellResult> {
    if (this.tracker.cellRunning) throw new Error('a cell is already running in this terminal');
    if (!this.alive) return { outcome: 'exited', exitCode: null };
    this.tell({ kind: 'cell-start' });
    const cell = new CellSink(io, this.limits);
    this.cell = cell;
    try {
      const kept = this.backlog.take();
      if (kept.text) cell.out.write(kept.text);
      if (kept.dropped) cell.notice(`nslab: ${formatChars(kept.dropped)} of output from the command left running were not kept.\n`);
      return await this.typeCell(code, options);
    } finally {
      this.tell({ kind: 'cell-end' }); // a line break held back after ^C goes to this cell
      cell.out.flush();
      this.cell = null;
      this.watcher.stop();
    }
  }

  private async typeCell(code: string, options: RunOptions): Promise<CellResult> {
    let lastExit: number | null = null;
    // A command from an earlier `wait: false` cell still runs, or its prompt was not collected
    // yet: wait for it, as a person would.
    if (this.busy || this.answers.pending) {
      const r = await this.awaitShell(false);
      if (r.kind === 'exited') return { outcome: 'exited', exitCode: null };
      if (this.tracker.interruptRequested) return { outcome: 'interrupted', exitCode: r.kind === 'prompt' ? r.exitCode : null };
      if (r.kind === 'prompt') lastExit = r.exitCode;
    }
    const lines = code.replace(/\r\n?/g, '\n').split('\n');
    while (lines.length && lines[lines.length - 1].trim() === '') lines.pop();
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i];
      const more = i < lines.length - 1;
      // Blank lines mean nothing at a primary prompt; inside a here-document they are content.
      if (line.trim() === '' && this.tracker.phase === 'prompt') continue;
      this.type(line + '\r');
      this.tell({ kind: 'line', text: line });
      if (!more && options.wait === false) {
        const settled = await this.awaitShell(more, 100);
        if (settled === null) return { outcome: 'detached', exitCode: null };
        return resultOf(settled, lastExit);
      }
      const r = await this.awaitShell(more);
      if (this.tracker.interruptRequested) {
        return { outcome: r.kind === 'exited' ? 'exited' : 'interrupted', exitCode: r.kind === 'prompt' ? r.exitCode : null };
      }
      if (r.kind === 'exited') return { outcome: 'exited', exitCode: null };
      if (r.kind === 'prompt') lastExit = r.exitCode;
      if (r.kind === 'untracked' && !more) return { outcome: 'untracked', exitCode: null };
      if (r.kind === 'continuation' && !more) {
        // The cell's text ended inside an unfinished command: cancel it like ^C at a terminal.
        // Nothing of it ran, so nothing is shown (readline would print `^C`).
        this.tell({ kind: 'cancel' });
        const back = await this.cancelToPrompt();
        if (back?.kind === 'exited') return { outcome: 'exited', exitCode: null };
        return { outcome: 'incomplete', exitCode: null };
      }
    }
    return { outcome: 'completed', exitCode: lastExit };
  }

  /**
   * ^C at the continuation prompt, and its answer: the shell's prompt (or its exit). Anything else
   * the shell is found doing meanwhile is not that answer. A ^C the shell did not act on within
   * CANCEL_WAIT_MS is typed once more; if that too brings no prompt, the cell ends anyway (null)
   * and a prompt that comes later is collected by the next cell, so a cell never hangs here.
   */
  private async cancelToPrompt(): Promise<ShellAnswer | null> {
    for (let attempt = 0; attempt < 2; attempt++) {
      this.type('\x03');
      const deadline = Date.now() + CANCEL_WAIT_MS;
      for (let left = CANCEL_WAIT_MS; left > 0; left = deadline - Date.now()) {
        const back = await this.awaitShell(false, left);
        if (back === null) break;
        if (back.kind === 'prompt' || back.kind === 'exited') return back;
      }
      log.warn(`no prompt within ${CANCEL_WAIT_MS} ms of ^C at a continuation prompt${attempt === 0 ? '; typing ^C again' : ''}`);
    }
    return null;
  }

  /**
   * Wait until the shell asks for the next line: its prompt, its continuation prompt, or (for
   * programs without markers) waiting at the terminal. Input requests from programs that read
   * lines (`read`, `cat`, password prompts) are answered, and shells without markers armed, on
   * the way. With `settleMs`, gives up after that long and returns null (the command goes on
   * running).
   */
  private async awaitShell(moreLines: boolean, settleMs?: number): Promise<ShellAnswer>;
  private async awaitShell(moreLines: boolean, settleMs: number): Promise<ShellAnswer | null>;
  private async awaitShell(moreLines: boolean, settleMs?: number): Promise<ShellAnswer | null> {
    this.watcher.start();
    const deadline = settleMs === undefined ? null : Date.now() + settleMs;
    for (;;) {
      const remaining = deadline === null ? undefined : deadline - Date.now();
      if (remaining !== undefined && remaining <= 0) return null;
      const e = await this.answers.next(remaining);
      if (e === null) return null;
      if (e.kind === 'exited') return e;
      if (e.kind === 'untracked' && e.needs === 'markers') {
        this.armShell(e.program);
      } else if (e.kind === 'untracked' && e.needs === 'line') {
        await this.answerInput(e.program, e.modes);
      } else {
        if (e.kind === 'untracked' && e.firstTime) this.noticeUntracked(e.program, moreLines);
        this.watcher.stop();
        return e;
      }
    }
  }

  /** A shell that lost our markers (`env -i bash`, `su -`, `bash --norc` with a new PS1): give them back. */
  private armShell(w: Waiter): void {
    this.cell?.notice(`nslab: \`${w.comm}\` (PID ${w.innerPid} in its namespace) started without nslab's prompt markers; nslab set them up in it.\n`);
    this.type(armingLine(this.opts.nonce) + '\r');
  }

  private noticeUntracked(w: Waiter, moreLines: boolean): void {
    this.cell?.notice(
      `nslab: \`${w.comm}\` is waiting for input at the terminal. nslab cannot see where its commands end, ` +
      `so ${moreLines ? 'the next lines go' : 'the next cells go'} to it one line at a time, each ending when it waits again. ` +
      'Leave it (e.g. `exit`) to get back to the shell.\n',
    );
  }

  /**
   * A program reading lines: `read`, `cat`, a password prompt. Its unfinished last line is its
   * prompt: asked with the input request (frontends show it beside the input box and, after the
   * answer, with it), not also as output.
   */
  private async answerInput(w: Waiter, modes: TerminalModes | null): Promise<void> {
    const cell = this.cell;
    if (!cell) return;
    const { io, out } = cell;
    const canAsk = io.requestInput !== undefined && !this.tracker.interruptRequested;
    const prompt = canAsk ? out.takeUnfinishedLine() : '';
    out.flush();
    const password = readsSecret(w, modes) || PASSWORD_PROMPT.test(prompt || out.tail);
    const answer = canAsk && io.requestInput ? await io.requestInput(prompt, password) : null;
    if (this.tracker.interruptRequested) return; // ^C was typed meanwhile; the prompt follows
    if (answer === null) {
      if (prompt) out.write(prompt);
      cell.notice(`nslab: \`${w.comm}\` waited for terminal input, but this frontend cannot send any (stdin is not enabled); it got end-of-file.\n`);
      this.type('\x04');
    } else {
      this.type(answer.replace(/\r?\n/g, ' ') + '\r');
    }
  }

  /** ^C; if the foreground job ignores it, kill its process group after a grace period. */
  interrupt(): void {
    if (!this.tracker.interruptible) return;
    this.tell({ kind: 'interrupt' });
    const before = this.answers.count;
    this.type('\x03');
    const timer = setTimeout(() => {
      if (this.answers.count !== before || !this.alive) return;
      const group = foregroundGroup(this.pid);
      if (group === null || group === this.topShellPgrp || group === readStat(this.pid)?.pgrp) return;
      log.info(`interrupt: ^C ignored, killing foreground process group ${group}`);
      // The shell waiting for the job (the parent of its leader) gets SIGINT first, as it would
      // from ^C at a terminal: when the job then dies, bash ends the whole command line
      // (`sleep 100; echo after` stops there) instead of going on as after a job killed from
      // elsewhere. The job's status (137) stays its `$?`.
      const leader = readStat(group);
      const shell = leader ? readStat(leader.ppid) : null;
      if (shell && SHELL_NAMES.has(shell.comm)) {
        try {
          process.kill(shell.pid, 'SIGINT');
          this.tell({ kind: 'interrupt-killed' });
        } catch { /* gone: nothing to end */ }
      }
      try {
        process.kill(-group, 'SIGKILL');
      } catch (err) {
        log.warn(`could not kill process group ${group}`, err);
      }
    }, this.interruptGraceMs);
    timer.unref();
  }

  /**
   * End the shell and everything it started. Children go first and the PTY's own process
   * last, after it had a moment to reap them: in a lab the PTY's process is unshare, and if it
   * died first, the lab's init would be left a zombie for this machine's init to reap.
   */
  kill(): void {
    if (!this.alive) return;
    for (const pid of processTree(this.pid).filter((p) => p !== this.pid).reverse()) {
      try { process.kill(pid, 'SIGKILL'); } catch { /* gone already */ }
    }
    const last = setTimeout(() => {
      try { this.term.kill('SIGKILL'); } catch { /* gone already */ }
    }, KILL_REAP_MS);
    void this.exited.then(() => clearTimeout(last));
  }

  /**
   * The shell that last showed its prompt (the innermost one) as this machine sees it: its
   * directory and root work from here whatever mount namespace the shell is in.
   */
  terminalView(): TerminalView | undefined {
    const innerPid = this.tracker.promptingShellPid;
    const shell = innerPid === null ? null : this.findShell(innerPid);
    return shell ? terminalViewOf(shell.pid) : undefined;
  }

  /** Resize the terminal (columns decide how wide `ps -ef` may print). */
  resize(cols: number, rows: number): void {
    if (this.alive) this.term.resize(cols, rows);
  }

  // ---- plumbing -------------------------------------------------------------------------

  private type(text: string): void {
    if (!this.alive) return;
    this.term.write(text);
  }

  private onData(chunk: Buffer): void {
    this.opts.record?.({ kind: 'bytes', data: chunk });
    for (const e of this.parser.push(chunk)) this.feed(e);
  }

  /** Tell the tracker what the session did or found (and the recording, if any). */
  private tell(fact: SessionFact): void {
    this.opts.record?.(fact);
    this.feed(fact);
  }

  private feed(input: TrackerInput): void {
    for (const e of this.tracker.feed(input)) this.onTrackerEvent(e);
  }

  /**
   * Output goes to the running cell, or to the backlog between cells (where rich output keeps
   * only its text form, with the rest of that command's output); the shell's answers go to
   * whoever waits for them.
   */
  private onTrackerEvent(e: TrackerEvent): void {
    switch (e.kind) {
      case 'output':
        if (this.cell) this.cell.out.write(e.text);
        else this.backlog.write(e.text);
        break;
      case 'display':
        if (this.cell) this.cell.display(e.bundle);
        else this.backlog.write(withFinalNewline(displayText(e.bundle)));
        break;
      case 'display-invalid':
        this.cell?.displayInvalid(e.reason);
        return;
      default:
        if (e.kind === 'exited') this.watcher.stop();
        this.answers.push(e);
        return;
    }
    this.watcher.outputCame();
  }

  /**
   * Output went quiet and nobody reads the terminal: an unfinished last line the coalescer
   * holds is plain output (`printf 'working… '; sleep 5`), not a prompt, so it goes out now.
   * Unless a foreground process is running: it may have printed its prompt and not yet reached
   * its read (under load that can take a while); the next look decides, or after
   * BUSY_PROMPT_MS it goes out anyway (a long computation after `printf 'working… '`).
   */
  private settleUnfinishedLine(): void {
    const since = this.cell?.out.heldSince;
    if (since === null || since === undefined) return;
    if (foregroundRunning(this.pid) && Date.now() - since < BUSY_PROMPT_MS) return;
    this.cell?.out.releaseUnfinishedLine();
  }

  /** The shell on this terminal whose PID in its own namespace is `innerPid` (any shell: null). */
  private findShell(innerPid: number | null): ProcStat | null {
    for (const pid of processTree(this.pid)) {
      const st = readStat(pid);
      if (st && SHELL_NAMES.has(st.comm) && (innerPid === null || nsPids(pid).at(-1) === innerPid)) return st;
    }
    return null;
  }
}

/** The result of a cell whose last line was answered by `r`. */
function resultOf(r: ShellAnswer, lastExit: number | null): CellResult {
  if (r.kind === 'exited') return { outcome: 'exited', exitCode: null };
  if (r.kind === 'prompt') return { outcome: 'completed', exitCode: r.exitCode };
  if (r.kind === 'untracked') return { outcome: 'untracked', exitCode: null };
  return { outcome: 'completed', exitCode: lastExit };
}

