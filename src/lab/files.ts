/**
 * The lab's private folder, `$TMPDIR/nslab-XXXXXX` (0700): who owns it, the shells' inputrc and
 * history, the lab's home, the lab's commands (tools.ts) and what they read about the running
 * lab. The lab removes it at teardown; a kernel killed by SIGKILL cannot, so every new lab first
 * removes the folders of kernels that are gone.
 */
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readStat } from '../common/proc.js';
import { logger } from '../log.js';

const log = logger('lab');

const DIR_PREFIX = 'nslab-';
/** `PID START` of the kernel that made the folder: with the start time, a reused PID is not taken for it. */
const OWNER_FILE = 'owner';

/** Makes the folder, readable by this user only, with its owner file and the shells' inputrc. */
export function makeLabDir(): string {
  const dir = mkdtempSync(join(tmpdir(), DIR_PREFIX));
  chmodSync(dir, 0o700);
  writeFileSync(join(dir, OWNER_FILE), `${process.pid} ${readStat(process.pid)?.start}\n`, { mode: 0o600 });
  // Bracketed paste off: nslab types, it does not paste, and the mode's codes are noise.
  writeFileSync(join(dir, 'inputrc'), 'set enable-bracketed-paste off\n$include /etc/inputrc\n', { mode: 0o600 });
  return dir;
}

/**
 * The lab's home (`<dir>/home`): a fresh copy of the distribution's skeleton (/etc/skel), not the
 * machine's own dotfiles, so that every lab starts the same on every machine (a teacher's
 * ~/.bashrc with pyenv hooks would print errors in nested shells and use up the lab's small PIDs).
 */
export function makeHome(dir: string): string {
  const home = join(dir, 'home');
  mkdirSync(home, { mode: 0o700 });
  for (const f of ['.bashrc', '.profile', '.bash_logout']) {
    if (existsSync(`/etc/skel/${f}`)) {
      copyFileSync(`/etc/skel/${f}`, join(home, f));
      chmodSync(join(home, f), 0o600);
    }
  }
  return home;
}

/** Removes the folder and everything in it (nothing when it is gone already). */
export function removeLabDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Removes every folder of ours (this user's, with an owner file) whose owning kernel is gone. */
export function removeAbandonedDirs(): void {
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
      removeLabDir(dir);
      log.info(`removed ${dir}, left by a kernel that is gone`);
    } catch {
      /* not one of ours (no owner file), or gone meanwhile */
    }
  }
}
