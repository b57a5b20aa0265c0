/**
 * The command tracker: what the terminal is doing (at its prompt, running a command, asking for
 * more of one, taken over by a program nslab cannot follow, gone), told from what the shell
 * prints (the stream parser's events), what nslab does to the terminal (types a cell's line, ^C,
 * starts and ends a cell), what /proc finds waiting on it, and the end of its process.
 *
 * A pure, synchronous state machine like the stream parser: no timers, no I/O, all state in the
 * instance. ShellSession feeds it and acts on the one event union it emits; because nothing here
 * needs a PTY, test/unit/command-tracker.test.ts replays the recorded sessions of test/fixtures/
 * through parser and tracker at every chunk split.
 *
 * Phases (`exit` leads from any of them to `exited`):
 *
 *   starting ──prompt──▶ prompt ──line──▶ running ──prompt──────────────▶ prompt
 *                                           │  └──continuation────────▶ continuation ──line──▶ running
 *                                           └──waiting (a line editor)──▶ untracked ──line──▶ running
 *
 * A program waiting for a line (`read`, `cat`, a password prompt) or a shell without nslab's
 * markers leaves the phase `running`: the session answers it, or arms the shell, and the command
 * goes on until its prompt.
 */
import { SHELL_NAMES, type TerminalModes, type Waiter } from './procfs.js';
import type { ParserEvent } from './types.js';

/** What the session did to the terminal, or found out about it, besides the bytes it read. */
export type SessionFact =
  /** A line of the cell went to the shell (typed by nslab, as a person would). */
  | { kind: 'line'; text: string }
  /** A cell starts using the terminal; its output goes to the cell from now on. */
  | { kind: 'cell-start' }
  /** The cell ends; output goes to the backlog for the next cell. */
  | { kind: 'cell-end' }
  /** ^C typed on the user's behalf (the kernel's interrupt). */
  | { kind: 'interrupt' }
  /**
   * The job ignored that ^C: the shell waiting for it got SIGINT and the job SIGKILL. The shell
   * ends the command line there and prints a line break of its own, whatever the job's status.
   */
  | { kind: 'interrupt-killed' }
  /** ^C typed to drop the unfinished command a cell ended in: what the shell prints until its prompt is not shown. */
  | { kind: 'cancel' }
  /** /proc: `program` blocks reading the terminal and no marker came since (procfs.ts, findTerminalReader). */
  | { kind: 'waiting'; program: Waiter; modes: TerminalModes | null }
  /** The PTY's process exited and its last output was read. */
  | { kind: 'exit' };

export type TrackerInput = ParserEvent | SessionFact;

/** What a program waiting at the terminal without a marker of ours needs from nslab. */
export type UntrackedNeed =
  /** A line of input: it reads one in canonical mode (`read`, `cat`, a password prompt). */
  | 'line'
  /** The terminal: a line editor (python3, a shell that does not report) takes the next lines, one per wait. */
  | 'terminal'
  /** nslab's markers: a shell that lost them (`env -i bash`, `su -`); armed, it reports its prompts. */
  | 'markers';

export type TrackerEvent =
  /** Program output to show: none while a cancelled command unwinds, a line break held after ^C (onOutput, onPrompt). */
  | { kind: 'output'; text: string }
  /** Rich output a program asked for, or a display marker that could not be read. */
  | Extract<ParserEvent, { kind: 'display' | 'display-invalid' }>
  /** The shell is at its prompt: the last command ended with `exitCode`. */
  | { kind: 'prompt'; exitCode: number | null; shellPid: number | null }
  /** The shell wants the rest of an unfinished command (its PS2). */
  | { kind: 'continuation' }
  /**
   * A program without markers waits at the terminal (`modes`: the terminal's, as it waits).
   * `firstTime`: its first wait with this need.
   */
  | { kind: 'untracked'; program: Waiter; modes: TerminalModes | null; needs: UntrackedNeed; firstTime: boolean }
  /** The shell's process exited. */
  | { kind: 'exited' };

export type Phase = 'starting' | 'prompt' | 'continuation' | 'running' | 'untracked' | 'exited';

export class CommandTracker {
  private currentPhase: Phase = 'starting';
  private cellAttached = false;
  private interruptTyped = false;
  /** The shell was sent SIGINT for the interrupt (interrupt-killed): its line break is not shown. */
  private shellInterrupted = false;
  /** Output is dropped until the next prompt (a cancelled command being unwound). */
  private muted = false;
  /** A line break held back after an interrupt (see onPrompt). */
  private heldBreak = '';
  private lastPromptPid: number | null = null;
  /** `need:pid` of every untracked wait so far (for `firstTime`). */
  private readonly untrackedSeen = new Set<string>();

  get phase(): Phase { return this.currentPhase; }
  /** A cell uses the terminal (between `cell-start` and `cell-end`). */
  get cellRunning(): boolean { return this.cellAttached; }
  /** ^C was typed on the user's behalf since the cell started. */
  get interruptRequested(): boolean { return this.interruptTyped; }
  /** `$$` of the shell that showed the last prompt (the innermost one), as it sees itself. */
  get promptingShellPid(): number | null { return this.lastPromptPid; }
  /** Whether ^C means anything now: not after the exit, nor at a prompt no cell waits on. */
  get interruptible(): boolean {
    return this.currentPhase !== 'exited' && !(this.currentPhase === 'prompt' && !this.cellAttached);
  }

  /** Takes one input; returns what it means, in order. */
  feed(input: TrackerInput): TrackerEvent[] {
    switch (input.kind) {
      case 'output':
        return this.onOutput(input.text);
      case 'display':
      case 'display-invalid':
        return this.muted ? [] : [input];
      case 'prompt':
        return this.onPrompt(input.exitCode, input.shellPid);
      case 'continuation':
        this.currentPhase = 'continuation';
        return [...this.releaseHeldBreak(), { kind: 'continuation' }];
      case 'line':
        this.currentPhase = 'running';
        return [];
      case 'cell-start':
        this.cellAttached = true;
        this.interruptTyped = false;
        return [];
      case 'cell-end':
        this.cellAttached = false;
        return this.releaseHeldBreak();
      case 'interrupt':
        this.interruptTyped = true;
        return [];
      case 'interrupt-killed':
        this.shellInterrupted = true;
        return [];
      case 'cancel':
        this.muted = true;
        return [];
      case 'waiting':
        // Our shell waiting at the continuation prompt it has already reported is no news: it is
        // how a cancelled command looks (its ^C not read yet on a loaded machine), and its prompt
        // is what the cell waits for.
        if (this.currentPhase === 'continuation' && input.program.innerPid === this.lastPromptPid && SHELL_NAMES.has(input.program.comm)) return [];
        return [this.onWaiting(input.program, input.modes)];
      case 'exit':
        this.currentPhase = 'exited';
        return [{ kind: 'exited' }];
    }
  }

  private onOutput(text: string): TrackerEvent[] {
    if (this.muted) return [];
    if (this.interruptTyped && this.cellAttached) {
      // Hold back a final line break until the next output or the prompt (see onPrompt).
      text = this.heldBreak + text;
      this.heldBreak = text.endsWith('\n') ? '\n' : '';
      text = text.slice(0, text.length - this.heldBreak.length);
    }
    return text ? [{ kind: 'output', text }] : [];
  }

  private onPrompt(exitCode: number | null, shellPid: number | null): TrackerEvent[] {
    this.currentPhase = 'prompt';
    this.lastPromptPid = shellPid;
    this.muted = false;
    // After ^C kills a foreground job, bash prints a line break to end the line the terminal's
    // echo of `^C` would have left (jobs.c); nslab's terminal echoes nothing, so right before
    // the prompt, after a job that died of SIGINT (status 130), it is an empty line of nothing.
    // The same line break comes after the SIGINT sent to the shell for a job killed after it
    // ignored ^C (interrupt-killed), whose status is the job's (137).
    const fromBash = exitCode === 130 || this.shellInterrupted;
    const held = fromBash ? [] : this.releaseHeldBreak();
    this.heldBreak = '';
    this.shellInterrupted = false;
    return [...held, { kind: 'prompt', exitCode, shellPid }];
  }

  private releaseHeldBreak(): TrackerEvent[] {
    const text = this.heldBreak;
    this.heldBreak = '';
    return text ? [{ kind: 'output', text }] : [];
  }

  /** A program waits at the terminal and no marker says it is a prompt of ours. */
  private onWaiting(program: Waiter, modes: TerminalModes | null): TrackerEvent {
    const isShell = SHELL_NAMES.has(program.comm);
    const isOurPromptingShell = isShell && program.innerPid === this.lastPromptPid;
    const untracked = (needs: UntrackedNeed): TrackerEvent => {
      const key = `${needs}:${program.pid}`;
      const firstTime = !this.untrackedSeen.has(key);
      this.untrackedSeen.add(key);
      return { kind: 'untracked', program, modes, needs, firstTime };
    };
    if (isShell && !isOurPromptingShell && !this.untrackedSeen.has(`markers:${program.pid}`)) {
      // A shell that lost our markers: given them back once, it reports its prompts like any other.
      return untracked('markers');
    }
    // Not canonical: it reads key by key (readline, a full-screen program). A shell that stays
    // silent after arming cannot be followed either.
    const lineEditor = (modes !== null && !modes.canonical) || (isShell && !isOurPromptingShell);
    if (!lineEditor) return untracked('line');
    this.currentPhase = 'untracked';
    return untracked('terminal');
  }
}
