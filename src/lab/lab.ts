/**
 * The lab's life, from creation to teardown:
 *   - created: its private folder (and the sweep of those left by kernels that are gone, with
 *     their cgroups), its home, its commands (nstree, nscheck), the sandbox it runs in (LabPlan:
 *     lab, rootless, host); a root lab's namespaces also get a cgroup of their own (cgroup.ts);
 *   - joined by terminals: terminal 1's shell creates the namespaces (it is the lab's first shell,
 *     child of the lab's init), terminals 2, 3, … join them, like `docker exec` into the
 *     article's container; when the first shell starts, the lab's network and records are set up;
 *   - torn down: its init killed by PID and waited for, its files removed; nothing is left, and
 *     a second teardown does nothing.
 *
 * The shell engine keeps the terminals (PTYs and their shells) and talks to the lab through
 * `TerminalLab`; this room knows nothing of PTYs. What runs where is in README "The lab".
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { processTree, readStat } from '../common/proc.js';
import { runBriefly } from '../common/processes.js';
import { logger } from '../log.js';
import { createLabCgroup, finishLabCgroup, protectMachineCgroups, removeAbandonedLabCgroups, removeLabCgroup, type LabCgroup } from './cgroup.js';
import { makeHome, makeLabDir, removeAbandonedDirs, removeLabDir } from './files.js';
import { firstTerminalCommand, joinTerminalCommand, loopbackUpCommand, planLab, type Command, type LabMode, type LabPlan } from './sandbox.js';
import { installLabTools, recordLabForTools } from './tools.js';

const log = logger('lab');

export interface LabOptions {
  /** auto | lab | rootless | host (NSLAB_LAB; default auto). */
  requestedMode?: string;
  /** Something the learner should read (`nslab: …\n`); the engine shows it in the next cell's output. */
  onNotice?: (text: string) => void;
}

/** How a terminal's shell starts inside the lab. */
export interface TerminalLaunch {
  command: Command;
  /** Variables the lab sets for the shell (its files, its commands on PATH, its home). */
  env: Record<string, string>;
}

/** The lab as its terminals need it (the shell engine's side; `Lab` implements it). */
export interface TerminalLab {
  readonly mode: LabMode;
  /** The lab's private folder (inputrc, history, home, commands). */
  readonly filesDir: string;
  /** The running lab's init as this machine numbers it; null when none runs (or host mode). */
  readonly initPid: number | null;
  /** How many times the lab's namespaces were created (1 for the first lab). */
  readonly generation: number;
  /** Terminal 1 creates the namespaces; any other joins them (an error when none run). */
  launch(terminal: number, shell: string[]): TerminalLaunch;
  /** Terminal 1's process (`ptyPid`, the PTY's child) is running: set up the new namespaces. */
  firstShellStarted(ptyPid: number): void;
  /**
   * The namespaces end: from now on the lab is not running (a later terminal 1 makes new ones);
   * the returned promise settles when the old init is gone. Call it after the shells were killed.
   */
  stop(): Promise<void>;
  /** Ends the lab for good: stop(), then its files. Idempotent. */
  teardown(): Promise<void>;
}

/** A process named so that a reused PID is not taken for it. */
interface ProcessId {
  pid: number;
  start: string;
}

export class Lab implements TerminalLab {
  readonly plan: LabPlan;
  readonly filesDir: string;
  private readonly home: string | null;
  /** Commands nslab adds to the lab (nstree, nscheck), appended to its PATH. */
  private readonly toolsDir: string;
  private readonly notify: (text: string) => void;
  private init: ProcessId | null = null;
  /** The running namespaces' own cgroup (cgroup.ts); null without one (rootless, host, v1-only). */
  private cgroup: LabCgroup | null = null;
  /** The cgroups of labs whose kernels are gone, being removed (awaited at teardown). */
  private readonly abandonedCgroupsRemoved: Promise<void>;
  private generationCount = 0;
  private tornDown: Promise<void> | null = null;

  constructor(options: LabOptions = {}) {
    this.notify = options.onNotice ?? (() => undefined);
    this.plan = planLab(options.requestedMode ?? process.env.NSLAB_LAB ?? 'auto');
    if (this.plan.notice) this.notify(`nslab: ${this.plan.notice}\n`);
    // Creation steps, in order; tearDown() undoes them in reverse.
    removeAbandonedDirs();
    this.filesDir = makeLabDir();
    // Its helper mounts cgroup2 on a folder of ours, in a private mount namespace of its own.
    this.abandonedCgroupsRemoved = removeAbandonedLabCgroups(join(this.filesDir, 'cgroup'), tmpdir(), (m) => log.info(m));
    this.home = this.plan.mode === 'host' ? null : makeHome(this.filesDir);
    this.toolsDir = installLabTools(this.filesDir);
    log.info(`lab mode ${this.plan.mode}; files in ${this.filesDir}`);
  }

  get mode(): LabMode { return this.plan.mode; }

  get generation(): number { return this.generationCount; }

  get initPid(): number | null {
    return this.init && isRunning(this.init) ? this.init.pid : null;
  }

  launch(terminal: number, shell: string[]): TerminalLaunch {
    if (this.tornDown) throw new Error('the lab is torn down');
    let command: Command;
    if (terminal === 1) {
      // A root lab gets a cgroup of its own, made before its first process starts.
      this.cgroup = this.mode === 'lab' ? createLabCgroup(this.filesDir, this.generationCount + 1, tmpdir(), (m) => log.info(m)) : null;
      command = firstTerminalCommand(this.mode, shell, this.cgroup);
    } else {
      const init = this.initPid;
      if (this.mode !== 'host' && init === null) throw new Error('the lab is not running');
      command = joinTerminalCommand(this.mode, init ?? 0, shell, this.cgroup);
    }
    return { command, env: this.shellEnvironment(terminal) };
  }

  firstShellStarted(ptyPid: number): void {
    // Torn down while the shell started: its owner kills it, and there are no files to write.
    if (this.tornDown) return;
    this.generationCount++;
    // When the namespaces start, in order; stop() is their end.
    const init = findLabInit(ptyPid, this.mode);
    const start = init === null ? undefined : readStat(init)?.start;
    this.init = init === null || start === undefined ? null : { pid: init, start };
    // cgroup2 at the lab's /sys/fs/cgroup once the lab is seen in its cgroup; without a cgroup
    // of its own, the machine's cgroup mounts are made read-only inside the lab.
    if (init !== null && this.mode !== 'host') {
      if (this.cgroup) finishLabCgroup(this.cgroup, init, (m) => log.info(m));
      else protectMachineCgroups(init, this.mode === 'rootless', (m) => log.info(m));
    }
    this.bringUpLoopback(init);
    recordLabForTools(this.filesDir, init);
  }

  async stop(): Promise<void> {
    // Forgotten at once: a terminal 1 started while the old init dies makes a new lab (with a
    // cgroup of its own).
    const init = this.init;
    const cgroup = this.cgroup;
    this.init = null;
    this.cgroup = null;
    if (init) await killAndWait(init);
    // Removed with what the learner made in it, once the lab's processes are gone.
    if (cgroup) await removeLabCgroup(cgroup, (m) => log.info(m));
  }

  teardown(): Promise<void> {
    this.tornDown ??= this.tearDown();
    return this.tornDown;
  }

  private async tearDown(): Promise<void> {
    await this.stop();
    // Teardown steps: the creation steps undone, last first.
    await this.abandonedCgroupsRemoved;
    removeLabDir(this.filesDir);
  }

  /** The lab's part of a shell's environment. */
  private shellEnvironment(terminal: number): Record<string, string> {
    return {
      INPUTRC: join(this.filesDir, 'inputrc'),
      HISTFILE: join(this.filesDir, `history-${terminal}`),
      // Last on PATH: nslab's commands never shadow the learner's.
      PATH: `${process.env.PATH || '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'}:${this.toolsDir}`,
      ...(this.home === null ? {} : { HOME: this.home }),
    };
  }

  private bringUpLoopback(init: number | null): void {
    const command = init === null ? null : loopbackUpCommand(this.mode, init);
    if (!command) return;
    const { ok, why } = runBriefly(command.file, command.args);
    if (!ok) {
      log.info(`lo of the lab stays down: ${why}`);
      this.notify(`nslab: the lab's network could not be set up, its loopback interface stays down (${why}). In Docker, add --cap-add NET_ADMIN.\n`);
    }
  }
}

/** The lab's PID 1: the child of unshare (the PTY's process, after sh and setpriv exec'd). */
function findLabInit(ptyPid: number, mode: LabMode): number | null {
  if (mode === 'host') return null;
  for (const pid of processTree(ptyPid)) {
    const st = readStat(pid);
    if (st && st.ppid === ptyPid && pid !== ptyPid) return pid;
  }
  return null;
}

/** Still that process, and not a zombie (a killed init waits there until its new parent reaps it). */
function isRunning(p: ProcessId): boolean {
  const st = readStat(p.pid);
  return st !== null && st.start === p.start && st.state !== 'Z';
}

/**
 * SIGKILL to the lab's init (by PID, checked against its start time), which takes every process
 * of its PID namespace with it (pid_namespaces(7)); then a bounded wait until it is gone, as
 * SIGKILL is delivered asynchronously.
 */
async function killAndWait(init: ProcessId): Promise<void> {
  if (!isRunning(init)) return;
  try { process.kill(init.pid, 'SIGKILL'); } catch { /* gone already */ }
  for (let waited = 0; waited < 3000 && isRunning(init); waited += 10) {
    await new Promise((r) => setTimeout(r, 10));
  }
}
