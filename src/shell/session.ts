/**
 * One persistent shell in a PTY, driven the way a person drives a terminal: a cell is typed
 * line by line, and the next line goes in only when the shell asks for it (its prompt or its
 * continuation prompt, which carry nslab's markers). Knows nothing about Jupyter.
 *
 * Where the byte stream cannot tell what is going on (a program without markers is waiting at
 * the terminal), /proc can: see procfs.ts.
 */
import * as pty from 'node-pty';
import { safeReadlink } from '../common/files.js';
import { StreamParser } from './stream-parser.js';
import type { DisplayBundle, ParserEvent } from './types.js';
import { armingLine } from './markers.js';
import { Backlog, DEFAULT_LIMITS, OutputCoalescer, type OutputLimits } from './output.js';
import { blocksStopSignal, findTerminalReader, foregroundGroup, foregroundRunning, nsPids, processTree, readStat, SHELL_NAMES, terminal, terminalModes, type ProcStat, type Terminal, type TerminalModes, type Waiter } from './procfs.js';
import type { Command } from '../lab/sandbox.js';
import { terminalViewOf, type TerminalView } from './terminal-view.js';
import { logger } from '../log.js';

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
}

export interface CellIO {
  /** Program output, cleaned and coalesced, in order. */
  onOutput(text: string): void;
  /** What nslab itself has to say about the cell (shown apart from program output). */
  onNotice(text: string): void;
  /**
   * A program waits for a line of terminal input. Resolve with the line, or null when it cannot
   * be asked for (the program then gets end-of-file).
   */
  requestInput?(prompt: string, password: boolean): Promise<string | null>;
  /**
   * Rich output a program asked for (`nstree`), in order with the text around it. Without this,
   * the bundle's text/plain is shown as output.
   */
  onDisplay?(bundle: DisplayBundle): void;
}

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

type ControlEvent =
  | { kind: 'prompt'; exitCode: number | null; shellPid: number | null }
  | { kind: 'continuation' }
  | { kind: 'waiting'; waiter: Waiter }
  | { kind: 'exit' };

const PASSWORD_PROMPT = /pass(word|phrase)|PIN\b|パスワード|暗証/i;
const EXIT_DRAIN_MS = 50;
const CONFIRM_WAIT_MS = 25;
/** How long an unfinished line is held while its program is busy (see settleUnfinishedLine). */
const BUSY_PROMPT_MS = 1000;
/** How long the PTY's process gets to reap its killed children before it is killed itself. */
const KILL_REAP_MS = 300;

export class ShellSession {
  private readonly term: pty.IPty;
  private readonly parser: StreamParser;
  private readonly tty: Terminal;
  private readonly limits: OutputLimits;
  private readonly interruptGraceMs: number;
  private readonly quietMs: number;
  private readonly backlog: Backlog;
  private coalescer: OutputCoalescer | null = null;
  /** The running cell's io (for rich output, which does not go through the coalescer). */
  private cellIo: CellIO | null = null;
  /** Characters of rich output this cell showed: bounded by the same cap as its text. */
  private displayChars = 0;
  private events: ControlEvent[] = [];
  private eventWaiter: ((e: ControlEvent) => void) | null = null;
  private quietTimer: NodeJS.Timeout | null = null;
  /** Counts control events, so timers can tell whether something happened since they started. */
  private eventCount = 0;
  private watching = false;
  private cellRunning = false;
  private interruptRequested = false;
  /** Output is dropped until the next prompt (while a cancelled command is unwound). */
  private muted = false;
  /** A line break held back after an interrupt (bash's newline after a job killed by ^C). */
  private heldBreak = '';
  private readonly armedPids = new Set<number>();
  private readonly untrackedNoticed = new Set<number>();
  /** What the terminal is doing between cells. */
  private state: 'starting' | 'prompt' | 'continuation' | 'running' | 'untracked' | 'exited' = 'starting';
  private lastPromptPid: number | null = null;
  private topShellPgrp: number | null = null;
  private exitResolve!: () => void;
  /** Settles when the PTY's process has exited and its last output was read. */
  readonly exited: Promise<void> = new Promise((r) => (this.exitResolve = r));
  readonly pid: number;

  private constructor(private readonly opts: SessionOptions) {
    this.limits = opts.limits ?? DEFAULT_LIMITS;
    this.interruptGraceMs = opts.interruptGraceMs ?? 250;
    this.quietMs = opts.quietMs ?? 60;
    this.backlog = new Backlog(this.limits.capChars);
    this.parser = new StreamParser(opts.nonce);
    this.term = pty.spawn(opts.command.file, opts.command.args, {
      name: opts.env.TERM ?? 'xterm-256color',
      cols: opts.cols,
      rows: opts.rows,
      cwd: opts.cwd,
      env: opts.env,
      encoding: null,
    } as pty.IPtyForkOptions);
    this.pid = this.term.pid;
    this.tty = terminal((this.term as unknown as { _pty?: string })._pty ?? safeReadlink(`/proc/${this.pid}/fd/0`) ?? '');
    this.term.onData((data: string | Buffer) => this.onData(typeof data === 'string' ? Buffer.from(data, 'utf8') : data));
    this.term.onExit(() => {
      // node-pty may report the exit before the last output was delivered (see README, "PTY
      // facts"): give the reader a moment, then end the stream.
      setTimeout(() => {
        for (const e of this.parser.end()) this.onParserEvent(e);
        this.state = 'exited';
        this.pushEvent({ kind: 'exit' });
        this.exitResolve();
      }, EXIT_DRAIN_MS);
    });
  }

  /** Start the shell and wait for its first prompt. Startup output is kept for the first cell. */
  static async start(opts: SessionOptions): Promise<ShellSession> {
    const s = new ShellSession(opts);
    const timeout = opts.startTimeoutMs ?? 15000;
    const first = await s.nextEvent(timeout);
    if (first?.kind === 'prompt') {
      s.state = 'prompt';
      s.lastPromptPid = first.shellPid;
      s.topShellPgrp = s.findShell(first.shellPid)?.pgrp ?? null;
      return s;
    }
    const { text } = s.backlog.take();
    s.kill();
    await s.exited;
    const why = first === null ? `no prompt within ${timeout} ms` : 'the shell exited';
    throw new Error(`The shell did not start (${why}).${text.trim() ? ' It printed:\n' + text.trim() : ''}`);
  }

  get alive(): boolean { return this.state !== 'exited'; }
  /** True while a command left running by `wait: false` has not come back to the prompt. */
  get busy(): boolean { return this.state === 'running'; }

  /** Run one cell. Cells on one session must not overlap (the kernel serialises them). */
  async run(code: string, io: CellIO, options: RunOptions = {}): Promise<CellResult> {
    if (this.cellRunning) throw new Error('a cell is already running in this terminal');
    if (this.state === 'exited') return { outcome: 'exited', exitCode: null };
    this.cellRunning = true;
    this.interruptRequested = false;
    const coalescer = new OutputCoalescer(io.onOutput, (cap) =>
      io.onNotice(`nslab: this cell's output passed ${formatChars(cap)}; the rest is not shown (the command keeps running).\n`),
      this.limits,
    );
    this.coalescer = coalescer;
    this.cellIo = io;
    this.displayChars = 0;
    try {
      const kept = this.backlog.take();
      if (kept.text) coalescer.write(kept.text);
      if (kept.dropped) io.onNotice(`nslab: ${formatChars(kept.dropped)} of output from the command left running were not kept.\n`);
      return await this.typeCell(code, io, options, coalescer);
    } finally {
      if (this.heldBreak) coalescer.write(this.heldBreak);
      this.heldBreak = '';
      coalescer.flush();
      this.coalescer = null;
      this.cellIo = null;
      this.cellRunning = false;
      this.stopWatching();
    }
  }

  private async typeCell(code: string, io: CellIO, options: RunOptions, out: OutputCoalescer): Promise<CellResult> {
    let lastExit: number | null = null;
    // A command from an earlier `wait: false` cell still runs: wait for it, as a person would.
    if (this.state === 'running') {
      const r = await this.awaitShell(io, out, false);
      if (r.kind === 'exit') return { outcome: 'exited', exitCode: null };
      if (this.interruptRequested) return { outcome: 'interrupted', exitCode: r.kind === 'prompt' ? r.exitCode : null };
      if (r.kind === 'prompt') lastExit = r.exitCode;
    }
    const lines = code.replace(/\r\n?/g, '\n').split('\n');
    while (lines.length && lines[lines.length - 1].trim() === '') lines.pop();
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i];
      const more = i < lines.length - 1;
      // Blank lines mean nothing at a primary prompt; inside a here-document they are content.
      if (line.trim() === '' && this.state === 'prompt') continue;
      this.type(line + '\r');
      this.state = 'running';
      if (!more && options.wait === false) {
        const settled = await this.awaitShell(io, out, more, 100);
        if (settled === null) return { outcome: 'detached', exitCode: null };
        return this.resultOf(settled, lastExit);
      }
      const r = await this.awaitShell(io, out, more);
      if (this.interruptRequested) {
        return { outcome: r.kind === 'exit' ? 'exited' : 'interrupted', exitCode: r.kind === 'prompt' ? r.exitCode : null };
      }
      if (r.kind === 'exit') return { outcome: 'exited', exitCode: null };
      if (r.kind === 'prompt') lastExit = r.exitCode;
      if (r.kind === 'untracked' && !more) return { outcome: 'untracked', exitCode: null };
      if (r.kind === 'continuation' && !more) {
        // The cell's text ended inside an unfinished command: cancel it like ^C at a terminal.
        // Nothing of it ran, so nothing is shown (readline would print `^C`).
        this.muted = true;
        this.type('\x03');
        const back = await this.awaitShell(io, out, false);
        if (back.kind === 'exit') return { outcome: 'exited', exitCode: null };
        return { outcome: 'incomplete', exitCode: null };
      }
    }
    return { outcome: 'completed', exitCode: lastExit };
  }

  /** The result of a cell whose last line was answered by `r`. */
  private resultOf(r: ShellAnswer, lastExit: number | null): CellResult {
    if (r.kind === 'exit') return { outcome: 'exited', exitCode: null };
    if (r.kind === 'prompt') return { outcome: 'completed', exitCode: r.exitCode };
    if (r.kind === 'untracked') return { outcome: 'untracked', exitCode: null };
    return { outcome: 'completed', exitCode: lastExit };
  }

  /**
   * Wait until the shell asks for the next line: its prompt, its continuation prompt, or (for
   * programs without markers) waiting at the terminal. Input requests from programs that read
   * lines (`read`, `cat`, password prompts) are answered on the way.
   * With `settleMs`, gives up after that long and returns null (the command goes on running).
   */
  private async awaitShell(io: CellIO, out: OutputCoalescer, moreLines: boolean, settleMs?: number): Promise<ShellAnswer>;
  private async awaitShell(io: CellIO, out: OutputCoalescer, moreLines: boolean, settleMs: number): Promise<ShellAnswer | null>;
  private async awaitShell(io: CellIO, out: OutputCoalescer, moreLines: boolean, settleMs?: number): Promise<ShellAnswer | null> {
    this.startWatching();
    const deadline = settleMs === undefined ? null : Date.now() + settleMs;
    for (;;) {
      const remaining = deadline === null ? undefined : deadline - Date.now();
      if (remaining !== undefined && remaining <= 0) return null;
      const e = await this.nextEvent(remaining);
      if (e === null) return null;
      switch (e.kind) {
        case 'prompt':
          this.state = 'prompt';
          this.lastPromptPid = e.shellPid;
          this.stopWatching();
          return e;
        case 'continuation':
          this.state = 'continuation';
          this.stopWatching();
          return e;
        case 'exit':
          return e;
        case 'waiting': {
          const handled = await this.onProgramWaiting(e.waiter, io, out, moreLines);
          if (handled === 'untracked') {
            this.state = 'untracked';
            this.stopWatching();
            return { kind: 'untracked' };
          }
          break; // answered or armed: keep waiting for the prompt
        }
      }
    }
  }

  /** A program waits at the terminal and no marker says it is a prompt of ours. */
  private async onProgramWaiting(w: Waiter, io: CellIO, out: OutputCoalescer, moreLines: boolean): Promise<'answered' | 'armed' | 'untracked'> {
    const isShell = SHELL_NAMES.has(w.comm);
    const isOurPromptingShell = isShell && w.innerPid === this.lastPromptPid;
    if (isShell && !isOurPromptingShell && !this.armedPids.has(w.pid)) {
      // A shell that lost our markers (`env -i bash`, `su -`, `bash --norc` with a new PS1):
      // give them back, then it reports its prompts like any other.
      this.armedPids.add(w.pid);
      io.onNotice(`nslab: \`${w.comm}\` (PID ${w.innerPid} in its namespace) started without nslab's prompt markers; nslab set them up in it.\n`);
      this.type(armingLine(this.opts.nonce) + '\r');
      return 'armed';
    }
    const modes = await terminalModes(this.tty.path);
    const lineEditor = (modes !== null && !modes.canonical) || (isShell && !isOurPromptingShell);
    if (lineEditor) {
      if (!this.untrackedNoticed.has(w.pid)) {
        this.untrackedNoticed.add(w.pid);
        io.onNotice(
          `nslab: \`${w.comm}\` is waiting for input at the terminal. nslab cannot see where its commands end, ` +
          `so ${moreLines ? 'the next lines go' : 'the next cells go'} to it one line at a time, each ending when it waits again. ` +
          'Leave it (e.g. `exit`) to get back to the shell.\n',
        );
      }
      return 'untracked';
    }
    // A program reading lines: `read`, `cat`, a password prompt. Its unfinished last line is
    // its prompt: asked with the input request (frontends show it beside the input box and,
    // after the answer, with it), not also as output.
    const prompt = io.requestInput && !this.interruptRequested ? out.takeUnfinishedLine() : '';
    out.flush();
    const password = readsSecret(w, modes) || PASSWORD_PROMPT.test(prompt || out.tail);
    const answer = io.requestInput && !this.interruptRequested ? await io.requestInput(prompt, password) : null;
    if (this.interruptRequested) return 'answered'; // ^C was typed meanwhile; the prompt follows
    if (answer === null) {
      if (prompt) out.write(prompt);
      io.onNotice(`nslab: \`${w.comm}\` waited for terminal input, but this frontend cannot send any (stdin is not enabled); it got end-of-file.\n`);
      this.type('\x04');
    } else {
      this.type(answer.replace(/\r?\n/g, ' ') + '\r');
    }
    return 'answered';
  }

  /** ^C; if the foreground job ignores it, kill its process group after a grace period. */
  interrupt(): void {
    if (this.state === 'exited' || (this.state === 'prompt' && !this.cellRunning)) return;
    this.interruptRequested = true;
    const before = this.eventCount;
    this.type('\x03');
    const timer = setTimeout(() => {
      if (this.eventCount !== before || this.state === 'exited') return;
      const group = foregroundGroup(this.pid);
      if (group === null || group === this.topShellPgrp || group === readStat(this.pid)?.pgrp) return;
      log.info(`interrupt: ^C ignored, killing foreground process group ${group}`);
      try {
        process.kill(-group, 'SIGKILL');
      } catch (err) {
        log.warn(`could not kill process group ${group}`, err as Error);
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
    if (this.state === 'exited') return;
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
    const shell = this.lastPromptPid === null ? null : this.findShell(this.lastPromptPid);
    return shell ? terminalViewOf(shell.pid) : undefined;
  }

  /** Resize the terminal (columns decide how wide `ps -ef` may print). */
  resize(cols: number, rows: number): void {
    if (this.state !== 'exited') this.term.resize(cols, rows);
  }

  // ---- plumbing -------------------------------------------------------------------------

  private type(text: string): void {
    if (this.state === 'exited') return;
    this.term.write(text);
  }

  private onData(chunk: Buffer): void {
    for (const e of this.parser.push(chunk)) this.onParserEvent(e);
  }

  private onParserEvent(e: ParserEvent): void {
    if (e.kind === 'output') {
      if (this.muted) return;
      let text = e.text;
      if (this.interruptRequested && this.coalescer) {
        // Hold back a final line break until the next output or the prompt (see below).
        text = this.heldBreak + text;
        this.heldBreak = text.endsWith('\n') ? '\n' : '';
        text = text.slice(0, text.length - this.heldBreak.length);
      }
      if (!text) return;
      if (this.coalescer) this.coalescer.write(text);
      else this.backlog.write(text);
      if (this.watching) this.armQuietCheck();
      return;
    }
    if (e.kind === 'display' || e.kind === 'display-invalid') {
      if (!this.muted) this.onDisplayEvent(e);
      return;
    }
    if (e.kind === 'prompt') this.muted = false;
    if (this.heldBreak) {
      // After ^C kills a foreground job, bash prints a line break to end the line the terminal's
      // echo of `^C` would have left (jobs.c); nslab's terminal echoes nothing, so right before
      // the prompt, after a job that died of SIGINT (status 130), it is an empty line of nothing.
      const fromBash = e.kind === 'prompt' && e.exitCode === 130;
      if (!fromBash) this.coalescer?.write(this.heldBreak);
      this.heldBreak = '';
    }
    this.pushEvent(e.kind === 'prompt' ? { kind: 'prompt', exitCode: e.exitCode, shellPid: e.shellPid } : { kind: 'continuation' });
  }

  /**
   * Rich output goes out after the text before it (the coalescer is flushed first), so a
   * picture stays where the program printed it. Between cells (a command left running) only its
   * text form is kept, with the rest of that command's output.
   */
  private onDisplayEvent(e: Extract<ParserEvent, { kind: 'display' | 'display-invalid' }>): void {
    const io = this.cellIo;
    if (e.kind === 'display-invalid') {
      const notice = `nslab: a program sent rich output that could not be shown (${e.reason}).\n`;
      if (io && this.coalescer) {
        this.coalescer.flush();
        io.onNotice(notice);
      }
      return;
    }
    const text = e.bundle.data['text/plain'] ?? '';
    if (io && this.coalescer) {
      this.coalescer.flush();
      const size = Object.values(e.bundle.data).reduce((n, v) => n + v.length, 0);
      const overCap = this.displayChars + size > this.limits.capChars;
      const firstOver = overCap && this.displayChars <= this.limits.capChars;
      this.displayChars += size;
      if (overCap) {
        if (firstOver) io.onNotice(`nslab: this cell's rich output passed ${formatChars(this.limits.capChars)}; the rest is not shown.\n`);
      } else if (io.onDisplay) io.onDisplay(e.bundle);
      else this.coalescer.write(withFinalNewline(text));
    } else {
      this.backlog.write(withFinalNewline(text));
    }
    if (this.watching) this.armQuietCheck();
  }

  private pushEvent(e: ControlEvent): void {
    this.eventCount++;
    if (this.eventWaiter) {
      const w = this.eventWaiter;
      this.eventWaiter = null;
      w(e);
    } else {
      this.events.push(e);
    }
  }

  private nextEvent(timeoutMs?: number): Promise<ControlEvent | null> {
    const e = this.events.shift();
    if (e) return Promise.resolve(e);
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | null = null;
      this.eventWaiter = (ev) => {
        if (timer) clearTimeout(timer);
        resolve(ev);
      };
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          this.eventWaiter = null;
          resolve(null);
        }, timeoutMs);
      }
    });
  }

  /** While a command runs: after a quiet spell, look whether a program waits for input. */
  private startWatching(): void {
    this.watching = true;
    this.armQuietCheck();
  }

  private stopWatching(): void {
    this.watching = false;
    if (this.quietTimer) clearTimeout(this.quietTimer);
    this.quietTimer = null;
  }

  private armQuietCheck(delay = this.quietMs): void {
    if (this.quietTimer) clearTimeout(this.quietTimer);
    this.quietTimer = setTimeout(() => this.checkWaiting(delay), delay);
  }

  private checkWaiting(lastDelay: number): void {
    this.quietTimer = null;
    if (!this.watching || this.state === 'exited') return;
    const before = this.eventCount;
    const w = findTerminalReader(this.pid, this.tty);
    if (!w) {
      this.settleUnfinishedLine();
      // Long-running commands: look less often the longer they run.
      this.armQuietCheck(Math.min(lastDelay * 2, 400));
      return;
    }
    // The marker of a prompt may still be in flight: confirm after a moment.
    this.quietTimer = setTimeout(() => {
      this.quietTimer = null;
      if (!this.watching || this.eventCount !== before) return;
      const again = findTerminalReader(this.pid, this.tty);
      if (again && again.pid === w.pid) this.pushEvent({ kind: 'waiting', waiter: again });
      else this.armQuietCheck();
    }, CONFIRM_WAIT_MS);
  }

  /**
   * Output went quiet and nobody reads the terminal: an unfinished last line the coalescer
   * holds is plain output (`printf 'working… '; sleep 5`), not a prompt, so it goes out now.
   * Unless a foreground process is running: it may have printed its prompt and not yet reached
   * its read (under load that can take a while); the next look decides, or after
   * BUSY_PROMPT_MS it goes out anyway (a long computation after `printf 'working… '`).
   */
  private settleUnfinishedLine(): void {
    const since = this.coalescer?.heldSince;
    if (since === null || since === undefined) return;
    if (foregroundRunning(this.pid) && Date.now() - since < BUSY_PROMPT_MS) return;
    this.coalescer!.releaseUnfinishedLine();
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

/**
 * Whether a program waiting for a line reads a secret: it turned the terminal's echo off, as
 * `read -s`, getpass, passwd, su, ssh, sudo and openssl do whatever their prompt says.
 *
 * The echo flag alone cannot say so here: nslab's terminals run with echo off all the time
 * (`stty -echo`, so the lines nslab types are not shown twice), and a program that clears ECHO
 * changes nothing. Turning echo on while commands run would need the shell to run `stty` before
 * and after every command (readline decides whether it echoes from the flag as it starts a
 * line) and would echo the lines typed into dash or an untracked python3. What each way of
 * reading a secret leaves behind instead, measured in the lab (bash 5.2, glibc 2.36,
 * Python 3.11, Linux-PAM 1.5; `stty -a -F` on the terminal while the program waits):
 *   - bash `read -s` clears ECHO, ECHOK and ECHONL: `-echok` (the lab keeps `echok` on);
 *   - glibc getpass(3) clears ECHO and ISIG: `-isig`;
 *   - Python's getpass, ssh, sudo and openssl clear only ECHO, but read through their own open
 *     of /dev/tty (/proc shows that descriptor as `/dev/tty`), not the stdin they were given;
 *   - Linux-PAM's conversation (su, passwd, login) clears only ECHO and reads stdin, but blocks
 *     SIGTSTP while it reads.
 * A plain `read`, `cat` or python `input()` shows none of these and stays unmasked. What this
 * cannot see: a program of its own kind that clears only ECHO and reads stdin (the prompt
 * check in onProgramWaiting still catches it if its prompt asks for a password), and
 * `read x </dev/tty`, which is masked.
 */
export function readsSecret(w: Waiter, modes: TerminalModes | null): boolean {
  if (modes?.echo) return false; // echo on: what is typed shows anyway, as in any terminal
  if (w.ownTty) return true;
  if (modes && (!modes.echoKill || !modes.signals)) return true;
  return blocksStopSignal(w.pid);
}

type ShellAnswer =
  | { kind: 'prompt'; exitCode: number | null; shellPid: number | null }
  | { kind: 'continuation' }
  | { kind: 'untracked' }
  | { kind: 'exit' };

export function formatChars(n: number): string {
  return n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(n % (1024 * 1024) ? 1 : 0)} MB` : n >= 1024 ? `${Math.round(n / 1024)} KB` : `${n} characters`;
}

function withFinalNewline(text: string): string {
  return text === '' || text.endsWith('\n') ? text : text + '\n';
}
