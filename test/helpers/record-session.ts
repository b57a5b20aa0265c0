/**
 * Records sessions of a real lab through ShellSession as fixtures for the command tracker (and
 * the stream parser):
 *
 *   npm run build && node dist/test/helpers/record-session.js [fixture-name …]   (default: all)
 *
 * As root (the lab needs namespaces). Each scenario starts the lab's first terminal the way the
 * engine does (src/lab/sandbox.ts firstTerminalCommand: unshare, tini, bash with `stty -echo`),
 * runs its cells through ShellSession.run, with the real typing, /proc watcher and interrupt,
 * and writes to test/fixtures/<name>.json every byte read from the PTY, everything else the
 * session told its command tracker (lines typed, ^C, what /proc found waiting, the exit) at the
 * byte offset where it did, and the expectations. Nothing here writes bytes of its own: the
 * stream is what the lab printed, up to the end of the scenario (the session is then killed;
 * the recording keeps that exit, not what the teardown prints). (scripts/record-fixture.mjs records plain `bash -i` sessions
 * for the stream parser alone; it cannot record what /proc finds.)
 *
 * The expectations are written by hand per scenario: each cell's outcome and status, the
 * markers' statuses and the output between them (for the stream parser's fixture test), and the
 * tracker's event sequence. Only pids are filled in from the recording (markers found by a
 * regular expression independent of the parser, waiting programs from the recorded facts). A
 * recording whose cells, markers or waits differ from the scenario is not written.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { SessionFact, TrackerEvent, UntrackedNeed } from '../../src/shell/command-tracker.js';
import { firstTerminalCommand, planLab } from '../../src/lab/sandbox.js';
import { MARKER_OSC, markerEnvironment, newNonce } from '../../src/shell/markers.js';
import { ShellSession, type CellResult } from '../../src/shell/session.js';
import { findFixturesDir, type Fixture, type MarkerEvent } from './fixtures.js';

const COLS = 200;
const ROWS = 50;

/** One marker the shell prints, in order: what the stream parser's fixture test checks. */
interface ExpectedMarker {
  typed: string | null;
  shell: string;
  /** The stream parser's output between the previous marker and this one. */
  output: string;
  event: { kind: 'prompt'; exitCode: number } | { kind: 'continuation' };
}

/** A tracker event as the scenario expects it; pids come from the recording. */
type ExpectedTrackerEvent =
  | { kind: 'output'; text: string }
  | { kind: 'prompt'; exitCode: number; shell: string }
  | { kind: 'continuation' }
  | { kind: 'untracked'; comm: string; needs: UntrackedNeed; firstTime: boolean }
  | { kind: 'exited' };

interface Cell {
  code: string;
  /** Answers to input requests, in order. */
  answers?: string[];
  /** Type ^C (ShellSession.interrupt) this long after the cell starts. */
  interruptAfterMs?: number;
  expect: CellResult;
}

interface Scenario {
  description: string;
  cells: Cell[];
  markers: ExpectedMarker[];
  tracker: ExpectedTrackerEvent[];
}

const firstPrompt: ExpectedMarker = { typed: null, shell: 'lab bash', output: '', event: { kind: 'prompt', exitCode: 0 } };
const prompt = (exitCode: number, shell = 'lab bash'): ExpectedTrackerEvent => ({ kind: 'prompt', exitCode, shell });
const output = (text: string): ExpectedTrackerEvent => ({ kind: 'output', text });
const exited: ExpectedTrackerEvent = { kind: 'exited' };

const scenarios: Record<string, Scenario> = {
  'lab-nested-shells': {
    description: 'a nested bash in the lab: its own prompt, then `exit 3` back to the lab\'s shell with status 3',
    cells: [
      { code: 'bash', expect: { outcome: 'completed', exitCode: 0 } },
      { code: 'echo nested', expect: { outcome: 'completed', exitCode: 0 } },
      { code: 'exit 3', expect: { outcome: 'completed', exitCode: 3 } },
    ],
    markers: [
      firstPrompt,
      { typed: 'bash', shell: 'nested bash', output: '', event: { kind: 'prompt', exitCode: 0 } },
      { typed: 'echo nested', shell: 'nested bash', output: 'nested\n', event: { kind: 'prompt', exitCode: 0 } },
      // An interactive bash announces `exit` on stderr, which is the same terminal.
      { typed: 'exit 3', shell: 'lab bash', output: 'exit\n', event: { kind: 'prompt', exitCode: 3 } },
    ],
    tracker: [prompt(0), prompt(0, 'nested bash'), output('nested\n'), prompt(0, 'nested bash'), output('exit\n'), prompt(3), exited],
  },
  'lab-untracked': {
    description: 'programs without markers: python3 takes the terminal (untracked), `env -i bash --norc` is armed',
    cells: [
      { code: 'python3 -q', expect: { outcome: 'untracked', exitCode: null } },
      { code: 'print(6 * 7)', expect: { outcome: 'untracked', exitCode: null } },
      { code: 'exit()', expect: { outcome: 'completed', exitCode: 0 } },
      { code: 'env -i bash --norc', expect: { outcome: 'completed', exitCode: 0 } },
      { code: 'exit 4', expect: { outcome: 'completed', exitCode: 4 } },
    ],
    markers: [
      firstPrompt,
      { typed: 'exit()', shell: 'lab bash', output: '>>> 42\n>>> ', event: { kind: 'prompt', exitCode: 0 } },
      { typed: 'env -i bash --norc', shell: 'bare bash', output: 'bash-5.2# ', event: { kind: 'prompt', exitCode: 0 } },
      { typed: 'exit 4', shell: 'lab bash', output: 'exit\n', event: { kind: 'prompt', exitCode: 4 } },
    ],
    tracker: [
      prompt(0),
      output('>>> '), { kind: 'untracked', comm: 'python3', needs: 'terminal', firstTime: true },
      output('42\n>>> '), { kind: 'untracked', comm: 'python3', needs: 'terminal', firstTime: false },
      prompt(0),
      output('bash-5.2# '), { kind: 'untracked', comm: 'bash', needs: 'markers', firstTime: true },
      prompt(0, 'bare bash'),
      output('exit\n'), prompt(4),
      exited,
    ],
  },
  'lab-stdin': {
    description: 'programs reading lines: `read` and `read -s` answered through input requests',
    cells: [
      { code: 'read -p "name? " name; echo "hello $name"', answers: ['bob'], expect: { outcome: 'completed', exitCode: 0 } },
      { code: 'read -s -p "password: " pw; echo "${#pw} characters"', answers: ['secret'], expect: { outcome: 'completed', exitCode: 0 } },
    ],
    markers: [
      firstPrompt,
      { typed: 'read -p "name? " name; echo "hello $name"', shell: 'lab bash', output: 'name? hello bob\n', event: { kind: 'prompt', exitCode: 0 } },
      { typed: 'read -s -p "password: " pw; echo "${#pw} characters"', shell: 'lab bash', output: 'password: 6 characters\n', event: { kind: 'prompt', exitCode: 0 } },
    ],
    tracker: [
      prompt(0),
      output('name? '), { kind: 'untracked', comm: 'bash', needs: 'line', firstTime: true }, output('hello bob\n'), prompt(0),
      output('password: '), { kind: 'untracked', comm: 'bash', needs: 'line', firstTime: false }, output('6 characters\n'), prompt(0),
      exited,
    ],
  },
  'lab-interrupt': {
    description: '^C while a command runs: status 130, and bash\'s line break after the killed job is not shown',
    cells: [
      { code: 'echo started; sleep 30', interruptAfterMs: 700, expect: { outcome: 'interrupted', exitCode: 130 } },
      { code: 'echo after', expect: { outcome: 'completed', exitCode: 0 } },
    ],
    markers: [
      firstPrompt,
      { typed: 'echo started; sleep 30', shell: 'lab bash', output: 'started\n\n', event: { kind: 'prompt', exitCode: 130 } },
      { typed: 'echo after', shell: 'lab bash', output: 'after\n', event: { kind: 'prompt', exitCode: 0 } },
    ],
    tracker: [prompt(0), output('started\n'), prompt(130), output('after\n'), prompt(0), exited],
  },
};

/** Every marker in the raw stream, found without the StreamParser (it is what the fixtures test). */
function scanMarkers(raw: Buffer, nonce: string): MarkerEvent[] {
  const marker = new RegExp(`\\x1b\\]${MARKER_OSC};${nonce};(?:P;([0-9]+);([0-9]+)|C(?:;[0-9]+)?)(?:\\x07|\\x1b\\\\)`, 'g');
  return [...raw.toString('latin1').matchAll(marker)].map((m): MarkerEvent =>
    m[1] === undefined ? { kind: 'continuation' } : { kind: 'prompt', exitCode: Number(m[1]), shellPid: Number(m[2]) });
}

async function record(name: string, scenario: Scenario): Promise<void> {
  const plan = planLab('lab');
  assert.equal(plan.mode, 'lab', `recording needs a root lab: ${plan.notice ?? ''}`);
  const nonce = newNonce();
  const dir = mkdtempSync(join(tmpdir(), 'nslab-record-'));
  writeFileSync(join(dir, 'inputrc'), 'set enable-bracketed-paste off\n$include /etc/inputrc\n');
  const chunks: Buffer[] = [];
  let offset = 0;
  /** Set when the scenario is over: what the lab's teardown prints (unshare's complaint at the kill) is not part of it. */
  let ending = false;
  const facts: Array<{ at: number; fact: SessionFact }> = [];
  const results: CellResult[] = [];
  try {
    const session = await ShellSession.start({
      command: firstTerminalCommand(plan.mode, ['bash']),
      env: {
        PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        TERM: 'xterm-256color', LANG: 'C.UTF-8', HOME: dir, INPUTRC: join(dir, 'inputrc'), HISTFILE: '/dev/null',
        ...markerEnvironment(nonce),
      },
      cwd: dir, cols: COLS, rows: ROWS, nonce,
      record: (entry) => {
        if (entry.kind === 'bytes') {
          if (ending) return;
          chunks.push(Buffer.from(entry.data));
          offset += entry.data.length;
        } else {
          facts.push({ at: offset, fact: entry });
        }
      },
    });
    try {
      for (const cell of scenario.cells) {
        const answers = [...(cell.answers ?? [])];
        const timer = cell.interruptAfterMs === undefined ? null : setTimeout(() => session.interrupt(), cell.interruptAfterMs);
        const result = await session.run(cell.code, {
          onOutput: () => {},
          onNotice: () => {},
          requestInput: async () => answers.shift() ?? null,
        });
        if (timer) clearTimeout(timer);
        results.push(result);
      }
    } finally {
      ending = true;
      session.kill();
      await session.exited;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  assert.deepEqual(results, scenario.cells.map((cell) => cell.expect), `${name}: the cells' results`);
  const raw = Buffer.concat(chunks);
  const seen = scanMarkers(raw, nonce);
  assert.deepEqual(seen.map(({ kind, ...rest }) => ({ kind, exitCode: 'exitCode' in rest ? rest.exitCode : undefined })),
    scenario.markers.map(({ event }) => ({ kind: event.kind, exitCode: 'exitCode' in event ? event.exitCode : undefined })), `${name}: the markers`);
  const pids: Record<string, number | null> = {};
  const steps: Fixture['steps'] = scenario.markers.map((expected, index) => {
    const event = seen[index];
    if (event.kind === 'prompt') pids[expected.shell] ??= event.shellPid;
    return { typed: expected.typed, shell: expected.shell, expectedOutput: expected.output, expectedEvent: event };
  });
  const waits = facts.flatMap(({ fact }) => (fact.kind === 'waiting' ? [fact] : []));
  const expectedWaits = scenario.tracker.filter((e) => e.kind === 'untracked');
  assert.deepEqual(waits.map((w) => w.program.comm), expectedWaits.map((e) => e.comm), `${name}: the programs found waiting`);
  const expectedTracker = scenario.tracker.map((e): TrackerEvent => {
    if (e.kind === 'prompt') return { kind: 'prompt', exitCode: e.exitCode, shellPid: pids[e.shell] ?? null };
    if (e.kind !== 'untracked') return e;
    const { program, modes } = waits[expectedWaits.indexOf(e)];
    return { kind: 'untracked', program, modes, needs: e.needs, firstTime: e.firstTime };
  });
  const fixture: Fixture = {
    name,
    description: scenario.description,
    recordedWith: {
      command: 'the lab\'s first terminal (src/lab/sandbox.ts), through ShellSession',
      bash: execFileSync('bash', ['-c', 'echo $BASH_VERSION'], { encoding: 'utf8' }).trim(),
      term: 'xterm-256color',
      cols: COLS,
      rows: ROWS,
      bracketedPaste: false,
    },
    nonce,
    steps,
    rawBase64: raw.toString('base64'),
    facts,
    expectedTracker,
  };
  writeFileSync(join(findFixturesDir(), `${name}.json`), `${JSON.stringify(fixture, null, 2)}\n`);
  console.log(`${name}: ${raw.length} raw bytes, ${facts.length} facts, ${seen.length} markers → test/fixtures/${name}.json`);
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const wanted = new Set(process.argv.slice(2));
  for (const [name, scenario] of Object.entries(scenarios)) {
    if (wanted.size === 0 || wanted.has(name)) await record(name, scenario);
  }
  process.exit(0); // node-pty may keep handles open after the kill
}
