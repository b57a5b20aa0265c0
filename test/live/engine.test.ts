/**
 * The shell engine, live: real bash in a real PTY inside a real lab. Each behaviour of issue 3
 * (nested shells, markers, stdin, interrupts, output handling, shell exits) as a learner meets it.
 */
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ShellEngine } from '../../src/shell/engine.js';
import { assertAllGone, runCell, shutdownCleanly, startEngine } from '../helpers/engine.js';
import { processTree } from '../../src/shell/procfs.js';

describe('shell engine (live, in a lab)', function () {
  this.timeout(60000);
  let engine: ShellEngine;
  let scratch: string;

  before(async () => {
    engine = await startEngine();
    scratch = mkdtempSync(join(tmpdir(), 'nslab-test-'));
  });
  after(async () => {
    await shutdownCleanly(engine);
    rmSync(scratch, { recursive: true, force: true });
  });

  it('keeps state across cells: variables, functions, directory', async () => {
    await runCell(engine, 'X=42; greet() { echo "hi $1"; }; cd /usr');
    const r = await runCell(engine, 'echo $X; greet you; pwd');
    assert.equal(r.output, '42\nhi you\n/usr\n');
    await runCell(engine, 'cd /tmp');
  });

  it('reports exit statuses through outer bash → nested bash → nested sh → exit → exit', async () => {
    const steps: [string, number, string?][] = [
      ['(exit 7)', 7],
      ['unshare --pid --fork bash', 0],
      ['echo $$', 0, '1\n'],
      ['(exit 3)', 3],
      ['sh', 0],
      ['(exit 5)', 5],
      ['exit 4', 4], // back in the nested bash: the status of sh
      ['exit 2', 2], // back in the outer bash: the status of unshare, i.e. of the nested bash
      ['echo $$', 0, '2\n'],
    ];
    for (const [code, status, output] of steps) {
      const r = await runCell(engine, code);
      assert.equal(r.outcome, 'completed', code);
      assert.equal(r.exitCode, status, `${code}: ${JSON.stringify(r)}`);
      if (output !== undefined) assert.equal(r.output, output, code);
    }
  });

  it('continues the rest of a cell inside the nested shell it starts', async () => {
    const r = await runCell(engine, 'unshare --pid --fork bash\necho inner $$\nexit 6');
    assert.equal(r.output, 'inner 1\nexit\n');
    assert.equal(r.exitCode, 6);
  });

  it('keeps exit statuses in nested bash whatever its bashrc does to PS1 and PROMPT_COMMAND', async () => {
    const ubuntuLike = join(scratch, 'ubuntu.bashrc');
    writeFileSync(ubuntuLike, [
      'PS1=\'${debian_chroot:+($debian_chroot)}\\u@\\h:\\w\\$ \'',
      'case "$TERM" in xterm*|rxvt*) PS1="\\[\\e]0;${debian_chroot:+($debian_chroot)}\\u@\\h: \\w\\a\\]$PS1";; esac',
      'alias ls="ls --color=auto"',
    ].join('\n') + '\n');
    const historyA = join(scratch, 'history.bashrc');
    writeFileSync(historyA, 'PROMPT_COMMAND="history -a; $PROMPT_COMMAND"\nPS1="custom> "\n');
    for (const rc of [ubuntuLike, historyA]) {
      assert.equal((await runCell(engine, `bash --rcfile ${rc}`)).exitCode, 0);
      assert.equal((await runCell(engine, 'false')).exitCode, 1, rc);
      assert.equal((await runCell(engine, '(exit 7)')).exitCode, 7, rc);
      const r = await runCell(engine, 'echo ok');
      assert.equal(r.output, 'ok\n', `no prompt text or title sequence leaks (${rc})`);
      assert.equal((await runCell(engine, 'exit 3')).exitCode, 3, rc);
    }
  });

  it('arms its markers in a shell that started without them', async () => {
    await runCell(engine, 'export OUTER_ONLY=yes');
    const r = await runCell(engine, 'env -i bash --norc --noprofile');
    assert.equal(r.outcome, 'completed');
    assert.match(r.notices, /started without nslab's prompt markers; nslab set them up/);
    assert.equal((await runCell(engine, '(exit 9)')).exitCode, 9);
    const inside = await runCell(engine, 'echo "OUTER_ONLY=${OUTER_ONLY:-unset}"');
    assert.equal(inside.output, 'OUTER_ONLY=unset\n', 'the cell ran in the shell with the empty environment');
    assert.equal((await runCell(engine, 'exit 0')).exitCode, 0);
    assert.equal((await runCell(engine, 'echo $OUTER_ONLY')).output, 'yes\n', 'back in the outer shell');
  });

  it('talks to a program without markers (python3) and says so; the next cells still end', async () => {
    const start = await runCell(engine, 'python3 -q');
    assert.equal(start.outcome, 'untracked');
    assert.match(start.notices, /`python3` is waiting for input at the terminal/);
    const calc = await runCell(engine, 'print(6*7)');
    assert.equal(calc.outcome, 'untracked');
    assert.match(calc.output, /^42\n/);
    const back = await runCell(engine, 'exit()\necho back in bash');
    assert.equal(back.outcome, 'completed');
    assert.match(back.output, /back in bash\n$/);
  });

  it('cancels incomplete input with a clear outcome, and the shell is ready again', async () => {
    for (const code of ['echo "abc', 'for i in 1 2; do', 'echo trailing \\', 'cat <<EOF\nline']) {
      const r = await runCell(engine, code);
      assert.equal(r.outcome, 'incomplete', code);
      const next = await runCell(engine, 'echo ready');
      assert.equal(next.output, 'ready\n', `after ${JSON.stringify(code)}`);
    }
  });

  it('ends a cancelled cell even when the shell ignores the ^C (trap \'\' INT), and the shell is usable again', async () => {
    await runCell(engine, "trap '' INT");
    const r = await runCell(engine, 'echo "abc');
    assert.equal(r.outcome, 'incomplete');
    assert.ok(r.ms < 10000, `ended after ${r.ms} ms (two ^C, each given 3 s), not never`);
    // The quote is still open in the shell: close it, then put ^C back.
    await runCell(engine, '"');
    await runCell(engine, 'trap - INT');
    assert.equal((await runCell(engine, 'echo "abc')).outcome, 'incomplete');
    assert.equal((await runCell(engine, 'echo ready')).output, 'ready\n');
  });

  it('types multi-line constructs and here-documents, blank lines included', async () => {
    const r = await runCell(engine, 'for i in 1 2 3; do\n  echo "n=$i"\ndone\ncat <<EOF\nfirst\n\nthird\nEOF');
    assert.equal(r.output, 'n=1\nn=2\nn=3\nfirst\n\nthird\n');
  });

  it('runs a cell of 50 lines and a 5000-character line', async () => {
    const fifty = Array.from({ length: 50 }, (_, i) => `echo line${i + 1}`).join('\n');
    const r = await runCell(engine, fifty);
    assert.equal(r.output.split('\n').filter(Boolean).length, 50);
    assert.match(r.output, /^line1\n[^]*line50\n$/);
    const long = 'x'.repeat(5000);
    const w = await runCell(engine, `echo ${long} | wc -c`);
    assert.equal(w.output.trim(), '5001');
  });

  it('asks for input when a program reads the terminal, and sends end-of-file when it cannot ask', async () => {
    const asked = await runCell(engine, 'read -p "Name: " x; echo "got $x"', { answers: ['Ada'] });
    assert.deepEqual(asked.inputRequests, [{ prompt: 'Name: ', password: false }]);
    assert.match(asked.output, /got Ada\n$/);
    const secret = await runCell(engine, 'read -s -p "Password: " pw; echo; echo "len ${#pw}"', { answers: ['hunter2'] });
    assert.equal(secret.inputRequests[0].password, true);
    assert.match(secret.output, /len 7\n$/);
    assert.ok(!secret.output.includes('hunter2'), 'the answer is not echoed');
    const eof = await runCell(engine, 'read x; echo "status $?"');
    assert.match(eof.output, /status 1\n$/);
    assert.match(eof.notices, /got end-of-file/);
    const cat = await runCell(engine, 'cat', { answers: ['one', 'two', null] });
    assert.equal(cat.output, 'one\ntwo\n');
    assert.equal(cat.exitCode, 0);
  });

  it('does not take a program polling other descriptors for one waiting at the terminal (ping), but does one in select() on stdin', async () => {
    // ping waits in poll(2) on its socket between packets, with the terminal as stdin: not ours.
    const ping = await runCell(engine, 'ping -c 3 -i 0.3 127.0.0.1 | grep -c "bytes from"', { answers: ['never asked'] });
    assert.deepEqual(ping.inputRequests, []);
    assert.equal(ping.notices, '');
    assert.equal(ping.output, '3\n');
    // A line editor waits in select/poll on the terminal itself: asked, and answered.
    const py = await runCell(engine, 'python3 -c "import select, sys; select.select([sys.stdin], [], []); print(\'got\', sys.stdin.readline().strip())"', { answers: ['line'] });
    assert.equal(py.inputRequests.length, 1);
    assert.match(py.output, /got line\n$/);
  });

  it('shows rich output a lab program asks for ($NSLAB_DISPLAY), in order; a bad one gives a notice; a flood is capped', async () => {
    const show = (json: string) => `printf '\\033]%s;%s\\007' "$NSLAB_DISPLAY" "$(printf '%s' '${json}' | base64 -w0)"`;
    const ok = await runCell(engine, `echo before; ${show('{"data":{"text/plain":"hi","text/html":"<b>hi</b>"}}')}; echo after`);
    assert.equal(ok.output, 'before\n<display 1>\nafter\n');
    assert.deepEqual(ok.displays, [{ data: { 'text/plain': 'hi', 'text/html': '<b>hi</b>' }, metadata: {} }]);
    const bad = await runCell(engine, `printf '\\033]%s;%s\\007' "$NSLAB_DISPLAY" 'not base64!'; echo still here`);
    assert.deepEqual(bad.displays, []);
    assert.match(bad.notices, /rich output that could not be shown \(not base64\)/);
    assert.equal(bad.output, 'still here\n');
    // Twelve 1 MB pictures: ten are shown (the 10 MB cap of a cell's output), then one notice.
    const flood = await runCell(engine, `big=$(head -c 786432 /dev/zero | base64 -w0); for i in $(seq 12); do printf '\\033]%s;%s\\007' "$NSLAB_DISPLAY" "$(printf '{"data":{"text/plain":"%s"}}' "$big" | base64 -w0)"; done; echo done`);
    assert.equal(flood.displays.length, 10, 'ten 1 MiB displays fill the 10 MB; the rest are dropped');
    assert.equal((flood.notices.match(/rich output passed 10 MB/g) ?? []).length, 1);
    assert.match(flood.output, /done\n$/);
    const after = await runCell(engine, 'echo $((6 * 7))');
    assert.equal(after.output, '42\n');
  });

  it('interrupts a foreground command with ^C, quickly', async () => {
    setTimeout(() => engine.interrupt(1), 300);
    const r = await runCell(engine, 'sleep 100');
    assert.equal(r.outcome, 'interrupted');
    assert.equal(r.exitCode, 130);
    assert.ok(r.ms < 1500, `took ${r.ms} ms`);
  });

  it('kills a PID-1 sleep that ignores ^C, and stays in the nested shell when interrupted there', async () => {
    setTimeout(() => engine.interrupt(1), 300);
    const pid1 = await runCell(engine, 'unshare --pid --fork --mount-proc sleep 100');
    assert.equal(pid1.outcome, 'interrupted');
    assert.equal(pid1.exitCode, 137);
    assert.ok(pid1.ms < 1500, `took ${pid1.ms} ms`);
    await runCell(engine, 'unshare --pid --fork bash');
    setTimeout(() => engine.interrupt(1), 300);
    const nested = await runCell(engine, 'sleep 100');
    assert.equal(nested.outcome, 'interrupted');
    assert.equal((await runCell(engine, 'echo $$')).output, '1\n', 'still in the nested shell');
    await runCell(engine, 'exit');
  });

  it('ends the whole command line when the job it interrupts ignores ^C, as ^C at a terminal does', async () => {
    setTimeout(() => engine.interrupt(1), 300);
    const r = await runCell(engine, 'unset RAN; unshare --pid --fork --mount-proc sleep 100; echo after; RAN=yes');
    assert.equal(r.outcome, 'interrupted');
    assert.equal(r.exitCode, 137, 'the status is the killed job\'s');
    assert.doesNotMatch(r.output, /after/, 'the rest of the line did not run');
    assert.doesNotMatch(r.output, /\n\n$/, 'no empty line from the shell\'s own line break');
    assert.equal((await runCell(engine, 'echo "${RAN:-no}"')).output, 'no\n', 'nothing after the job ran');
    // Nested: the shell that waits is a bash inside a PID namespace of its own.
    await runCell(engine, 'unshare --pid --fork --mount-proc bash');
    setTimeout(() => engine.interrupt(1), 300);
    const nested = await runCell(engine, 'unshare --pid --fork --mount-proc sleep 100; echo after');
    assert.equal(nested.outcome, 'interrupted');
    assert.doesNotMatch(nested.output, /after/);
    assert.equal((await runCell(engine, 'echo $$')).output, '1\n', 'still in the nested shell');
    await runCell(engine, 'exit');
  });

  it('gives a wide terminal, colours and no pager', async () => {
    const r = await runCell(engine, 'tput cols; tput colors; echo "$PAGER"');
    assert.equal(r.output, '200\n256\ncat\n');
    const man = await runCell(engine, 'man ls | head -3 >/dev/null; man ls >/dev/null; echo done');
    assert.equal(man.output, 'done\n');
    const arg = 'an-argument-that-makes-the-line-of-ps-much-longer-than-eighty-columns';
    const ps = await runCell(engine, `sleep 30 ${arg} & ps -ef; kill %1`);
    assert.match(ps.output, new RegExp(`sleep 30 ${arg}\n`), 'ps -ef printing to the terminal does not cut the line');
  });

  it('cleans output: CRLF → LF, progress \\r kept, colours kept, UTF-8 and invalid bytes', async () => {
    const r = await runCell(engine, "printf 'a\\r\\nb\\rc\\n'; printf '\\033[31mred\\033[0m\\n'; printf 'あい\\n'; printf '\\xff\\xfe ok\\n'");
    assert.equal(r.output, 'a\nb\rc\n\x1b[31mred\x1b[0m\nあい\n\ufffd\ufffd ok\n');
  });

  it('caps a flood of output with one notice, keeps memory bounded, and finishes', async () => {
    const rssBefore = process.memoryUsage().rss;
    const r = await runCell(engine, 'yes | head -c 50M; echo "after flood"');
    const rssAfter = process.memoryUsage().rss;
    assert.equal(r.outcome, 'completed');
    assert.equal(r.output.length, 10 * 1024 * 1024, 'output stops at the 10 MB cap');
    assert.equal((r.notices.match(/output passed 10 MB/g) ?? []).length, 1);
    assert.ok(rssAfter - rssBefore < 200 * 1024 * 1024, `RSS grew by ${Math.round((rssAfter - rssBefore) / 1e6)} MB`);
    assert.equal((await runCell(engine, 'echo next')).output, 'next\n');
  });

  it('joins a second terminal to the same lab, with its own state', async () => {
    await runCell(engine, 'Y=one');
    const t2 = await runCell(engine, 'echo "Y=${Y:-unset} host=$(hostname)"; ps -o pid=,ppid= -p $$', { terminal: 2 });
    assert.match(t2.output, /^Y=unset host=lab\n\s*\d+\s+0\n$/, 'terminal 2 is a fresh shell in the lab, parent 0 as with docker exec');
    assert.equal((await runCell(engine, 'echo $Y')).output, 'one\n');
  });

  it('leaves a command running with wait: false; the next cell there shows its output and waits for it', async () => {
    const started = await runCell(engine, 'echo started; sleep 0.5; echo finished', { terminal: 3, run: { wait: false } });
    assert.equal(started.outcome, 'detached');
    assert.equal((await runCell(engine, 'echo meanwhile')).output, 'meanwhile\n', 'terminal 1 is free meanwhile');
    const later = await runCell(engine, 'echo later', { terminal: 3 });
    assert.equal(started.output + later.output, 'started\nfinished\nlater\n');
  });

  it('starts a fresh shell after the outermost one exits, and says so', async () => {
    const gone = await runCell(engine, 'exit 3', { terminal: 2 });
    assert.equal(gone.outcome, 'exited');
    const fresh = await runCell(engine, 'echo again', { terminal: 2 });
    assert.match(fresh.notices, /shell of terminal 2 exited; this cell runs in a fresh shell/);
    assert.equal(fresh.output, 'again\n');

    const before = engine.initPid;
    const lab = await runCell(engine, 'exec true');
    assert.equal(lab.outcome, 'exited');
    const fresh1 = await runCell(engine, 'echo $$');
    assert.match(fresh1.notices, /lab's first shell exited, so the lab ended/);
    assert.equal(fresh1.output, '2\n');
    assert.notEqual(engine.initPid, before, 'a new lab');
  });

  it('ends a cell whose shell is killed from outside with an error outcome; the next cell runs', async () => {
    const killer = setTimeout(() => {
      const bash = engine.processes().find((p) => readComm(p) === 'bash');
      if (bash) process.kill(bash, 'SIGKILL');
    }, 300);
    const r = await runCell(engine, 'sleep 100');
    clearTimeout(killer);
    assert.equal(r.outcome, 'exited');
    assert.equal((await runCell(engine, 'echo alive')).output, 'alive\n');
  });
});

import { readFileSync } from 'node:fs';
function readComm(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

describe('shell engine start-up', function () {
  this.timeout(30000);

  it('starts one lab when the first cell arrives while the lab is still starting', async () => {
    const { ShellEngine } = await import('../../src/shell/engine.js');
    const engine = new ShellEngine({ cwd: '/tmp' });
    const starting = engine.start();
    const r = await runCell(engine, 'echo $$');
    await starting;
    // Every lab is a descendant of this process, also one the engine lost track of.
    const pids = processTree(process.pid).filter((p) => p !== process.pid);
    const inits = pids.filter((p) => readComm(p) === 'tini');
    await engine.shutdown();
    await assertAllGone(pids);
    assert.equal(r.output, '2\n');
    assert.equal(inits.length, 1, 'one lab, not two');
  });
});
