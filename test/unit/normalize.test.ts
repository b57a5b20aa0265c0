import assert from 'node:assert/strict';
import { comparableOutputs, normalizeText, parsePsHeader, SMALL_PID_MAX, unifiedDiff } from '../../src/cli/normalize.js';

describe('normalize: what may differ between runs', () => {
  describe('ps tables', () => {
    it('keeps the namespace\'s small PIDs and replaces what ps measures', () => {
      const a = [
        'UID          PID    PPID  C STIME TTY          TIME CMD',
        'root           1       0  0 03:49 pts/0    00:00:00 tini -- bash',
        'root           2       1  0 03:49 pts/0    00:00:00 bash',
        'root           3       2  6 03:49 pts/0    00:00:01 ps -ef',
      ].join('\n');
      const b = [
        'UID          PID    PPID  C STIME TTY          TIME CMD',
        'root           1       0  0 Nov29 pts/7    00:00:00 tini -- bash',
        'root           2       1  0 23:59 pts/7    00:00:00 bash',
        'root           3       2  0 23:59 pts/7    00:00:00 ps -ef',
      ].join('\n');
      assert.equal(normalizeText(a), normalizeText(b));
      assert.equal(normalizeText(a).split('\n')[1], 'root 1 0 <c> <stime> pts/<n> <time> tini -- bash');
    });

    it('still tells the namespace\'s own PIDs apart', () => {
      const a = 'UID PID PPID C STIME TTY TIME CMD\nroot 1 0 0 03:49 pts/0 00:00:00 bash\nroot 4 1 0 03:49 pts/0 00:00:00 ps -ef';
      const b = 'UID PID PPID C STIME TTY TIME CMD\nroot 1 0 0 03:49 pts/0 00:00:00 bash\nroot 5 1 0 03:49 pts/0 00:00:00 ps -ef';
      assert.notEqual(normalizeText(a), normalizeText(b));
    });

    it('replaces PIDs above the bound in PID and PPID columns, and only there', () => {
      const a = 'UID PID PPID C STIME TTY TIME CMD\nroot 12345 4242 0 03:49 ? 00:00:00 sleep 1000';
      assert.equal(normalizeText(a).split('\n')[1], 'root <pid> <pid> <c> <stime> ? <time> sleep 1000');
      // The number in the command line is not a PID.
      assert.match(normalizeText(a), /sleep 1000$/);
      assert.equal(normalizeText('  PID TTY          TIME CMD\n  100 pts/1    00:00:00 bash'), 'PID TTY TIME CMD\n<pid> pts/<n> <time> bash');
      assert.equal(normalizeText(`PID CMD\n${SMALL_PID_MAX} a\n${SMALL_PID_MAX + 1} b`), `PID CMD\n${SMALL_PID_MAX} a\n<pid> b`);
      assert.equal(normalizeText('PID CMD\n150 a', { smallPidMax: 1000 }), 'PID CMD\n150 a');
    });

    it('reads the default ps and ps aux layouts', () => {
      const t = '  PID TTY          TIME CMD\n    1 pts/0    00:00:00 bash\n    6 pts/0    00:00:00 ps';
      assert.equal(normalizeText(t), 'PID TTY TIME CMD\n1 pts/<n> <time> bash\n6 pts/<n> <time> ps');
      const aux = 'USER         PID %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND\n'
        + 'root           1  0.0  0.0   2480   520 pts/0    Ss   03:49   0:00 tini -- bash';
      assert.equal(normalizeText(aux).split('\n')[1], 'root 1 <cpu> <mem> <vsz> <rss> pts/<n> Ss <stime> <time> tini -- bash');
    });

    it('ends the table at the first line that is not a row', () => {
      const t = 'PID CMD\n1 bash\n\n  12:00   spaced   text';
      assert.equal(normalizeText(t), 'PID CMD\n1 bash\n\n  <time>   spaced   text');
      assert.equal(normalizeText('PID TTY TIME CMD\nError, do this: mount -t proc proc /proc'), 'PID TTY TIME CMD\nError, do this: mount -t proc proc /proc');
    });

    it('does not take ordinary upper-case lines for ps headers', () => {
      assert.equal(parsePsHeader('HELLO WORLD'), null);
      assert.equal(parsePsHeader('PID'), null);
      assert.equal(parsePsHeader('The PID is 3'), null);
      assert.deepEqual(parsePsHeader('  PID TTY TIME CMD'), { columns: ['PID', 'TTY', 'TIME', 'CMD'], commandLast: true });
    });
  });

  describe('PIDs in messages', () => {
    it('kill messages of bash and procps', () => {
      assert.equal(normalizeText('bash: kill: (12345) - No such process'), 'bash: kill: (<pid>) - No such process');
      assert.equal(normalizeText('/bin/kill: (4321): No such process'), '/bin/kill: (<pid>): No such process');
      assert.equal(normalizeText('bash: kill: (10) - No such process'), 'bash: kill: (10) - No such process');
    });

    it('job lines', () => {
      assert.equal(normalizeText('[1] 12345'), '[1] <pid>');
      assert.equal(normalizeText('[2] 12345 12346'), '[2] <pid> <pid>');
      assert.equal(normalizeText('[1] 7'), '[1] 7');
      assert.equal(normalizeText('[1]+  Terminated              sleep 1000'), '[1]+  Terminated              sleep 1000');
      assert.equal(normalizeText('bash: line 3:  4567 Terminated              sleep 1000'), 'bash: line 3:  <pid> Terminated              sleep 1000');
    });

    it('pid N forms', () => {
      assert.equal(normalizeText('started pid 4242, PID: 777, pid=123'), 'started pid <pid>, PID: <pid>, pid=<pid>');
      assert.equal(normalizeText('pid 2'), 'pid 2');
    });

    it('leaves other numbers alone', () => {
      assert.equal(normalizeText('12345\nsleep 1000\nexit 47'), '12345\nsleep 1000\nexit 47');
    });
  });

  describe('times and dates', () => {
    it('clock times', () => {
      assert.equal(normalizeText('at 03:49 and 23:59:01 and 12:00:00.123'), 'at <time> and <time> and <time>');
      assert.equal(normalizeText('fe80::1:2:3 and 1:2:3:4'), 'fe80::1:2:3 and 1:2:3:4');
    });

    it('dates in date(1)\'s forms, ISO and Japanese', () => {
      assert.equal(normalizeText('Sun Nov 29 12:34:56 UTC 2026'), '<datetime>');
      assert.equal(normalizeText('2026-11-29T12:34:56Z'), '<datetime>');
      assert.equal(normalizeText('2026年 11月 29日 日曜日 12:34:56 UTC'), '<datetime>');
      assert.equal(normalizeText('started 2026-11-29 at 10:00'), 'started <date> at <time>');
    });
  });

  describe('measurements of ping and random IPC keys', () => {
    it('ping round-trip times, but not its counts', () => {
      const run = [
        '64 bytes from 10.0.0.2: icmp_seq=1 ttl=64 time=0.045 ms',
        '2 packets transmitted, 2 received, 0% packet loss, time 1001ms',
        'rtt min/avg/max/mdev = 0.031/0.040/0.050/0.009 ms',
      ].join('\n');
      assert.equal(normalizeText(run), [
        '64 bytes from 10.0.0.2: icmp_seq=1 ttl=64 time=<ms> ms',
        '2 packets transmitted, 2 received, 0% packet loss, time <ms>ms',
        'rtt min/avg/max/mdev = <ms> ms',
      ].join('\n'));
      assert.equal(normalizeText('2 packets transmitted, 1 received, 50% packet loss, time 1001ms'),
        '2 packets transmitted, 1 received, 50% packet loss, time <ms>ms');
    });

    it('ipcs keys, but not ids, owners or modes', () => {
      assert.equal(normalizeText('0x1c4a7d35 0          root       644        0            0'),
        '<ipc-key> 0          root       644        0            0');
      assert.equal(normalizeText('Key: 0xdeadbeef'), 'Key: <ipc-key>');
      assert.equal(normalizeText('Message queue id: 0'), 'Message queue id: 0');
      assert.equal(normalizeText('0x00000000 is a mask'), '0x00000000 is a mask');
    });
  });

  describe('comparableOutputs', () => {
    it('joins stream chunks, however the kernel split them', () => {
      const one = comparableOutputs([{ output_type: 'stream', name: 'stdout', text: 'a\nb\n' }]);
      const two = comparableOutputs([
        { output_type: 'stream', name: 'stdout', text: ['a\n', 'b'] },
        { output_type: 'stream', name: 'stdout', text: '\n' },
      ]);
      assert.equal(one, two);
      assert.equal(one, '[stdout]\na\nb\n');
    });

    it('keeps streams, errors and rich outputs apart', () => {
      const t = comparableOutputs([
        { output_type: 'stream', name: 'stdout', text: 'x\n' },
        { output_type: 'stream', name: 'stderr', text: 'y\n' },
        { output_type: 'error', ename: 'ExitStatus', evalue: 'exit status 1', traceback: ['\u001b[31mnoise'] },
        { output_type: 'display_data', data: { 'text/plain': 'pid 5000', 'image/png': 'AAAA' } },
      ]);
      assert.equal(t, '[stdout]\nx\n\n[stderr]\ny\n\n[error] ExitStatus: exit status 1\n[display_data] image/png text/plain\n[text/plain]\npid <pid>');
    });

    it('an error that appears or vanishes is a difference', () => {
      assert.notEqual(comparableOutputs([]), comparableOutputs([{ output_type: 'error', ename: 'ExitStatus', evalue: '1' }]));
    });
  });

  describe('unifiedDiff', () => {
    it('is empty for equal texts', () => {
      assert.equal(unifiedDiff('a\nb', 'a\nb', { a: 'x', b: 'y' }), '');
    });

    it('shows removed lines before added ones, with context', () => {
      const d = unifiedDiff('1\n2\n3\n4\n5\n6\n7\n8', '1\n2\n3\n4\nfive\n6\n7\n8', { a: 'committed', b: 'run 1' }, 2);
      assert.equal(d, '--- committed\n+++ run 1\n@@ -3,5 +3,5 @@\n 3\n 4\n-5\n+five\n 6\n 7\n');
    });

    it('splits far-apart changes into hunks and handles insertions at the start', () => {
      const a = Array.from({ length: 20 }, (_, i) => String(i)).join('\n');
      const b = ['new', ...Array.from({ length: 20 }, (_, i) => (i === 15 ? 'X' : String(i)))].join('\n');
      const d = unifiedDiff(a, b, { a: 'a', b: 'b' }, 1);
      assert.equal(d, '--- a\n+++ b\n@@ -1,1 +1,2 @@\n+new\n 0\n@@ -15,3 +16,3 @@\n 14\n-15\n+X\n 16\n');
    });
  });
});
