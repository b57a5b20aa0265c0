/**
 * src/introspect/: the scanner (what is at the cursor), the pure helpers (option entries
 * from man/--help text, man summaries, quoting, wrappers, the words bash-completion may see),
 * is_complete through `bash -n`, completion and inspection against a temporary directory and a
 * stand-in "terminal shell" (a `sleep` with its own directory and environment, read through
 * /proc/<pid> as the engine's shells are), and hostile text that must never run.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cellOptionLine } from '../../src/introspect/cell-options.js';
import { resolveCommand } from '../../src/introspect/commands.js';
import { complete } from '../../src/introspect/completion.js';
import { completionWords } from '../../src/introspect/bash-completion.js';
import { codePointsFromUnits, unitsFromCodePoints } from '../../src/introspect/cursor.js';
import { manLanguage, manSummary, optionEntries, parseOptionEntries, plainText, setManProgramForTests } from '../../src/introspect/documentation.js';
import { inspect } from '../../src/introspect/inspection.js';
import { checkComplete, classifySyntax } from '../../src/introspect/is-complete.js';
import { scanContext, wordEnd } from '../../src/introspect/scanner.js';
import { cellVariables, expandWord, requote } from '../../src/introspect/words.js';
import { terminalViewOf, type TerminalView } from '../../src/shell/terminal-view.js';

const at = (code: string) => scanContext(code, code.length);
const cp = (s: string) => [...s].length;
const hasMan = spawnSync('man', ['-w', 'unshare'], { encoding: 'utf8' }).status === 0;
const hasBashCompletion = existsSync('/usr/share/bash-completion/completions/unshare');

describe('introspect: cursor positions', function () {
  it('converts code points (Jupyter) to UTF-16 units and back', function () {
    const s = 'a🐧b\nc';
    assert.equal(unitsFromCodePoints(s, 2), 3);
    assert.equal(codePointsFromUnits(s, 3), 2);
    assert.equal(unitsFromCodePoints(s, cp(s)), s.length);
    assert.equal(unitsFromCodePoints('日本語', 2), 2, 'BMP text: the same numbers');
    assert.equal(unitsFromCodePoints('abc', 99), 3);
  });
});

describe('introspect: the scanner', function () {
  const role = (code: string) => at(code).role;

  it('knows command position: at the start, after ; | && || & newline ( $( ` <( and keywords', function () {
    for (const code of ['ec', 'a; ec', 'a | ec', 'a && ec', 'a || ec', 'a & ec', 'a\nec', '(ec', 'x=$(ec', 'x=`ec', 'diff <(ec', 'if ec', 'if a; then ec', 'while a; do ec', '{ ec', '! ec', 'FOO=1 BAR=2 ec', 'case $x in\n  a|b) ec', 'f() { ec', 'function f { ec', 'for ((i=0;i<2;i++)); do ec', 'coproc ec']) {
      assert.equal(role(code), 'command', JSON.stringify(code));
      assert.equal(at(code).start, code.length - 2, JSON.stringify(code));
    }
  });

  it('knows arguments, redirections, assignments, for-lists, conditions, patterns and names', function () {
    assert.equal(role('ls -l'), 'argument');
    assert.deepEqual(at('unshare --pid --f').words.map((w) => [w.raw, w.role]), [['unshare', 'command'], ['--pid', 'argument']]);
    assert.equal(role('ls > fi'), 'redirect');
    assert.equal(role('ls 2>fi'), 'redirect');
    assert.equal(role('cat <<EO'), 'heredoc-delimiter');
    assert.equal(role('X=/us'), 'assignment');
    assert.equal(role('for f in /et'), 'for-list');
    assert.equal(role('for f'), 'name');
    assert.equal(role('[[ -f /et'), 'cond');
    assert.equal(role('case $x in\n  a'), 'pattern');
    assert.equal(role('time ps'), 'argument', 'time is read as a wrapper (resolveCommand)');
  });

  it('knows comments, here-document bodies, ${…} and arithmetic', function () {
    assert.equal(at('echo hi # a com').kind, 'comment');
    assert.equal(at('#| terminal: 2').kind, 'comment');
    assert.equal(at('cat <<EOF\nbody $(x').kind, 'heredoc');
    assert.equal(at('cat <<EOF\nbody\nEOF\nec').role, 'command', 'after the delimiter line');
    assert.equal(at('cat <<-EOF\n\tbody\n\tEOF\nec').role, 'command', '<<- strips tabs');
    assert.equal(at("cat <<'EOF'\n$(x)\nEOF\nec").role, 'command');
    const p = at('echo ${HO');
    assert.deepEqual([p.kind, p.start], ['parameter', 5]);
    const a = at('echo $((1 + HO');
    assert.deepEqual([a.kind, a.start], ['arithmetic', 12]);
  });

  it('follows quotes: state at the cursor, the value so far, expansions make it null', function () {
    assert.deepEqual([at('ls "my fi').quote, at('ls "my fi').prefixValue], ['double', 'my fi']);
    assert.deepEqual([at("ls 'my fi").quote, at("ls 'my fi").prefixValue], ['single', 'my fi']);
    assert.deepEqual([at("ls $'a\\tb").quote, at("ls $'a\\tb").prefixValue], ['ansi', 'a\tb']);
    assert.equal(at('ls my\\ fi').prefixValue, 'my fi');
    assert.equal(at('ls $HOME/x').prefixValue, null);
    assert.equal(at('echo "a b" c').words[1].value, 'a b');
    assert.equal(at('echo "$(echo ")")" x').role, 'argument', 'a ) inside a quoted $( … ) does not end anything');
  });

  it('tracks open compound commands (depth) and a trailing backslash (escape)', function () {
    assert.equal(at('for i in 1; do\n  if a; then\n    ').depth, 2);
    assert.equal(at('for i in 1; do\n  x\ndone\n').depth, 0);
    assert.equal(at('case a in\n  a)\n').depth, 2);
    assert.equal(at('case a in\n  a) x;;\n').depth, 1);
    assert.equal(at('echo $(\n').depth, 1);
    assert.equal(at('echo \\').escape, true);
    assert.equal(at('echo \\\n').escape, true);
    assert.equal(at('echo \\\\').escape, false);
    assert.equal(at('echo # \\').kind, 'comment');
  });

  it('finds where the word at the cursor ends', function () {
    assert.equal(wordEnd('cat alXYZ > x', 6), 9);
    assert.equal(wordEnd('ls "my fi|le" more', 9, 'double'), 13);
    assert.equal(wordEnd('echo a\\ b c', 5), 9);
    assert.equal(wordEnd('x', 1), 1);
  });
});

describe('introspect: pure helpers', function () {
  it('resolveCommand looks through wrappers: sudo, env, unshare, nsenter, chroot, timeout, ip netns exec', function () {
    const r = (s: string) => {
      const argv = s.split(' ');
      return resolveCommand(argv, argv.length - 1);
    };
    assert.deepEqual(r('unshare --pid --fork --mount-proc ba'), { index: 4, position: 'command' });
    assert.deepEqual(r('unshare --pid --fork --mount-proc bash -'), { index: 4, position: 'argument' });
    assert.deepEqual(r('unshare --propagation pri'), { index: 0, position: 'argument' }, 'an option argument');
    assert.deepEqual(r('unshare --pid --mo'), { index: 0, position: 'argument' });
    assert.deepEqual(r('sudo -u root unshare --p'), { index: 3, position: 'argument' });
    assert.deepEqual(r('env A=1 B=2 ps'), { index: 3, position: 'command' });
    assert.deepEqual(r('nsenter -t 1 -m -p ps -e'), { index: 5, position: 'argument' });
    assert.deepEqual(r('chroot /x bash'), { index: 2, position: 'command' });
    assert.deepEqual(r('timeout 5 sleep 1'), { index: 2, position: 'argument' });
    assert.deepEqual(r('ip netns exec red ip a'), { index: 4, position: 'argument' });
    assert.deepEqual(r('sudo -- ls'), { index: 2, position: 'command' });
    assert.deepEqual(r('ls -l'), { index: 0, position: 'argument' });
  });

  it('completionWords hands bash-completion plain words only, and never a path, make or ./configure', function () {
    assert.deepEqual(completionWords(['unshare', '--p']), { words: ['unshare', '--p'], cword: 1, line: 'unshare --p', curOffset: 0 });
    const eq = completionWords(['unshare', '--propagation=pr'])!;
    assert.deepEqual([eq.words, eq.curOffset, eq.line], [['unshare', '--propagation', 'pr'], 14, 'unshare --propagation pr']);
    assert.deepEqual(completionWords(['mount', '-o', 'a=b:c', ''])!.words, ['mount', '-o', 'a', '=', 'b', ':', 'c', '']);
    for (const hostile of ["'$(touch x)", '$(touch x)', '`touch x`', 'a;b', '"x', 'a b', '*', '${x}', '<(x)', 'a\\b', "'"]) {
      assert.equal(completionWords(['cat', hostile]), null, hostile);
      assert.equal(completionWords(['cat', hostile, '-']), null, `${hostile} earlier`);
    }
    assert.equal(completionWords(['./configure', '--']), null);
    assert.equal(completionWords(['make', '-']), null);
    assert.equal(completionWords(['cat', '/etc/pa']), null, 'paths are completed by nslab itself');
    assert.equal(completionWords(['cat', '~/x']), null);
  });

  const HELP = ` unshare [options] [<program> [<argument>...]]

Options:
 -m, --mount[=<file>]      unshare mounts namespace
 -p, --pid[=<file>]        unshare pid namespace
 -f, --fork                fork before launching <program>
 --map-users=<outeruid>,<inneruid>,<count>
                           map count users from outeruid to inneruid (implies --user)
 --mount-proc[=<dir>]      mount proc filesystem first (implies --mount)
 --propagation slave|shared|private|unchanged
                           modify mount propagation in mount namespace
 -S, --setuid <uid>        set uid in entered namespace
`;
  const MAN = `UNSHARE(1)                       User Commands                      UNSHARE(1)

NAME
       unshare - run program in new namespaces

SYNOPSIS
       unshare [options] [program [arguments]]

DESCRIPTION
       The unshare command creates new namespaces (as specified by the
       command-line options described below) and then executes the specified
       program.

       By default, a new namespace persists only as long as it has member
       processes.

OPTIONS
       -f, --fork
           Fork the specified program as a child process of unshare rather
           than running it directly.

       --mount-proc[=mountpoint]
           Just before running the program, mount the proc filesystem at
           mountpoint (default is /proc).

           It also implies creating a new mount namespace.

       -t, --target PID
           Target.

EXAMPLES
       The following command creates a PID namespace, using --fork:

           # unshare --fork --pid --mount-proc readlink /proc/self
           1

util-linux 2.38.1                 2022-08-04                        UNSHARE(1)
`;

  it('parseOptionEntries reads --help and man pages: names, argument, the description with its continuation lines', function () {
    const help = parseOptionEntries(HELP);
    assert.deepEqual(help.map((e) => e.names), [['-m', '--mount'], ['-p', '--pid'], ['-f', '--fork'], ['--map-users'], ['--mount-proc'], ['--propagation'], ['-S', '--setuid']]);
    assert.deepEqual(help.map((e) => e.takesArgument), [false, false, false, true, false, true, true]);
    assert.deepEqual(help[3].lines, ['--map-users=<outeruid>,<inneruid>,<count>', '                          map count users from outeruid to inneruid (implies --user)']);
    const man = parseOptionEntries(MAN);
    assert.deepEqual(man.map((e) => e.names), [['-f', '--fork'], ['--mount-proc'], ['-t', '--target']]);
    const proc = optionEntries(man, '--mount-proc=/x');
    assert.deepEqual(proc[0].lines, [
      '--mount-proc[=mountpoint]',
      '    Just before running the program, mount the proc filesystem at',
      '    mountpoint (default is /proc).',
      '',
      '    It also implies creating a new mount namespace.',
    ]);
    assert.equal(man[2].takesArgument, true);
  });

  it('optionEntries splits a cluster of short options (ps -ef) when it is not an option itself', function () {
    const ps = parseOptionEntries('       -e     Select all processes.\n\n       -f     Do full-format listing.\n\n       -C cmdlist\n              Select by command name.\n');
    assert.deepEqual(optionEntries(ps, '-ef').map((e) => e.names), [['-e'], ['-f']]);
    assert.deepEqual(optionEntries(ps, '-C').map((e) => e.takesArgument), [true]);
    assert.deepEqual(optionEntries(ps, '-ex'), []);
  });

  it('manSummary keeps NAME, SYNOPSIS and the first paragraph of DESCRIPTION (any language)', function () {
    const s = manSummary(MAN);
    assert.match(s, /^unshare - run program in new namespaces\n\nSYNOPSIS\n {2}unshare \[options\]/);
    assert.match(s, /DESCRIPTION\n {2}The unshare command creates new namespaces/);
    assert.doesNotMatch(s, /OPTIONS|--fork/);
    const ja = manSummary('PASSWD(1)   General Commands Manual   PASSWD(1)\n\n名前\n       passwd - ユーザパスワードを変更する\n\n書式\n       passwd [-f|-s] [name]\n\n説明\n       passwd はパスワードを変更する。\n\n   小見出し\n       本文。\n\nオプション\n       -l     ロック\n');
    assert.match(ja, /^passwd - ユーザパスワードを変更する\n\n書式\n {2}passwd \[-f\|-s\] \[name\]\n\n説明\n {2}passwd はパスワードを変更する。/);
  });

  it('plainText removes overstrike and colours; manLanguage picks man -L from the locale', function () {
    assert.equal(plainText('N\bNA\bAM\bME\bE _\bf_\bi_\bl_\be \x1b[1mx\x1b[0m \u2010\u2010pid'), 'NAME file x --pid');
    assert.equal(manLanguage('ja_JP.UTF-8'), 'ja_JP');
    assert.equal(manLanguage('C.UTF-8'), '');
    assert.equal(manLanguage('en_US.UTF-8'), '');
    assert.equal(manLanguage('de_DE'), 'de_DE');
  });

  it('requote and expandWord: names written back as bash reads them, words read as bash would', function () {
    assert.equal(requote('my file.txt', 'none', true), 'my\\ file.txt');
    assert.equal(requote('a$b`c"d', 'double', true), 'a\\$b\\`c\\"d"');
    assert.equal(requote("it's", 'single', true), "it'\\''s'");
    assert.equal(requote('~x=y', 'none', true), '\\~x=y');
    const vars = new Map<string, string | null>([['HOME', '/home/u'], ['D', '/etc']]);
    assert.deepEqual(expandWord('"$D/my f', vars, '/home/u'), { value: '/etc/my f', quote: 'double' });
    assert.deepEqual(expandWord('~/x', vars, '/home/u'), { value: '/home/u/x', quote: 'none' });
    assert.deepEqual(expandWord("'a b'c\\ d", vars), { value: 'a bc d', quote: 'none' });
    assert.equal(expandWord('$(touch x)/', vars), null);
    assert.equal(expandWord('$UNKNOWN/', vars), null);
  });

  it('cellVariables and cellOptionLine read the cell, not the shell', function () {
    const v = cellVariables('A=1\nexport B="two"\nfor C in x; do read -r D E; done\nF=$(date)');
    assert.deepEqual([...v.keys()].sort(), ['A', 'B', 'C', 'D', 'E', 'F']);
    assert.equal(v.get('B'), 'two');
    assert.equal(v.get('F'), null, 'not a literal value');
    assert.equal(cellVariables('D=beta\\ dir; x').get('D'), 'beta dir');
    assert.deepEqual(cellOptionLine('#| wait: false\n#| timeout: 3\necho', 20), { name: 'timeout', nameStart: 18 });
    assert.equal(cellOptionLine('echo\n#| timeout: 3', 10), null, 'only the leading lines are options');
  });

  it('classifySyntax: bash -n messages and the scanner make the is_complete status', function () {
    assert.deepEqual(classifySyntax('for i in 1; do', 2, "bash: line 2: syntax error: unexpected end of file"), { status: 'incomplete', indent: '  ' });
    assert.deepEqual(classifySyntax('echo "a', 2, "unexpected EOF while looking for matching `\"'"), { status: 'incomplete', indent: '' });
    assert.deepEqual(classifySyntax('cat <<EOF\nx', 0, 'warning: here-document at line 1 delimited by end-of-file'), { status: 'incomplete', indent: '' });
    assert.deepEqual(classifySyntax('echo \\', 0, ''), { status: 'incomplete', indent: '  ' });
    assert.deepEqual(classifySyntax('fi', 2, "syntax error near unexpected token `fi'"), { status: 'invalid' });
    assert.deepEqual(classifySyntax('echo', null, ''), { status: 'unknown' });
  });
});

describe('introspect: is_complete through bash -n', function () {
  it('classifies complete, incomplete (with indent) and invalid cells', async function () {
    const samples: [string, string, string?][] = [
      ['echo hi', 'complete'],
      ['', 'complete'],
      ['for i in 1; do', 'incomplete', '  '],
      ['for i in 1; do\n  for j in 2; do', 'incomplete', '    '],
      ['for i in 1; do\n  echo\ndone', 'complete'],
      ['if true; then', 'incomplete', '  '],
      ['if true; then\n  a\nelse', 'incomplete', '  '],
      ['while true', 'incomplete', ''],
      ['case a in', 'incomplete', '  '],
      ['case a in\n  a)', 'incomplete', '    '],
      ['f() {', 'incomplete', '  '],
      ['{', 'incomplete', '  '],
      ['cat <<EOF\nline', 'incomplete', ''],
      ['cat <<EOF\nline\nEOF', 'complete'],
      ['echo \\', 'incomplete', '  '],
      ['echo \\\\', 'complete'],
      ['echo hi # \\', 'complete'],
      ["echo 'a\\'", 'complete'],
      ['echo "abc', 'incomplete', ''],
      ["echo 'abc", 'incomplete', ''],
      ['echo $(ls', 'incomplete'],
      ['echo `ls', 'incomplete'],
      ['a |', 'incomplete', '  '],
      ['a &&', 'incomplete', '  '],
      ['x=(', 'incomplete'],
      ['ls !(foo)', 'complete'],
      ['#| terminal: 2\necho ok', 'complete'],
      ['#| terminal: 2\nfor x in 1; do', 'incomplete', '  '],
      ['fi', 'invalid'],
      ['done', 'invalid'],
      [')', 'invalid'],
      ['echo (', 'invalid'],
      ['[[ a ==', 'invalid'],
    ];
    const results = await Promise.all(samples.map(([code]) => checkComplete(code)));
    samples.forEach(([code, status, indent], k) => {
      assert.equal(results[k].status, status, JSON.stringify(code));
      if (indent !== undefined) assert.equal((results[k] as { indent: string }).indent, indent, `indent after ${JSON.stringify(code)}`);
    });
  });
});

describe('introspect: completion and inspection from a terminal\'s point of view', function () {
  let dir = '';
  let shell: ChildProcess | null = null;
  let where: TerminalView;

  before(async function () {
    dir = mkdtempSync(join(tmpdir(), 'nslab-introspect-'));
    for (const f of ['alpha-one.txt', 'alpha-two.txt', 'my file.txt', '.hidden', '🐧.txt', 'run.sh']) writeFileSync(join(dir, f), '');
    spawnSync('chmod', ['+x', join(dir, 'run.sh')]);
    mkdirSync(join(dir, 'beta dir'));
    writeFileSync(join(dir, 'beta dir', 'inner.txt'), '');
    // A stand-in for the terminal's shell: its own directory and environment, read via /proc.
    shell = spawn('sleep', ['60'], { cwd: dir, env: { PATH: '/usr/bin:/bin', HOME: dir, NSLAB_UNIT_VAR: 'x', LANG: 'C.UTF-8' }, stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 50));
    where = terminalViewOf(shell.pid!);
  });

  after(function () {
    if (shell?.pid) process.kill(shell.pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  const names = async (code: string, cursor = cp(code)) => (await complete(code, cursor, where)).matches;

  it('files relative to the terminal\'s directory, quoted as bash needs, hidden ones only after a dot', async function () {
    assert.deepEqual(await names('cat al'), ['alpha-one.txt', 'alpha-two.txt']);
    assert.deepEqual(await names('cat my'), ['my\\ file.txt']);
    assert.deepEqual(await names('cat "my'), ['"my file.txt"']);
    assert.deepEqual(await names("cat 'my"), ["'my file.txt'"]);
    assert.deepEqual(await names('cat be'), ['beta\\ dir/']);
    assert.deepEqual(await names('cat beta\\ dir/in'), ['beta\\ dir/inner.txt']);
    assert.deepEqual(await names('cat "beta dir/in'), ['"beta dir/inner.txt"']);
    assert.deepEqual(await names('cat .hid'), ['.hidden']);
    assert.ok(!(await names('cat ')).includes('.hidden'));
    assert.deepEqual(await names('cat ~/al'), ['~/alpha-one.txt', '~/alpha-two.txt'], 'the terminal\'s HOME');
    assert.deepEqual(await names('D=beta\\ dir; cat $D/in'), ['$D/inner.txt'], 'a variable set in the cell');
    assert.deepEqual(await names('cat > al'), ['alpha-one.txt', 'alpha-two.txt']);
    assert.deepEqual(await names('./ru'), ['./run.sh'], 'a command given by path: executables and directories');
    assert.deepEqual(await names('cat /etc/host'), ['/etc/host.conf', '/etc/hostname', '/etc/hosts'].filter((f) => existsSync(f)));
  });

  it('ranges: the word around the cursor is replaced, in code points', async function () {
    const r = await complete('echo 🐧 x; cat alXY', cp('echo 🐧 x; cat al'), where);
    assert.deepEqual(r, { matches: ['alpha-one.txt', 'alpha-two.txt'], start: cp('echo 🐧 x; cat '), end: cp('echo 🐧 x; cat alXY') });
    assert.deepEqual(await complete('cat 🐧', 5, where), { matches: ['🐧.txt'], start: 4, end: 5 });
    const mid = await complete('echo 1\ncat alpha-o\necho 3', cp('echo 1\ncat alpha-o'), where);
    assert.deepEqual(mid, { matches: ['alpha-one.txt'], start: 11, end: 18 });
  });

  it('commands, variables of the terminal and of the cell, cell options', async function () {
    assert.ok((await names('ech')).includes('echo'));
    assert.ok((await names('unsha')).includes('unshare'));
    assert.ok((await names('ls; if tru')).includes('true'));
    assert.deepEqual(await names('echo $NSLAB_UNIT'), ['$NSLAB_UNIT_VAR'], 'the terminal\'s environment (/proc/<pid>/environ)');
    assert.ok(!(await names('echo $PWD')).includes('$PWDX'));
    assert.deepEqual(await names('echo ${NSLAB_UNIT'), ['${NSLAB_UNIT_VAR}']);
    assert.deepEqual(await complete('echo ${NSLAB_UNIT}', 17, where), { matches: ['${NSLAB_UNIT_VAR}'], start: 5, end: 18 });
    assert.deepEqual(await names('MY_VAR=1; echo "$MY_V'), ['$MY_VAR']);
    assert.deepEqual(await names("echo '$NSLAB_UNIT"), []);
    assert.deepEqual(await names('echo \\$NSLAB_UNIT'), []);
    assert.deepEqual(await names('#| ti'), ['timeout: ']);
    assert.deepEqual(await names('echo # al'), [], 'nothing in a comment');
    assert.deepEqual(await names('cat <<EOF\nal'), [], 'nothing in a here-document');
  });

  it('options from bash-completion or the man page, option arguments, commands after wrappers', async function () {
    if (!hasMan && !hasBashCompletion) this.skip();
    const un = await names('unshare --p');
    assert.ok(un.includes('--pid') && un.includes('--propagation'), JSON.stringify(un));
    assert.ok((await names('ps -e')).includes('-e'));
    assert.ok((await names('unshare --pid --fork --mount-proc ba')).includes('bash'));
    if (hasBashCompletion) {
      assert.deepEqual(await names('unshare --propagation pri'), ['private']);
      assert.deepEqual(await complete('unshare --propagation=pri', 25, where), { matches: ['private'], start: 22, end: 25 });
      assert.deepEqual(await names('sudo unshare --propagation pri'), ['private']);
    }
  });

  it('inspects builtins, commands (man summary), options (their own lines), variables and cell options', async function () {
    assert.match((await inspect('cd /tmp', 1, where))!, /^cd: cd /);
    assert.match((await inspect('for x in 1; do :; done', 2, where))!, /^for: for NAME/);
    assert.match((await inspect('echo $NSLAB_UNIT_VAR', 8, where))!, /^NSLAB_UNIT_VAR=x/);
    assert.match((await inspect('#| terminal: 2\nls', 3, where))!, /terminal: N/);
    assert.equal(await inspect('nslab_no_such_command_xyz', 3, where), null);
    if (!hasMan) this.skip();
    const line = 'unshare --pid --fork --mount-proc bash';
    const opt = (await inspect(line, line.indexOf('--mount-proc') + 3, where))!;
    assert.match(opt, /^unshare --mount-proc\n\n--mount-proc/);
    assert.ok(opt.split('\n').length > 4, opt);
    assert.doesNotMatch(opt, /--fork\n/);
    assert.doesNotMatch(opt, /[\x08\x1b\t]/);
    assert.match((await inspect(line, 2, where))!, /^unshare - run program in new namespaces/);
    assert.match((await inspect('unshare --propagation private', 25, where))!, /^unshare --propagation\n/, 'an option argument: its option');
    assert.match((await inspect('unshare ', 8, where))!, /^unshare - /, 'between words: the command');
    assert.match((await inspect('ps -ef', 4, where))!, /^ps -ef\n\n-e .*\n[\s\S]*\n-f /);
  });

  it('inspects in the terminal\'s language: Japanese man pages when installed and LANG asks for them', async function () {
    const page = spawnSync('man', ['-w', '-L', 'ja', 'passwd'], { encoding: 'utf8' }).stdout ?? '';
    if (!page.includes('/ja')) this.skip();
    const ja = spawn('sleep', ['30'], { cwd: dir, env: { PATH: '/usr/bin:/bin', LANG: 'ja_JP.UTF-8' }, stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 50));
      const text = (await inspect('passwd', 3, terminalViewOf(ja.pid!)))!;
      assert.match(text, /^passwd - ユーザ/);
      assert.match(text, /\n書式\n/);
      assert.match((await inspect('passwd', 3, where))!, /^passwd - change user password/, 'the same command in C.UTF-8');
    } finally {
      process.kill(ja.pid!, 'SIGKILL');
    }
  });

  it('without man pages (minimised images): options and help from --help of well-known tools', async function () {
    setManProgramForTests(null);
    try {
      assert.ok((await names('ps -e')).includes('-e'), 'ps --help all');
      const opt = (await inspect('unshare --mount-proc', 12, where))!;
      assert.match(opt, /^unshare --mount-proc\n\n--mount-proc\[=<dir>\] +mount proc filesystem first/);
      assert.match(opt, /\(unshare --help\)$/);
      assert.match((await inspect('unshare', 2, where))!, /Usage:[\s\S]*unshare --help/);
      assert.equal(await inspect('nslab_no_such_command_xyz --x', 28, where), null);
    } finally {
      setManProgramForTests(undefined);
    }
  });

  it('answers quickly once warm (median of repeated requests well under 200 ms)', async function () {
    const cases: [string, number?][] = [['cat al'], ['unshare --p'], ['ech'], ['echo $HO'], ['ls /etc/pas'], ['ps -e']];
    for (const [code] of cases) await complete(code, cp(code), where);
    const times: number[] = [];
    for (let k = 0; k < 3; k++) {
      for (const [code] of cases) {
        const t0 = performance.now();
        await complete(code, cp(code), where);
        times.push(performance.now() - t0);
      }
    }
    times.sort((a, b) => a - b);
    const median = times[Math.floor(times.length / 2)];
    assert.ok(median < 200, `median ${median.toFixed(1)} ms`);
  });
});

describe('introspect: hostile text is never run', function () {
  const MARK = join(tmpdir(), `nslab-unit-hostile-${process.pid}`);
  const hostile = [
    `echo $(touch ${MARK}-a)`,
    `ls \`touch ${MARK}-b\``,
    `cat ;reboot`,
    `diff <(touch ${MARK}-c) x`,
    `echo \${x:=$(touch ${MARK}-d)}`,
    `cat '$(touch ${MARK}-e)`,
    `ls --color='$(touch ${MARK}-f)`,
    `kill '$(touch ${MARK}-g)`,
    `unshare --propagation $(touch ${MARK}-h)`,
    `mount -t $'\\x27$(touch ${MARK}-i)'`,
    `$(touch ${MARK}-j) --`,
    `sudo '$(touch ${MARK}-k)' -`,
    `env X='$(touch ${MARK}-l)' ls -`,
    `cat <<EOF\n$(touch ${MARK}-m)\nEOF`,
    `echo \${HO$(touch ${MARK}-n)`,
    `ls ~'$(touch ${MARK}-o)'/`,
  ];

  it('complete, inspect and is_complete at every cursor position: no marker file appears', async function () {
    this.timeout(60_000);
    for (const code of hostile) {
      const jobs: Promise<unknown>[] = [checkComplete(code)];
      for (let k = 0; k <= cp(code); k++) jobs.push(complete(code, k), inspect(code, k));
      await Promise.all(jobs);
    }
    const traces = readdirSync(tmpdir()).filter((f) => f.startsWith(`nslab-unit-hostile-${process.pid}`));
    for (const f of traces) rmSync(join(tmpdir(), f), { force: true });
    assert.deepEqual(traces, []);
  });
});
