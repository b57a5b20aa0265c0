/**
 * Commands nslab adds to the lab: a folder on the lab's PATH with small wrappers: `nstree`, the
 * namespace picture, and `nscheck`, the notebooks' exercise checks. They run inside the lab with the kernel's own node, so
 * they see what the shell that runs them sees.
 */
import { chmodSync, mkdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { logger } from '../log.js';
import { safeReadlink } from '../common/files.js';
import { shellQuote } from '../common/shells.js';

const log = logger('lab');

const NSTREE_MAIN = fileURLToPath(new URL('./nstree/main.js', import.meta.url));
const NSCHECK_MAIN = fileURLToPath(new URL('./exercises/main.js', import.meta.url));

/** The lab's PID namespace (`pid:[inode]`) is written here once the lab runs; nstree reads it. */
export const LAB_PIDNS_FILE = 'lab-pidns';

/** The names nstree gave this lab's namespaces (ns2, B), kept across its pictures; see nstree/labels.ts. */
export const NSTREE_LABELS_FILE = 'nstree-labels.json';

/** All the lab's namespaces (`pid:[inode]`, `mnt:[inode]`, … one a line); nscheck reads it. */
export const LAB_NAMESPACES_FILE = 'lab-namespaces';

/** The namespace types nscheck compares with the lab's (the links in /proc/PID/ns). */
export const NAMESPACE_TYPES = ['pid', 'mnt', 'uts', 'ipc', 'net', 'user', 'cgroup', 'time'] as const;

/**
 * Records the running lab for its commands, from its PID 1 (`init`, a PID of this machine): its
 * PID namespace for nstree, all its namespaces for nscheck. With no lab (host mode: `init` null)
 * the records are removed, and nstree and nscheck say they do not know the lab. Called when a
 * lab starts, so it also forgets nstree's names: a new lab's first picture starts from ns1 and A.
 */
export function recordLabForTools(dir: string, init: number | null): void {
  forgetNstreeLabels(dir);
  recordLabPidNamespace(dir, init);
  recordLabNamespaces(dir, init);
}

/** The names nstree gave the namespaces of the lab before (nstree/labels.ts), and a lock it may have left. */
function forgetNstreeLabels(dir: string): void {
  rmSync(join(dir, NSTREE_LABELS_FILE), { force: true });
  rmSync(join(dir, `${NSTREE_LABELS_FILE}.lock`), { force: true });
}

/** For nstree: which PID namespace is the lab's (it names the picture's outer box after it). */
function recordLabPidNamespace(dir: string, init: number | null): void {
  const file = join(dir, LAB_PIDNS_FILE);
  try {
    if (init === null) rmSync(file, { force: true });
    else writeFileSync(file, `${readlinkSync(`/proc/${init}/ns/pid`)}\n`, { mode: 0o600 });
  } catch (err) {
    log.info(`the lab's PID namespace is not known to nstree: ${(err as Error).message}`);
  }
}

/** For nscheck: every namespace of the lab's PID 1. Types this kernel lacks are left out. */
function recordLabNamespaces(dir: string, init: number | null): void {
  const file = join(dir, LAB_NAMESPACES_FILE);
  if (init === null) {
    rmSync(file, { force: true });
    return;
  }
  // A type this kernel does not have (time before Linux 5.6) is left out.
  const links = NAMESPACE_TYPES.map((type) => safeReadlink(`/proc/${init}/ns/${type}`)).filter((l) => l !== null);
  try {
    writeFileSync(file, links.join('\n') + '\n', { mode: 0o600 });
  } catch { /* nscheck then says it does not know the lab */ }
}

/**
 * Writes the wrappers into `<dir>/bin` and returns that folder (to be appended to PATH).
 * Node's threads take PIDs in the lab's PID namespace (5 per nstree run here: main, V8's
 * worker and helpers, one libuv worker). `--v8-pool-size=1` because V8's default follows the
 * machine's CPU count; UV_THREADPOOL_SIZE=1 because ES modules load through libuv's pool,
 * which would start four. So a notebook's PIDs after `nstree` are the same on every machine
 * running the same node.
 */
export function installLabTools(dir: string, nodePath: string = process.execPath): string {
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true, mode: 0o700 });
  writeNodeTool(bin, 'nstree', 'the namespace picture (see nstree --help)', [
    ['NSLAB_LAB_PIDNS_FILE', join(dir, LAB_PIDNS_FILE)],
    ['NSLAB_NSTREE_LABELS_FILE', join(dir, NSTREE_LABELS_FILE)],
  ], NSTREE_MAIN, nodePath);
  writeNodeTool(bin, 'nscheck', 'checks an exercise of the notebooks (see nscheck --list)', [['NSLAB_LAB_NAMESPACES_FILE', join(dir, LAB_NAMESPACES_FILE)]], NSCHECK_MAIN, nodePath);
  return bin;
}

/** A lab command run by the kernel's node: `bin/NAME` (0700), with the files it uses named in its environment. */
function writeNodeTool(bin: string, name: string, what: string, files: [string, string][], main: string, nodePath: string): void {
  const wrapper = [
    '#!/bin/sh',
    `# nslab: ${what}. Written by the kernel for this lab.`,
    ...files.map(([envName, envFile]) => `${envName}=${shellQuote(envFile)}`),
    `export ${files.map(([envName]) => envName).join(' ')} UV_THREADPOOL_SIZE=1`,
    `exec ${shellQuote(nodePath)} --v8-pool-size=1 ${shellQuote(main)} "$@"`,
    '',
  ].join('\n');
  writeFileSync(join(bin, name), wrapper, { mode: 0o700 });
  chmodSync(join(bin, name), 0o700);
}
