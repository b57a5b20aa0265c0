/**
 * The shell engine: one lab and its terminals. Terminal 1 creates the lab (its bash is the
 * lab's first shell, child of the lab's init); terminals 2, 3, … are shells joined to the same
 * lab on first use, like `docker exec` into the article's container.
 *
 * Knows nothing about Jupyter: the kernel calls `run`, `interrupt` and `shutdown`, and opens and
 * ends terminals for consoles of their own (`openTerminal`, `endTerminal`).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { installLabTools, LAB_PIDNS_FILE, recordLabNamespaces } from '../lab/tools.js';
import { createLabCgroup, finishLabCgroup, protectMachineCgroups, removeAbandonedLabCgroups, removeLabCgroup, type LabCgroup } from '../lab/cgroup.js';
import { firstTerminalCommand, joinTerminalCommand, loopbackUpCommand, planLab, type LabMode, type LabPlan } from '../lab/sandbox.js';
import { markerEnvironment, newNonce } from './markers.js';
import { DEFAULT_LIMITS, type OutputLimits } from './output.js';
import { processTree, readStat } from './procfs.js';
import { ShellSession, type CellIO, type CellResult, type RunOptions } from './session.js';
import type { TerminalView } from './terminal-view.js';
import { logger } from '../log.js';

const log = logger('engine');

export interface EngineOptions {
  cwd?: string;
  /** Terminal width: wide enough that `ps -ef` lines are not cut (NSLAB_COLUMNS). */
  cols?: number;
  rows?: number;
  /** auto | lab | rootless | host (NSLAB_LAB). */
  labMode?: string;
  limits?: OutputLimits;
  interruptGraceMs?: number;
}

/** The shell nslab starts in every terminal; plain `bash`, so `ps` shows just that. */
const SHELL = ['bash'];

/**
 * Variables of the kernel's own environment that must not reach the learner's shells: they
 * would change how bash starts or prompts, or point into the kernel's world.
 */
const DROPPED_ENV = /^(BASH_ENV|ENV|PROMPT_COMMAND|PS[0-4]|HISTFILE|INPUTRC|BASH_FUNC_.*|JPY_.*|PYDEVD_.*|NSLAB_PS1)$/;

export class ShellEngine {
  readonly nonce = newNonce();
  readonly plan: LabPlan;
  private readonly dir: string;
  private readonly terminals = new Map<number, ShellSession>();
  private readonly starting = new Map<number, Promise<ShellSession>>();
  private readonly cols: number;
  private readonly rows: number;
  private readonly cwd: string;
  private readonly limits: OutputLimits;
  private readonly interruptGraceMs: number;
  private readonly running = new Set<number>();
  /** Terminals a console of its own types into (nstree marks their shells). */
  private readonly consoles = new Set<number>();
  /** Said once, in the next cell's output. */
  private pendingNotices: string[] = [];
  private labGeneration = 0;
  /** nslab cgroup: the running lab's own cgroup (src/lab/cgroup.ts), null without one. */
  private labCgroup: LabCgroup | null = null;
  private readonly abandonedCgroupsRemoved: Promise<void>;
  /** Commands nslab adds to the lab (nstree), appended to its PATH. */
  private readonly toolsDir: string;
  private closed = false;

  constructor(opts: EngineOptions = {}) {
    this.cols = opts.cols ?? (Number(process.env.NSLAB_COLUMNS) || 200);
    this.rows = opts.rows ?? (Number(process.env.NSLAB_ROWS) || 50);
    this.cwd = opts.cwd ?? process.cwd();
    this.limits = opts.limits ?? limitsFromEnv();
    this.interruptGraceMs = opts.interruptGraceMs ?? 250;
    this.plan = planLab(opts.labMode ?? process.env.NSLAB_LAB ?? 'auto');
    if (this.plan.notice) this.pendingNotices.push(`nslab: ${this.plan.notice}\n`);
    removeAbandonedDirs();
    this.dir = mkdtempSync(join(tmpdir(), DIR_PREFIX));
    chmodSync(this.dir, 0o700);
    writeFileSync(join(this.dir, OWNER_FILE), `${process.pid} ${readStat(process.pid)?.start}\n`, { mode: 0o600 });
    // nslab cgroup: with the folders of kernels that are gone, their labs' cgroups (awaited at shutdown).
    this.abandonedCgroupsRemoved = removeAbandonedLabCgroups(join(this.dir, 'cgroup'), tmpdir(), (m) => log.info(m));
    // Bracketed paste off: nslab types, it does not paste, and the mode's codes are noise.
    writeFileSync(join(this.dir, 'inputrc'), 'set enable-bracketed-paste off\n$include /etc/inputrc\n', { mode: 0o600 });
    if (this.plan.mode !== 'host') this.makeHome();
    this.toolsDir = installLabTools(this.dir);
    log.info(`lab mode ${this.plan.mode}; files in ${this.dir}`);
  }

  get mode(): LabMode { return this.plan.mode; }

  /** The kernel's private folder (inputrc, history, the lab's home). */
  get filesDir(): string { return this.dir; }

  /** Start the lab (terminal 1) now, so the first cell does not pay for it. */
  async start(): Promise<void> {
    await this.terminal(1);
  }

  /** Run a cell in terminal `n` (1 = the lab's first shell). */
  async run(n: number, code: string, io: CellIO, options: RunOptions = {}): Promise<CellResult> {
    if (this.closed) throw new Error('the engine is shut down');
    for (const notice of this.pendingNotices.splice(0)) io.onNotice(notice);
    let session: ShellSession;
    try {
      session = await this.terminal(n);
    } catch (err) {
      io.onNotice(`nslab: ${(err as Error).message}\n`);
      return { outcome: 'exited', exitCode: null };
    }
    this.running.add(n);
    try {
      const result = await session.run(code, io, options);
      if (result.outcome === 'exited') this.onShellExited(n, session);
      return result;
    } finally {
      this.running.delete(n);
    }
  }

  /** Interrupt what runs in terminal `n`, or in every terminal with a running cell. */
  interrupt(n?: number): void {
    const targets = n === undefined ? [...this.running] : [n];
    for (const t of targets) this.terminals.get(t)?.interrupt();
  }

  /** Terminal numbers whose shell runs or is starting. */
  terminalsInUse(): number[] {
    const live = [...this.terminals].filter(([, s]) => s.alive).map(([n]) => n);
    return [...new Set([...live, ...this.starting.keys()])].sort((a, b) => a - b);
  }

  /**
   * Start terminal `n` now instead of on its first cell. `console`: a frontend of its own types
   * into it (a subshell console); its shells get NSLAB_CONSOLE=1, and nstree says so.
   */
  async openTerminal(n: number, options: { console?: boolean } = {}): Promise<void> {
    if (this.closed) throw new Error('the engine is shut down');
    if (options.console) this.consoles.add(n);
    await this.terminal(n);
  }

  /**
   * End terminal `n`: its shell, everything started from it, and the processes of the lab that
   * left it (`setsid … &`, `nohup … &`, found by the NSLAB_TERMINAL they inherited). A cell
   * running there ends as `exited`; a later cell in `n` starts a fresh shell. Terminal 1 is the
   * lab itself and is not ended this way.
   */
  async endTerminal(n: number): Promise<void> {
    if (n === 1) throw new Error('terminal 1 is the lab itself; shutdown ends it');
    this.consoles.delete(n);
    await this.starting.get(n)?.catch(() => undefined);
    const session = this.terminals.get(n);
    this.terminals.delete(n);
    const init = this.initPid;
    const escaped = init === null ? [] : processTree(init).filter((pid) => terminalOfProcess(pid) === n);
    if (session) {
      session.kill();
      await withTimeout(session.exited, 3000);
    }
    const killed: number[] = [];
    for (const pid of escaped.reverse()) {
      // Read again: the PID must still be that process (not reused after it ended).
      if (terminalOfProcess(pid) !== n) continue;
      try { process.kill(pid, 'SIGKILL'); killed.push(pid); } catch { /* gone already */ }
    }
    // The reply to the delete says the terminal ended: wait (bounded) until the killed ones are
    // really gone — SIGKILL is delivered asynchronously, and on a loaded machine a process can
    // still be seen for a few milliseconds after kill() returned.
    for (let waited = 0; waited < 1000 && killed.some((pid) => terminalOfProcess(pid) === n); waited += 10) {
      await new Promise((r) => setTimeout(r, 10));
    }
    log.info(`terminal ${n} ended${escaped.length ? ` with ${escaped.length} process(es) that had left it` : ''}`);
  }

  /** End the lab and every process in it; the engine can not be used afterwards. */
  async shutdown(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.endLab();
    await this.abandonedCgroupsRemoved; // nslab cgroup: its helper mounts on a folder in this.dir
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** The lab's init as this machine numbers it (for tests and the namespace picture). */
  get initPid(): number | null {
    const first = this.terminals.get(1);
    return first ? findLabInit(first.pid, this.mode) : null;
  }

  /** PIDs of all processes of all terminals, as this machine numbers them. */
  processes(): number[] {
    return [...this.terminals.values()].flatMap((s) => processTree(s.pid));
  }

  terminalView(n: number): TerminalView | undefined {
    return this.terminals.get(n)?.terminalView();
  }

  bashVersion(): string {
    const r = spawnSync('bash', ['-c', 'echo "$BASH_VERSION"'], { encoding: 'utf8', timeout: 5000 });
    return (r.stdout ?? '').trim().replace(/\(.*$/, '') || 'unknown';
  }

  // ---------------------------------------------------------------------------------------

  /**
   * The lab's home: a fresh copy of the distribution's skeleton (/etc/skel), not the machine's
   * own dotfiles, so that every lab starts the same on every machine (a teacher's ~/.bashrc
   * with pyenv hooks would print errors in nested shells and use up the lab's small PIDs).
   */
  private makeHome(): void {
    const home = join(this.dir, 'home');
    mkdirSync(home, { mode: 0o700 });
    for (const f of ['.bashrc', '.profile', '.bash_logout']) {
      if (existsSync(`/etc/skel/${f}`)) {
        copyFileSync(`/etc/skel/${f}`, join(home, f));
        chmodSync(join(home, f), 0o600);
      }
    }
  }

  private env(n: number): Record<string, string> {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !DROPPED_ENV.test(k)) env[k] = v;
    Object.assign(env, {
      TERM: 'xterm-256color',
      COLORTERM: 'truecolor',
      LANG: process.env.LANG && process.env.LANG !== 'C' ? process.env.LANG : 'C.UTF-8',
      // No pager may ever open: there is nobody to press q.
      PAGER: 'cat', MANPAGER: 'cat', GIT_PAGER: 'cat', SYSTEMD_PAGER: 'cat', LESS: '-FRX',
      INPUTRC: join(this.dir, 'inputrc'),
      HISTFILE: join(this.dir, `history-${n}`),
      HISTCONTROL: 'ignorespace',
      // Last on PATH: nslab's commands never shadow the learner's.
      PATH: `${process.env.PATH || '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'}:${this.toolsDir}`,
      // Which terminal a shell belongs to: nstree labels each terminal's first shell with it.
      NSLAB_TERMINAL: String(n),
      ...(this.consoles.has(n) ? { NSLAB_CONSOLE: '1' } : {}),
      ...(this.plan.mode === 'host' ? {} : { HOME: join(this.dir, 'home') }),
      ...markerEnvironment(this.nonce),
    });
    return env;
  }

  /**
   * The running shell of terminal `n`, started if needed. Concurrent callers share one start
   * (the kernel starts terminal 1 at launch while the first cell may already ask for it).
   */
  private terminal(n: number): Promise<ShellSession> {
    const existing = this.terminals.get(n);
    if (existing?.alive) return Promise.resolve(existing);
    let starting = this.starting.get(n);
    if (!starting) {
      starting = (async () => {
        // Joining needs the lab: make sure it runs.
        if (n !== 1) await this.terminal(1);
        const session = await this.startSession(n);
        if (this.closed) {
          session.kill();
          throw new Error('the engine is shut down');
        }
        this.terminals.set(n, session);
        return session;
      })().finally(() => this.starting.delete(n));
      this.starting.set(n, starting);
    }
    return starting;
  }

  private async startSession(n: number): Promise<ShellSession> {
    let command;
    if (n === 1) {
      // nslab cgroup: a root lab gets a cgroup of its own, made before its first process starts.
      this.labCgroup = this.mode === 'lab' ? createLabCgroup(this.dir, this.labGeneration + 1, tmpdir(), (m) => log.info(m)) : null;
      command = firstTerminalCommand(this.mode, SHELL, this.labCgroup);
    } else {
      const init = this.initPid;
      if (this.mode !== 'host' && init === null) throw new Error('the lab is not running');
      command = joinTerminalCommand(this.mode, init ?? 0, SHELL, this.labCgroup);
    }
    const session = await ShellSession.start({
      command,
      env: this.env(n),
      cwd: this.cwd,
      cols: this.cols,
      rows: this.rows,
      nonce: this.nonce,
      limits: this.limits,
      interruptGraceMs: this.interruptGraceMs,
    });
    if (n === 1) {
      this.labGeneration++;
      const init = findLabInit(session.pid, this.mode);
      // nslab cgroup: cgroup2 at the lab's /sys/fs/cgroup, once the lab is seen in its cgroup;
      // without one, the machine's cgroups are read-only in the lab.
      if (init !== null && this.mode !== 'host') {
        if (this.labCgroup) finishLabCgroup(this.labCgroup, init, (m) => log.info(m));
        else protectMachineCgroups(init, this.mode === 'rootless', (m) => log.info(m));
      }
      this.bringUpLoopback(init);
      this.recordLabNamespace(init);
      recordLabNamespaces(this.dir, init);
    }
    log.info(`terminal ${n} started (pid ${session.pid}, lab #${this.labGeneration})`);
    return session;
  }

  /** For nstree: which PID namespace is the lab's (it names the picture's outer box after it). */
  private recordLabNamespace(init: number | null): void {
    const file = join(this.dir, LAB_PIDNS_FILE);
    try {
      if (init === null) rmSync(file, { force: true });
      else writeFileSync(file, `${readlinkSync(`/proc/${init}/ns/pid`)}\n`, { mode: 0o600 });
    } catch (err) {
      log.info(`the lab's PID namespace is not known to nstree: ${(err as Error).message}`);
    }
  }

  private bringUpLoopback(init: number | null): void {
    const command = init === null ? null : loopbackUpCommand(this.mode, init);
    if (!command) return;
    const r = spawnSync(command.file, command.args, { encoding: 'utf8', timeout: 5000 });
    if (r.status !== 0) {
      const why = String(r.stderr || r.error?.message || `exit status ${r.status}`).trim();
      log.info(`lo of the lab stays down: ${why}`);
      this.pendingNotices.push(`nslab: the lab's network could not be set up, its loopback interface stays down (${why}). In Docker, add --cap-add NET_ADMIN.\n`);
    }
  }

  private onShellExited(n: number, session: ShellSession): void {
    // Ended on purpose (endTerminal, endLab): nothing to say.
    if (this.terminals.get(n) !== session) return;
    if (n === 1 && this.mode !== 'host') {
      // The lab's first shell is the only child of its init: when it ends, the lab ends, and
      // every other terminal with it (as a container stops when its main process exits).
      this.pendingNotices.push('nslab: the lab\'s first shell exited, so the lab ended; this cell runs in a fresh lab (all terminals start anew).\n');
      void this.endLab();
    } else {
      this.terminals.delete(n);
      this.pendingNotices.push(`nslab: the shell of terminal ${n} exited; this cell runs in a fresh shell.\n`);
    }
  }

  private async endLab(): Promise<void> {
    const sessions = [...this.terminals.values()];
    this.terminals.clear();
    // nslab cgroup: taken now, a fresh lab may start (with a cgroup of its own) while this one ends.
    const cgroup = this.labCgroup;
    this.labCgroup = null;
    // Joined terminals first, then the lab itself; every kill is by PID of a process we started.
    for (const s of sessions.reverse()) s.kill();
    await Promise.all(sessions.map((s) => withTimeout(s.exited, 3000)));
    // nslab cgroup: removed with what the learner made in it, once the lab's processes are gone.
    if (cgroup) await removeLabCgroup(cgroup, (m) => log.info(m));
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

/** The terminal number a process inherited (NSLAB_TERMINAL in its environment), if readable. */
function terminalOfProcess(pid: number): number | null {
  try {
    const m = /(?:^|\0)NSLAB_TERMINAL=([0-9]+)(?:\0|$)/.exec(readFileSync(`/proc/${pid}/environ`, 'latin1'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

const DIR_PREFIX = 'nslab-';
const OWNER_FILE = 'owner';


/**
 * A kernel killed with SIGKILL cannot remove its files (inputrc, history, the lab's home):
 * the next kernel does, for every folder of ours whose owning kernel is gone.
 */
function removeAbandonedDirs(): void {
  const uid = process.getuid?.();
  let entries: string[];
  try {
    entries = readdirSync(tmpdir()).filter((e) => e.startsWith(DIR_PREFIX));
  } catch {
    return;
  }
  for (const entry of entries) {
    const dir = join(tmpdir(), entry);
    try {
      if (statSync(dir).uid !== uid) continue;
      const [pid, start] = readFileSync(join(dir, OWNER_FILE), 'utf8').trim().split(' ');
      if (readStat(Number(pid))?.start === start) continue; // its kernel still runs
      rmSync(dir, { recursive: true, force: true });
      log.info(`removed ${dir}, left by a kernel that is gone`);
    } catch {
      /* not one of ours (no owner file), or gone meanwhile */
    }
  }
}

function limitsFromEnv(): OutputLimits {
  const capMb = Number(process.env.NSLAB_OUTPUT_LIMIT_MB);
  return capMb > 0 ? { ...DEFAULT_LIMITS, capChars: Math.round(capMb * 1024 * 1024) } : DEFAULT_LIMITS;
}

function withTimeout(p: Promise<void>, ms: number): Promise<void> {
  return Promise.race([p, new Promise<void>((r) => setTimeout(r, ms).unref())]);
}
