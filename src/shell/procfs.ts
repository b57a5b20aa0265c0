/**
 * What the processes on a terminal are doing, read from this machine's /proc (never by running
 * anything). Used for two questions the byte stream cannot answer:
 *   - is a program waiting for input at the terminal (and which one)?
 *   - which process group is in the foreground (to kill it when ^C is ignored)?
 */
import { execFile } from 'node:child_process';
import { constants } from 'node:os';
import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { processTree, readStat } from '../common/proc.js';
import { safeReadlink } from '../common/files.js';

// The lab reads processes too, so these live in src/common; re-exported for this room's users.
export { processTree, readStat, type ProcStat } from '../common/proc.js';

/** PID of `pid` in each PID namespace it is visible in, outermost first (`NSpid`). */
export function nsPids(pid: number): number[] {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'latin1');
    const m = /^NSpid:\s*(.*)$/m.exec(status);
    return m ? m[1].trim().split(/\s+/).map(Number) : [pid];
  } catch {
    return [];
  }
}

// System calls a process sleeps in while it waits for terminal input.
const READ_SYSCALLS: Record<string, number[]> = { x64: [0, 19], arm64: [63, 65] }; // read, readv
const WAIT_SYSCALLS: Record<string, number[]> = {
  x64: [7, 23, 232, 270, 271, 281, 441], // poll, select, epoll_wait, pselect6, ppoll, epoll_pwait, epoll_pwait2
  arm64: [22, 72, 73, 441], // epoll_pwait, pselect6, ppoll, epoll_pwait2
};
/** Which argument shape each waiting syscall has (see {@link waitsOnTty}). */
const POLL_SYSCALLS: Record<string, number[]> = { x64: [7, 271], arm64: [73] };
const SELECT_SYSCALLS: Record<string, number[]> = { x64: [23, 270], arm64: [72] };
const POLLIN = 0x1;
const EPOLLIN = 0x1;
/** More descriptors than this in one poll/select are not inspected (taken as not the terminal). */
const MAX_WAIT_FDS = 4096;

/**
 * Whether a process blocked in poll/select/epoll waits for input from the terminal: the
 * descriptors it waits on are read from its memory (/proc/PID/mem, at the addresses its
 * arguments in /proc/PID/syscall give) or, for epoll, from /proc/PID/fdinfo of the epoll
 * descriptor. `ping` waiting for its socket between packets is not waiting for us; Python's
 * readline waiting on stdin is. If the memory cannot be read, stdin being the terminal decides.
 */
function waitsOnTty(pid: number, nr: number, args: string[], term: Terminal): boolean {
  const arch = process.arch;
  const arg = (i: number) => {
    try {
      return BigInt(args[i] ?? 'x');
    } catch {
      return null;
    }
  };
  try {
    if ((POLL_SYSCALLS[arch] ?? POLL_SYSCALLS.x64).includes(nr)) {
      const [fds, nfds] = [arg(0), arg(1)];
      if (fds === null || nfds === null || nfds > BigInt(MAX_WAIT_FDS)) return false;
      const mem = readMemory(pid, fds, Number(nfds) * 8); // struct pollfd { int fd; short events, revents; }
      for (let off = 0; off + 8 <= mem.length; off += 8) {
        if (mem.readInt16LE(off + 4) & POLLIN && isTty(pid, mem.readInt32LE(off), term)) return true;
      }
      return false;
    }
    if ((SELECT_SYSCALLS[arch] ?? SELECT_SYSCALLS.x64).includes(nr)) {
      const [nfds, readfds] = [arg(0), arg(1)];
      if (nfds === null || readfds === null || readfds === 0n || nfds > BigInt(MAX_WAIT_FDS)) return false;
      const bits = readMemory(pid, readfds, Math.ceil(Number(nfds) / 8)); // fd_set, little-endian words
      for (let fd = 0; fd < Number(nfds); fd++) {
        if (bits[fd >> 3] & (1 << (fd & 7)) && isTty(pid, fd, term)) return true;
      }
      return false;
    }
    // epoll_wait & co.: the first argument is the epoll descriptor; its fdinfo lists the targets.
    const epfd = arg(0);
    if (epfd === null) return false;
    const info = readFileSync(`/proc/${pid}/fdinfo/${epfd}`, 'latin1');
    for (const m of info.matchAll(/^tfd:\s*(\d+)\s+events:\s*([0-9a-f]+)/gm)) {
      if (parseInt(m[2], 16) & EPOLLIN && isTty(pid, Number(m[1]), term)) return true;
    }
    return false;
  } catch {
    return isTty(pid, 0, term);
  }
}

function readMemory(pid: number, address: bigint, length: number): Buffer {
  const fd = openSync(`/proc/${pid}/mem`, 'r');
  try {
    const buf = Buffer.alloc(length);
    const n = readSync(fd, buf, 0, length, address);
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

/** How a process reads the terminal: through the descriptor it was given, or its own open of /dev/tty. */
type TtyAccess = 'given' | 'own';

/**
 * Whether descriptor `fd` of `pid` is our terminal: the terminal's own device (`/dev/pts/N`,
 * what stdin is), or `/dev/tty` while our terminal is the process's controlling terminal.
 * getpass(3), Python's getpass, passwd, ssh, sudo and openssl open `/dev/tty` themselves to ask
 * for a secret even when stdin is redirected; /proc shows that descriptor as `/dev/tty`.
 */
function ttyAccess(pid: number, fd: number, term: Terminal): TtyAccess | null {
  const target = safeReadlink(`/proc/${pid}/fd/${fd}`);
  if (target === null) return null;
  if (target === term.path) return 'given';
  if (target === '/dev/tty' && term.device !== null && readStat(pid)?.ttyNr === term.device) return 'own';
  return null;
}

function isTty(pid: number, fd: number, term: Terminal): boolean {
  return ttyAccess(pid, fd, term) !== null;
}

/** A terminal by its path (`/dev/pts/N`) and device number (null if it cannot be read). */
export interface Terminal {
  path: string;
  device: number | null;
}

export function terminal(path: string): Terminal {
  try {
    // st_rdev and /proc/PID/stat's tty_nr agree for every device number a PTY gets (major < 4096).
    return { path, device: Number(statSync(path).rdev) };
  } catch {
    return { path, device: null };
  }
}

export interface Waiter {
  pid: number;
  comm: string;
  /** Its PID in its own (innermost) PID namespace, what `$$` prints there. */
  innerPid: number;
  /**
   * It reads through its own open of /dev/tty (getpass and the programs that ask for a secret
   * the usual way), not through the descriptor it was given. Known for read(2) only.
   */
  ownTty: boolean;
}

/**
 * The foreground process of the terminal `term` that is blocked reading it, if any, among
 * `rootPid` and its descendants. A process in read(2) on the terminal, or in poll/select/epoll
 * on a set of descriptors that includes the terminal for input (line editors such as Python's
 * readline wait that way).
 */
export function findTerminalReader(rootPid: number, term: Terminal): Waiter | null {
  const reads = READ_SYSCALLS[process.arch] ?? READ_SYSCALLS.x64;
  const waits = WAIT_SYSCALLS[process.arch] ?? WAIT_SYSCALLS.x64;
  for (const pid of processTree(rootPid)) {
    const st = readStat(pid);
    if (!st || st.state !== 'S' || st.pgrp !== st.tpgid) continue;
    let fields: string[];
    try {
      fields = readFileSync(`/proc/${pid}/syscall`, 'latin1').trim().split(' ');
    } catch {
      continue;
    }
    const nr = Number(fields[0]);
    const access = reads.includes(nr) ? ttyAccess(pid, Number(fields[1]), term) : waits.includes(nr) && waitsOnTty(pid, nr, fields.slice(1), term) ? 'given' : null;
    if (access) {
      const ns = nsPids(pid);
      return { pid, comm: st.comm, innerPid: ns[ns.length - 1] ?? pid, ownTty: access === 'own' };
    }
  }
  return null;
}

/** The terminal's foreground process group as seen from `pid`, a process on that terminal. */
export function foregroundGroup(pid: number): number | null {
  const st = readStat(pid);
  return st && st.tpgid > 0 ? st.tpgid : null;
}

/**
 * Programs that are shells here: a shell waiting at the terminal without markers gets them
 * armed. This is src/common/shells.ts's MARKER_SHELL_NAMES, not its SHELL_NAMES: every shell but
 * fish, whose syntax the POSIX arming line does not fit (a fish at the terminal stays untracked,
 * as before this set was shared; nstree still marks fish as a shell).
 */
export { MARKER_SHELL_NAMES as SHELL_NAMES } from '../common/shells.js';

/** Inode of a process's PID namespace (to check that a lab left nothing behind). */
export function pidNamespace(pid: number): string | null {
  return safeReadlink(`/proc/${pid}/ns/pid`);
}

export interface TerminalModes {
  /** Canonical (line-by-line) input: `read`, `cat`, password prompts. Off for line editors. */
  canonical: boolean;
  /** The terminal echoes what is typed (`echo`). Always off in nslab's terminals, see below. */
  echo: boolean;
  /** Erase-line echo (`echok`) and signal keys (`isig`): on unless a program turned them off. */
  echoKill: boolean;
  signals: boolean;
}

/**
 * The terminal's line discipline flags. /proc does not show them, so this asks `stty` to read
 * them from the terminal device (it changes nothing; on Linux a PTY's flags live with its slave
 * side, which is what `stty -F /dev/pts/N` and tcgetattr on the master both read). Only used
 * when a program waits for input.
 */
export function terminalModes(ttyPath: string): Promise<TerminalModes | null> {
  return new Promise((resolve) => {
    execFile('stty', ['-a', '-F', ttyPath], { timeout: 2000 }, (err, stdout) => {
      if (err) return resolve(null);
      const flags = new Set(stdout.split(/[\s;]+/));
      resolve({ canonical: flags.has('icanon'), echo: flags.has('echo'), echoKill: flags.has('echok'), signals: flags.has('isig') });
    });
  });
}

/**
 * Whether `pid` blocks SIGTSTP (/proc/PID/status, SigBlk). Linux-PAM's terminal conversation
 * (`su`, `passwd`, `login`) blocks it while it reads an answer, so that ^Z cannot leave the
 * terminal with its echo off; it clears only ECHO and reads stdin, so this is how it is told.
 */
export function blocksStopSignal(pid: number): boolean {
  try {
    const m = /^SigBlk:\s*([0-9a-f]+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return m !== null && (BigInt(`0x${m[1]}`) & (1n << BigInt(constants.signals.SIGTSTP - 1))) !== 0n;
  } catch {
    return false;
  }
}

/**
 * Whether a foreground process on the terminal (`rootPid` and its descendants) is running or
 * in an uninterruptible wait rather than sleeping: one that just printed a prompt may be on its
 * way to read the terminal.
 */
export function foregroundRunning(rootPid: number): boolean {
  for (const pid of processTree(rootPid)) {
    const st = readStat(pid);
    if (st && st.pgrp === st.tpgid && (st.state === 'R' || st.state === 'D')) return true;
  }
  return false;
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
 * check in ShellSession still catches it if its prompt asks for a password), and
 * `read x </dev/tty`, which is masked.
 */
export function readsSecret(w: Waiter, modes: TerminalModes | null): boolean {
  if (modes?.echo) return false; // echo on: what is typed shows anyway, as in any terminal
  if (w.ownTty) return true;
  if (modes && (!modes.echoKill || !modes.signals)) return true;
  return blocksStopSignal(w.pid);
}
