/**
 * What the learner types (issue 22), live in a lab: secrets are masked whenever the program
 * turned the terminal's echo off (whatever its prompt says, however it reads the terminal), a
 * prompt is always the input request's prompt, and an interrupt leaves no empty line.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import type { ShellEngine } from '../../src/shell/engine.js';
import { runCell, shutdownCleanly, startEngine } from '../helpers/engine.js';

const SECRET = 'tr0ub4dor&3-s3cret';

describe('terminal input (live, in a lab)', function () {
  this.timeout(120000);
  let engine: ShellEngine;

  before(async () => {
    engine = await startEngine();
  });
  after(async () => {
    await shutdownCleanly(engine);
  });

  const assertNoSecret = (r: { output: string; notices: string }, what: string) => {
    assert.ok(!r.output.includes(SECRET) && !r.notices.includes(SECRET), `${what}: the answer is not in the output`);
  };

  it('masks `read -s` whatever its prompt: English, Japanese, none', async () => {
    for (const [code, prompt] of [
      ['read -s -p "pw? " p; echo; echo "len ${#p}"', 'pw? '],
      ['read -s -p "秘密の言葉: " p; echo; echo "len ${#p}"', '秘密の言葉: '],
      ['read -s p; echo "len ${#p}"', ''],
    ]) {
      const r = await runCell(engine, code, { answers: [SECRET] });
      assert.deepEqual(r.inputRequests, [{ prompt, password: true }], code);
      assert.match(r.output, new RegExp(`len ${SECRET.length}\\n$`), code);
      assertNoSecret(r, code);
    }
  });

  it('masks a program that reads its secret from /dev/tty (getpass), and glibc getpass(3)', async () => {
    const py = await runCell(engine, `python3 -c 'import getpass; s=getpass.getpass("Key: "); print(len(s))'`, { answers: [SECRET] });
    assert.deepEqual(py.inputRequests, [{ prompt: 'Key: ', password: true }]);
    assert.equal(py.outcome, 'completed');
    assert.match(py.output, new RegExp(`^\\n?${SECRET.length}\\n$`));
    assertNoSecret(py, 'python getpass');
    // glibc's getpass(3) reads stdin when it cannot open /dev/tty; here it opens it, turns echo and ISIG off.
    const libc = await runCell(engine, `python3 -c 'import ctypes; f=ctypes.CDLL(None).getpass; f.restype=ctypes.c_char_p; print(len(f(b"Secret: ")))'`, { answers: [SECRET] });
    assert.deepEqual(libc.inputRequests, [{ prompt: 'Secret: ', password: true }]);
    assert.match(libc.output, new RegExp(`${SECRET.length}\\n$`));
    assertNoSecret(libc, 'glibc getpass');
  });

  it('masks a PAM conversation (stdin, only ECHO cleared, SIGTSTP blocked): su, and one with a prompt that names no password', async () => {
    // Linux-PAM's misc_conv as su and passwd use it: echo off on stdin, ^Z blocked while it reads.
    const pamLike = `python3 -c '
import signal, sys, termios
signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGTSTP])
old = termios.tcgetattr(0); new = old[:]; new[3] &= ~termios.ECHO
termios.tcsetattr(0, termios.TCSAFLUSH, new)
sys.stdout.write("Token: "); sys.stdout.flush()
line = sys.stdin.readline()
termios.tcsetattr(0, termios.TCSAFLUSH, old)
print(); print(len(line.strip()))'`;
    const r = await runCell(engine, pamLike, { answers: [SECRET] });
    assert.deepEqual(r.inputRequests, [{ prompt: 'Token: ', password: true }]);
    assert.match(r.output, new RegExp(`${SECRET.length}\\n$`));
    assertNoSecret(r, 'PAM-like');
    // The real one, as nobody (a wrong password changes nothing): su asks through PAM.
    const su = await runCell(engine, 'setpriv --reuid=65534 --regid=65534 --clear-groups su -c true root', { answers: [SECRET] });
    assert.deepEqual(su.inputRequests, [{ prompt: 'Password: ', password: true }]);
    assert.match(su.output, /su: Authentication failure\n$/);
    assertNoSecret(su, 'su');
  });

  it('gives a getpass program end-of-file without stdin, as `read`, instead of a cell that hangs', async () => {
    const r = await runCell(engine, `python3 -c 'import getpass; s=getpass.getpass("Key: "); print(len(s))'; echo "status $?"`);
    assert.equal(r.outcome, 'completed');
    assert.match(r.notices, /`python3` waited for terminal input, but this frontend cannot send any \(stdin is not enabled\); it got end-of-file/);
    assert.match(r.output, /EOFError[^]*status 1\n$/);
  });

  it('leaves normal reads unmasked: read, read -p, python input()', async () => {
    for (const [code, prompt] of [
      ['read x; echo "got $x"', ''],
      ['read -p "name? " x; echo "got $x"', 'name? '],
      [`python3 -c 'print("got", input("v? "))'`, 'v? '],
    ]) {
      const r = await runCell(engine, code, { answers: ['plain'] });
      assert.deepEqual(r.inputRequests, [{ prompt, password: false }], code);
      assert.match(r.output, /got plain\n$/, code);
    }
  });

  it('puts a `read -p` prompt in the input request every time: 50 runs, then 50 on a loaded machine', async () => {
    const placements = new Map<string, number>();
    const runs = async (label: string) => {
      for (let i = 0; i < 50; i++) {
        const r = await runCell(engine, 'read -p "name? " x; echo "hi $x"', { answers: ['abc'] });
        const seen = `${label}: prompt ${JSON.stringify(r.inputRequests.map((q) => q.prompt))}, output ${JSON.stringify(r.output)}`;
        placements.set(seen, (placements.get(seen) ?? 0) + 1);
      }
    };
    await runs('idle');
    const burners = startBurners(3);
    try {
      await runs('loaded');
    } finally {
      await stopBurners(burners);
    }
    assert.deepEqual([...placements], [
      ['idle: prompt ["name? "], output "hi abc\\n"', 50],
      ['loaded: prompt ["name? "], output "hi abc\\n"', 50],
    ]);
  });

  it('shows an unfinished line that is not a prompt once nothing reads the terminal', async () => {
    const chunks: string[] = [];
    const started = Date.now();
    let shownAt = 0;
    await engine.run(1, "printf 'working... '; sleep 1; echo done", {
      onOutput: (t) => {
        chunks.push(t);
        if (!shownAt) shownAt = Date.now() - started;
      },
      onNotice: () => undefined,
      requestInput: async () => 'never asked',
    });
    assert.equal(chunks.join(''), 'working... done\n');
    assert.equal(chunks[0], 'working... ', 'shown while sleep runs, not with the next line');
    assert.ok(shownAt < 900, `shown after ${shownAt} ms`);
  });

  it('leaves no empty line after interrupting `sleep 100`; output before ^C keeps its line breaks', async () => {
    setTimeout(() => engine.interrupt(1), 300);
    const r = await runCell(engine, 'sleep 100');
    assert.equal(r.outcome, 'interrupted');
    assert.equal(r.output, '');
    setTimeout(() => engine.interrupt(1), 300);
    const lines = await runCell(engine, 'echo one; echo two; sleep 100');
    assert.equal(lines.output, 'one\ntwo\n');
    setTimeout(() => engine.interrupt(1), 300);
    const trapped = await runCell(engine, 'bash -c \'trap "echo caught; exit 3" INT; sleep 100 & wait\'');
    assert.equal(trapped.output, 'caught\n', 'a line break of a program that exits by itself stays');
    assert.equal(trapped.exitCode, 3);
  });
});

/** CPU burners, bounded (30 s at most), started and stopped by PID. */
function startBurners(n: number): ChildProcess[] {
  return Array.from({ length: n }, () => spawn('timeout', ['30', 'sh', '-c', 'while :; do :; done'], { stdio: 'ignore' }));
}

async function stopBurners(burners: ChildProcess[]): Promise<void> {
  await Promise.all(burners.map((b) => new Promise<void>((resolve) => {
    if (b.exitCode !== null || b.signalCode !== null) return resolve();
    b.once('exit', () => resolve());
    b.kill('SIGTERM'); // timeout passes it on to its sh
  })));
}
