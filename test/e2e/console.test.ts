/**
 * Issue 16, point 6: `jupyter console --kernel nslab` (the project's .venv) in a terminal, driven
 * through tmux as a person types: send-keys, then capture-pane to read the screen. A `for` loop
 * typed line by line (the kernel's is_complete answers "incomplete" until `done`, so the console
 * shows continuation prompts), a `read` answered at the console, Ctrl-C during `sleep 100`, a
 * nested PID namespace shell left with `exit`. The tmux server runs on a private socket with a
 * temp kernelspec, private Jupyter dirs and HOME; it and every process it started end with the test.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jupyterScript } from '../../src/cli/python.js';
import { artifactsDir, formatProcs, installTempKernelspec, makeTempDir, processTree, removeDir, requireSystemPrograms, waitGone, type Proc } from '../helpers/browser.js';
import { killAll } from '../helpers/processes.js';

const TMUX = '/usr/bin/tmux';
const JUPYTER_CONSOLE = jupyterScript('jupyter-console');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('jupyter console --kernel nslab, typed in tmux @slow', function () {
  this.timeout(3 * 60 * 1000);
  let work: string;
  let socket: string;
  let env: NodeJS.ProcessEnv;
  let serverPid = 0;
  const seen = new Map<string, Proc>();
  let tracker: NodeJS.Timeout | undefined;

  const tmux = (...args: string[]) => {
    const r = spawnSync(TMUX, ['-S', socket, ...args], { env, encoding: 'utf8', timeout: 10_000 });
    if (r.status !== 0) throw new Error(`tmux ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  /** The console's screen and its scrollback, as text. */
  const screen = () => tmux('capture-pane', '-p', '-J', '-S', '-200', '-t', 'nslab');
  /** Types keys into the console (literal text, or tmux key names with `key`). */
  const type = (text: string) => tmux('send-keys', '-t', 'nslab', '-l', text);
  const key = (...names: string[]) => tmux('send-keys', '-t', 'nslab', ...names);
  /** Waits until the screen matches `re`; returns the screen. */
  const waitScreen = async (re: RegExp, timeoutMs = 30_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = screen();
      if (re.test(s)) return s;
      if (Date.now() > deadline) throw new Error(`the console never showed ${re}; screen:\n${s}`);
      await sleep(100);
    }
  };
  /** Count of `In [n]:` prompts on the screen so far: a new one means the console is ready again. */
  const prompts = () => (screen().match(/^In \[\d+\]:/gm) ?? []).length;
  /** Types one line and Enter, then waits for the next `In [n]:` prompt; returns what the screen shows after the line. */
  const runLine = async (line: string, timeoutMs = 30_000) => {
    const before = prompts();
    type(line);
    key('Enter');
    const deadline = Date.now() + timeoutMs;
    while (prompts() <= before) {
      if (Date.now() > deadline) throw new Error(`no new prompt after ${line}; screen:\n${screen()}`);
      await sleep(100);
    }
    const s = screen();
    return s.slice(s.lastIndexOf(`]: ${line}`) + line.length + 3);
  };

  before(async function () {
    requireSystemPrograms([TMUX, JUPYTER_CONSOLE]);
    work = makeTempDir('nslab-console-');
    socket = join(work, 'tmux.sock');
    const spec = installTempKernelspec(join(work, 'spec'));
    env = { ...spec.env, HOME: join(work, 'spec'), TERM: 'xterm-256color', LANG: 'C.UTF-8' };
    // A private tmux server (own socket), one window running the console, 200×50.
    tmux('-f', '/dev/null', 'new-session', '-d', '-s', 'nslab', '-x', '200', '-y', '50',
      `${JUPYTER_CONSOLE} --kernel nslab --ZMQTerminalInteractiveShell.highlighting_style=bw`);
    serverPid = Number(tmux('display-message', '-p', '-t', 'nslab', '#{pid}').trim());
    assert.ok(serverPid > 0, 'tmux server PID');
    const track = () => { for (const p of processTree(serverPid)) seen.set(`${p.pid}:${p.start}`, p); };
    track();
    tracker = setInterval(track, 200);
    await waitScreen(/^In \[1\]:/m, 60_000);
  });

  after(async function () {
    if (tracker) clearInterval(tracker);
    let left: Proc[] = [];
    if (serverPid) {
      try { tmux('kill-server'); } catch { /* already gone */ }
      left = await waitGone([...seen.values()], 10_000);
      killAll(left);
      await waitGone(left, 2000);
    }
    removeDir(work);
    assert.deepEqual(left, [], `processes of the tmux server left running (now killed):\n${formatProcs(left)}`);
  });

  it('runs a `for` loop typed line by line, with continuation prompts until `done`', async () => {
    const before = prompts();
    type('for i in 1 2 3');
    key('Enter');
    // Incomplete (is_complete): a continuation prompt, nothing runs yet.
    await waitScreen(/^\s+\.\.\.: ?$/m, 10_000);
    type('do echo "item $i"');
    key('Enter');
    await sleep(300);
    assert.equal(prompts(), before, `the loop did not run before done:\n${screen()}`);
    assert.doesNotMatch(screen(), /^item 1$/m);
    type('done');
    key('Enter');
    const s = await waitScreen(/^item 1\nitem 2\nitem 3$/m);
    assert.ok((s.match(/^\s+\.\.\.:/gm) ?? []).length >= 2, `two continuation prompts:\n${s}`);
    await waitScreen(new RegExp(`^In \\[${before + 1}\\]:`, 'm'));
  });

  it('answers `read` at the console', async () => {
    const before = prompts();
    type('read -p "name: " name; echo "hello, $name"');
    key('Enter');
    await waitScreen(/^name: ?$/m);
    type('taro');
    key('Enter');
    await waitScreen(/^hello, taro$/m);
    await waitScreen(new RegExp(`^In \\[${before + 1}\\]:`, 'm'));
    assert.equal((screen().match(/name: /g) ?? []).length, 2, `the prompt shows once (besides the typed line):\n${screen()}`);
  });

  it('Ctrl-C during `sleep 100` returns to a prompt, and the shell goes on', async () => {
    const before = prompts();
    type('sleep 100');
    key('Enter');
    const deadline = Date.now() + 15_000;
    while (![...processTree(serverPid)].some((p) => p.cmd === 'sleep 100')) {
      assert.ok(Date.now() < deadline, 'sleep 100 never started');
      await sleep(50);
    }
    const t0 = Date.now();
    key('C-c');
    await waitScreen(new RegExp(`^In \\[${before + 1}\\]:`, 'm'), 15_000);
    const ms = Date.now() - t0;
    assert.ok(!processTree(serverPid).some((p) => p.cmd === 'sleep 100'), 'the sleep is gone');
    assert.match(await runLine('echo still here'), /^still here$/m);
    console.log(`      (Ctrl-C → prompt in ${ms} ms)`);
  });

  it('`unshare --pid --fork bash`, `echo $$` → 1, `exit` back to the lab (`echo $$` → 2)', async () => {
    await runLine('unshare --pid --fork bash');
    assert.match(await runLine('echo $$'), /^1$/m, 'the nested shell is PID 1 of its namespace');
    assert.match(await runLine('exit'), /^exit$/m);
    assert.match(await runLine('echo $$'), /^2$/m, 'back in the lab\'s shell');
    writeFileSync(join(artifactsDir('console'), 'screen.txt'), screen());
  });

  it('Ctrl-D and y leave the console; its kernel and lab end', async () => {
    const kernels = processTree(serverPid).filter((p) => /nslab|tini|unshare/.test(p.cmd));
    assert.ok(kernels.some((p) => /^tini\b/.test(p.cmd)), `the lab runs:\n${formatProcs(processTree(serverPid))}`);
    key('C-d');
    await waitScreen(/Do you really want to exit/);
    type('y');
    key('Enter');
    const left = await waitGone(kernels, 15_000);
    assert.deepEqual(left, [], `still running after the console exited:\n${formatProcs(left)}`);
  });
});
