#!/usr/bin/env node
/**
 * Records real PTY sessions of bash as fixtures for the stream parser tests.
 *
 *   npx tsc -p . && node scripts/record-fixture.mjs [fixture-name …]   (default: all)
 *
 * For each scenario it spawns `bash -i` in a 200x50 PTY (TERM=xterm-256color) with nslab's marker
 * environment, types `stty -echo` and then the scenario's lines one at a time, waiting for a
 * prompt or continuation marker after each, and writes every raw byte (base64) together with the
 * nonce, the typed lines and the expected events to test/fixtures/<name>.json.
 *
 * Only harmless commands are typed, in the caller's own namespaces (no unshare, no mount).
 *
 * The expected exit statuses are written here by hand and checked against the raw stream with a
 * deliberately simple regular expression that is independent of the StreamParser under test; a
 * mismatch aborts the recording. Expected output text is also written by hand (or computed by
 * running the same program outside the PTY), so the fixture test really checks the parser.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pty from 'node-pty';
import { markerEnvironment, MARKER_OSC, newNonce } from '../dist/src/shell/markers.js';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const fixturesDir = join(repoRoot, 'test', 'fixtures');
const COLS = 200;
const ROWS = 50;
const STEP_TIMEOUT_MS = 10_000;
/** After the last marker, how long the stream must stay quiet before recording stops. */
const SETTLE_MS = 300;
const MAX_FIXTURE_BYTES = 200 * 1024;

/** `ls -C` as bash's PTY would show it at COLS columns, computed outside the PTY. */
function lsRootColumns() {
  return execFileSync('ls', ['-C', '--color=always', '/'], {
    env: { ...process.env, COLUMNS: String(COLS) },
    encoding: 'utf8',
  });
}

const prompt = (exitCode, shell = 'bash') => ({ event: { kind: 'prompt', exitCode }, shell });
const continuation = (shell = 'bash') => ({ event: { kind: 'continuation' }, shell });

/**
 * A step: the line typed (null: the shell's first prompt), the event that must follow it, the
 * exact output between the previous event and that one, and which shell printed the event
 * (steps with the same `shell` label must carry the same pid, different labels different pids).
 * `output` may be a function of the pids observed so far (for `echo $$`).
 */
const commonStart = [
  { line: null, ...prompt(0), output: '' },
  // Typed while the tty still echoes: readline echoes the line, then the newline.
  { line: 'stty -echo', ...prompt(0), output: 'stty -echo\n' },
];

const scenarios = {
  basic: {
    description: 'simple commands and their exit statuses, CRLF vs lone CR, coloured ls',
    steps: [
      { line: 'echo hello', ...prompt(0), output: 'hello\n' },
      { line: 'false', ...prompt(1), output: '' },
      { line: '(exit 7)', ...prompt(7), output: '' },
      { line: "printf 'a\\r\\nb\\rc\\n'", ...prompt(0), output: 'a\nb\rc\n' },
      { line: 'ls --color=always /', ...prompt(0), output: lsRootColumns },
    ],
  },
  nested: {
    description: 'nested shells: bash → bash → dash, exit statuses at each level',
    steps: [
      { line: 'echo $$', ...prompt(0, 'outer bash'), output: (pids) => `${pids['outer bash']}\n` },
      { line: 'bash', ...prompt(0, 'nested bash'), output: '' },
      { line: 'echo $$; (exit 3)', ...prompt(3, 'nested bash'), output: (pids) => `${pids['nested bash']}\n` },
      { line: 'sh', ...prompt(0, 'dash'), output: '' },
      { line: '(exit 5)', ...prompt(5, 'dash'), output: '' },
      { line: 'exit 4', ...prompt(4, 'nested bash'), output: '' },
      // An interactive bash announces `exit` on stderr, which is the same tty.
      { line: 'exit 2', ...prompt(2, 'outer bash'), output: 'exit\n' },
    ],
    commonShell: 'outer bash',
  },
  multiline: {
    description: 'a for loop typed over three lines: two PS2 continuation markers, then the output',
    steps: [
      { line: 'for i in 1 2; do', ...continuation(), output: '' },
      { line: 'echo $i', ...continuation(), output: '' },
      { line: 'done', ...prompt(0), output: '1\n2\n' },
    ],
  },
  'utf8-colour': {
    description: 'multi-byte UTF-8 output and SGR colours',
    steps: [
      { line: "printf 'あいう\\n'", ...prompt(0), output: 'あいう\n' },
      { line: "printf '\\033[31mred\\033[0m\\n'", ...prompt(0), output: '\x1b[31mred\x1b[0m\n' },
      { line: "printf '\\360\\237\\230\\200 ok\\n'", ...prompt(0), output: '😀 ok\n' },
    ],
  },
  'env-template': {
    description: 'programs print the unexpanded PS1 template (with our nonce): no event',
    steps: [
      // Anchored: an unanchored `grep NSLAB_PS1` also lists PROMPT_COMMAND, whose value the
      // bashrc may rewrite (pyenv prepends its hook), which would make the expectation host-specific.
      { line: 'env | grep ^NSLAB_PS1=', ...prompt(0), output: 'NSLAB_PS1=\n' },
      { line: 'env | grep ^PS1=', ...prompt(0), output: 'PS1=\n' },
      { line: 'printf \'[%s]\\n\' "$NSLAB_PS1"', ...prompt(0), output: '[]\n' },
      { line: 'true', ...prompt(0), output: '' },
    ],
  },
};

/** Scenarios also recorded with readline's bracketed paste left on (its default). */
const BRACKETED_PASTE_VARIANTS = ['basic', 'nested', 'multiline'];

function stepsOf(scenario) {
  const shell = scenario.commonShell ?? 'bash';
  return [...commonStart.map((step) => ({ ...step, shell })), ...scenario.steps];
}

/** Every marker in the raw stream, found without the StreamParser (it is what we test). */
function scanMarkers(raw, nonce) {
  const text = raw.toString('latin1');
  const marker = new RegExp(`\\x1b\\]${MARKER_OSC};${nonce};(?:P;([0-9]+);([0-9]+)|C)(?:\\x07|\\x1b\\\\)`, 'g');
  return [...text.matchAll(marker)].map((m) =>
    m[1] === undefined
      ? { kind: 'continuation' }
      : { kind: 'prompt', exitCode: Number(m[1]), shellPid: Number(m[2]) },
  );
}

/** Session id of a live process (field 6 of /proc/<pid>/stat), or null. */
function sessionOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[3]);
  } catch {
    return null;
  }
}

async function record(name, scenario, { bracketedPaste }) {
  const fixtureName = bracketedPaste ? `${name}-bracketed-paste` : name;
  const nonce = newNonce();
  const tempDir = mkdtempSync(join(tmpdir(), 'nslab-record-'));
  const env = { ...process.env, ...markerEnvironment(nonce), TERM: 'xterm-256color' };
  if (!env.LANG && !env.LC_ALL) env.LANG = 'C.UTF-8'; // readline needs a UTF-8 locale for あいう
  if (bracketedPaste) {
    delete env.INPUTRC; // readline's default (bash ≥ 5.1): bracketed paste on
  } else {
    env.INPUTRC = join(tempDir, 'inputrc');
    writeFileSync(env.INPUTRC, 'set enable-bracketed-paste off\n');
  }

  const term = pty.spawn('bash', ['-i'], {
    name: 'xterm-256color',
    cols: COLS,
    rows: ROWS,
    cwd: tempDir,
    env,
    encoding: null, // raw Buffers: the fixtures must contain the exact bytes
  });
  const chunks = [];
  let exited = false;
  let lastDataAt = Date.now();
  let wakeUp = () => {};
  term.onData((data) => {
    chunks.push(Buffer.from(data));
    lastDataAt = Date.now();
    wakeUp();
  });
  term.onExit(() => {
    exited = true;
    wakeUp();
  });
  const raw = () => Buffer.concat(chunks);
  const waitUntil = async (condition, what) => {
    const deadline = Date.now() + STEP_TIMEOUT_MS;
    while (!condition()) {
      if (exited) throw new Error(`${fixtureName}: bash exited while waiting for ${what}`);
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`${fixtureName}: timed out waiting for ${what}`);
      await new Promise((resolve) => {
        wakeUp = resolve;
        setTimeout(resolve, Math.min(remaining, 50));
      });
    }
  };

  const steps = stepsOf(scenario);
  try {
    for (const [index, step] of steps.entries()) {
      if (step.line !== null) term.write(`${step.line}\r`);
      await waitUntil(() => scanMarkers(raw(), nonce).length > index, `the marker after ${JSON.stringify(step.line)}`);
    }
    await waitUntil(() => Date.now() - lastDataAt >= SETTLE_MS, 'a quiet stream');
  } finally {
    stopSession(term);
    rmSync(tempDir, { recursive: true, force: true });
  }

  const bytes = raw();
  const observed = scanMarkers(bytes, nonce);
  if (observed.length !== steps.length) {
    throw new Error(`${fixtureName}: expected ${steps.length} markers, saw ${observed.length}`);
  }
  const pids = {};
  const fixtureSteps = steps.map((step, index) => {
    const seen = observed[index];
    if (seen.kind !== step.event.kind || (seen.kind === 'prompt' && seen.exitCode !== step.event.exitCode)) {
      throw new Error(`${fixtureName} step ${index}: expected ${JSON.stringify(step.event)}, saw ${JSON.stringify(seen)}`);
    }
    if (seen.kind === 'prompt') pids[step.shell] ??= seen.shellPid;
    const output = typeof step.output === 'function' ? step.output(pids) : step.output;
    return { typed: step.line, shell: step.shell, expectedOutput: output, expectedEvent: seen };
  });

  const fixture = {
    name: fixtureName,
    description: scenario.description,
    recordedWith: {
      command: 'bash -i',
      bash: execFileSync('bash', ['-c', 'echo $BASH_VERSION'], { encoding: 'utf8' }).trim(),
      term: 'xterm-256color',
      cols: COLS,
      rows: ROWS,
      bracketedPaste,
    },
    nonce,
    steps: fixtureSteps,
    rawBase64: bytes.toString('base64'),
  };
  const json = `${JSON.stringify(fixture, null, 2)}\n`;
  if (json.length > MAX_FIXTURE_BYTES) throw new Error(`${fixtureName}: fixture is ${json.length} bytes`);
  writeFileSync(join(fixturesDir, `${fixtureName}.json`), json);
  console.log(`${fixtureName}: ${bytes.length} raw bytes, ${observed.length} markers → test/fixtures/${fixtureName}.json`);
}

/**
 * Ends the recorded session: kills, by pid, the bash we spawned and anything still alive in its
 * session (a nested shell left behind by a failed step). Nothing outside that session is touched.
 */
function stopSession(term) {
  const sessionId = term.pid;
  const members = readdirSync('/proc')
    .filter((entry) => /^[0-9]+$/.test(entry))
    .map(Number)
    .filter((pid) => pid === sessionId || sessionOf(pid) === sessionId);
  for (const pid of members.sort((a, b) => b - a)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** Fixture names given on the command line, or every fixture when there are none. */
const wanted = new Set(process.argv.slice(2));
const selected = (fixtureName) => wanted.size === 0 || wanted.has(fixtureName);
for (const [name, scenario] of Object.entries(scenarios)) {
  if (selected(name)) await record(name, scenario, { bracketedPaste: false });
  if (BRACKETED_PASTE_VARIANTS.includes(name) && selected(`${name}-bracketed-paste`)) {
    await record(name, scenario, { bracketedPaste: true });
  }
}
process.exit(0); // node-pty may keep handles open after the kill
