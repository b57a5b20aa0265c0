/** Helpers for live tests that drive a real ShellEngine (a real lab) without Jupyter. */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { ShellEngine, type EngineOptions } from '../../src/shell/engine.js';
import { pidNamespace } from '../../src/shell/procfs.js';
import type { CellResult, RunOptions } from '../../src/shell/session.js';
import type { DisplayBundle } from '../../src/shell/types.js';

export interface Ran extends CellResult {
  output: string;
  notices: string;
  inputRequests: { prompt: string; password: boolean }[];
  /** Rich output (display markers), in order; `output` holds a `<display N>` line where each came. */
  displays: DisplayBundle[];
  ms: number;
}

/** Run a cell and collect everything it produced. `answers` answer input requests in order (null: cannot ask). */
export async function runCell(engine: ShellEngine, code: string, opts: { terminal?: number; answers?: (string | null)[]; run?: RunOptions } = {}): Promise<Ran> {
  let output = '';
  let notices = '';
  const inputRequests: Ran['inputRequests'] = [];
  const displays: DisplayBundle[] = [];
  const answers = opts.answers ? [...opts.answers] : undefined;
  const started = Date.now();
  const result = await engine.run(
    opts.terminal ?? 1,
    code,
    {
      onOutput: (t) => (output += t),
      onNotice: (t) => (notices += t),
      onDisplay: (d) => {
        displays.push(d);
        output += `<display ${displays.length}>\n`;
      },
      requestInput: answers
        ? async (prompt, password) => {
            inputRequests.push({ prompt, password });
            return answers.length ? answers.shift()! : null;
          }
        : undefined,
    },
    opts.run,
  );
  return { ...result, output, notices, inputRequests, displays, ms: Date.now() - started };
}

/** A started engine, and a check at the end that nothing of its lab is left. */
export async function startEngine(opts: EngineOptions = {}): Promise<ShellEngine> {
  const engine = new ShellEngine({ cwd: '/tmp', ...opts });
  await engine.start();
  return engine;
}

/** PID namespace of the lab (to look for survivors after shutdown). */
export function labNamespace(engine: ShellEngine): string | null {
  const init = engine.initPid;
  return init === null ? null : pidNamespace(init);
}

/**
 * Processes on this machine in namespace `ns` (a `/proc/PID/ns/KIND` link text), zombies not
 * counted: a killed lab init whose parent died first is reaped by this machine's init, in its
 * own time.
 */
export function processesInNamespace(ns: string, existedBefore?: Map<number, string>): number[] {
  const kind = ns.slice(0, ns.indexOf(':'));
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    // A namespace's inode number is reused once it is freed: a process that did not exist
    // before the lab ended may be in a new namespace with the same number, not a survivor.
    if (existedBefore && existedBefore.get(Number(entry)) !== startTime(Number(entry))) continue;
    try {
      if (readlinkSync(`/proc/${entry}/ns/${kind}`) === ns && !isZombie(Number(entry))) found.push(Number(entry));
    } catch {
      /* gone */
    }
  }
  return found;
}

/** Wait until `pids` have all exited (or fail after `ms`). */
/**
 * Shut a test's engine down and check that it took its lab with it: every process it had ended,
 * nothing left in the lab's PID namespace.
 */
export async function shutdownCleanly(engine: ShellEngine): Promise<void> {
  const ns = labNamespace(engine);
  const pids = engine.processes();
  await engine.shutdown();
  await assertAllGone(pids);
  if (ns) assert.deepEqual(processesInNamespace(ns), [], 'nothing of the lab is left');
}

export async function assertAllGone(pids: number[], ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  let alive = pids;
  while (Date.now() < deadline) {
    alive = pids.filter((p) => existsSync(`/proc/${p}`) && !isZombie(p));
    if (!alive.length) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.deepEqual(alive, [], `processes left behind: ${alive.join(', ')}`);
}

function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true; // gone meanwhile
  }
}

/** How many proc filesystems are mounted on /proc in this machine's own mount namespace. */
export function hostProcMounts(): number {
  return readFileSync('/proc/self/mounts', 'utf8').split('\n').filter((l) => / \/proc proc /.test(l)).length;
}

/** Every process now, PID → start time, to tell survivors from newcomers later. */
export function snapshotProcesses(): Map<number, string> {
  const out = new Map<number, string>();
  for (const entry of readdirSync('/proc')) if (/^\d+$/.test(entry)) out.set(Number(entry), startTime(Number(entry)));
  return out;
}

function startTime(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return 'gone';
  }
}
