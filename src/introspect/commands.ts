/**
 * What bash makes of a command line: its keywords, builtins and own variables, and which command a
 * word belongs to when commands run other commands (`sudo`, `env`, `unshare --pid --fork`,
 * `nsenter -t 1 -m`, `ip netns exec NAME` …).
 */
import type { CursorContext } from './scanner.js';

export const KEYWORDS = ['if', 'then', 'else', 'elif', 'fi', 'case', 'esac', 'for', 'select', 'while', 'until', 'do', 'done', 'in', 'function', 'time', '{', '}', '!', '[[', ']]', 'coproc'];
export const BUILTINS = [
  '.', ':', '[', 'alias', 'bg', 'bind', 'break', 'builtin', 'caller', 'cd', 'command', 'compgen', 'complete', 'compopt', 'continue', 'declare', 'dirs',
  'disown', 'echo', 'enable', 'eval', 'exec', 'exit', 'export', 'false', 'fc', 'fg', 'getopts', 'hash', 'help', 'history', 'jobs', 'kill', 'let',
  'local', 'logout', 'mapfile', 'popd', 'printf', 'pushd', 'pwd', 'read', 'readarray', 'readonly', 'return', 'set', 'shift', 'shopt', 'source',
  'suspend', 'test', 'times', 'trap', 'true', 'type', 'typeset', 'ulimit', 'umask', 'unalias', 'unset', 'wait',
];
export const BUILTIN_SET = new Set([...KEYWORDS, ...BUILTINS]);
/** Variables every interactive bash has, beside the environment. */
export const SHELL_VARIABLES = [
  'BASH', 'BASHOPTS', 'BASHPID', 'BASH_ALIASES', 'BASH_ARGC', 'BASH_ARGV', 'BASH_ARGV0', 'BASH_CMDS', 'BASH_COMMAND', 'BASH_LINENO', 'BASH_REMATCH',
  'BASH_SOURCE', 'BASH_SUBSHELL', 'BASH_VERSINFO', 'BASH_VERSION', 'COLUMNS', 'COMP_WORDBREAKS', 'DIRSTACK', 'EPOCHREALTIME', 'EPOCHSECONDS', 'EUID',
  'FUNCNAME', 'GROUPS', 'HISTCMD', 'HISTCONTROL', 'HISTFILE', 'HISTFILESIZE', 'HISTSIZE', 'HOSTNAME', 'HOSTTYPE', 'IFS', 'LINENO', 'LINES', 'MACHTYPE',
  'OLDPWD', 'OPTARG', 'OPTERR', 'OPTIND', 'OSTYPE', 'PIPESTATUS', 'PPID', 'PS1', 'PS2', 'PS4', 'PWD', 'RANDOM', 'REPLY', 'SECONDS', 'SHELL',
  'SHELLOPTS', 'SHLVL', 'SRANDOM', 'UID',
];

interface Wrapper {
  /** Options that take the next word as their argument. */
  args?: string[];
  /** Words before the command (chroot NEWROOT, timeout DURATION). */
  positionals?: number;
  /** NAME=VALUE words before the command (env). */
  assignments?: boolean;
}

/** Commands that run another command given in their arguments. */
const WRAPPERS: Record<string, Wrapper> = {
  sudo: { args: ['-u', '-g', '-h', '-p', '-C', '-D', '-R', '-r', '-t', '-T', '-U', '--user', '--group', '--host', '--prompt', '--close-from', '--chdir', '--chroot', '--role', '--type', '--command-timeout', '--other-user'] },
  doas: { args: ['-u', '-C'] },
  env: { args: ['-u', '-C', '-S', '--unset', '--chdir', '--split-string'], assignments: true },
  nohup: {},
  setsid: {},
  exec: { args: ['-a'] },
  command: {},
  builtin: {},
  time: { args: ['-f', '-o', '--format', '--output'] },
  nice: { args: ['-n', '--adjustment'] },
  ionice: { args: ['-c', '-n', '-p', '-P', '-u', '--class', '--classdata', '--pid', '--pgid', '--uid'] },
  chroot: { args: ['--userspec', '--groups'], positionals: 1 },
  timeout: { args: ['-k', '-s', '--kill-after', '--signal'], positionals: 1 },
  taskset: { positionals: 1 },
  chrt: { positionals: 1 },
  stdbuf: { args: ['-i', '-o', '-e', '--input', '--output', '--error'] },
  unshare: {
    args: ['-S', '-G', '-R', '-w', '-l', '--setuid', '--setgid', '--root', '--wd', '--load-interp', '--propagation', '--setgroups', '--monotonic', '--boottime', '--map-user', '--map-group', '--map-users', '--map-groups'],
  },
  nsenter: { args: ['-t', '-S', '-G', '--target', '--setuid', '--setgid', '--env'] },
  setpriv: {
    args: ['--ruid', '--euid', '--reuid', '--rgid', '--egid', '--regid', '--groups', '--inh-caps', '--ambient-caps', '--bounding-set', '--securebits', '--pdeathsig', '--selinux-label', '--apparmor-profile', '--landlock-access', '--landlock-rule'],
  },
  prlimit: { args: ['-p', '--pid'] },
  strace: { args: ['-e', '-o', '-p', '-s', '-u', '-E', '-I', '-a', '-b', '-O', '-P', '-S', '-X'] },
  ltrace: { args: ['-e', '-o', '-p', '-s', '-u', '-a', '-n', '-l'] },
  watch: { args: ['-n', '--interval', '-q', '--equexit'] },
  xargs: { args: ['-a', '-d', '-E', '-I', '-L', '-n', '-P', '-s', '--arg-file', '--delimiter', '--max-lines', '--max-args', '--max-procs', '--max-chars', '--process-slot-var'] },
  flock: { args: ['-w', '-E', '--timeout', '--conflict-exit-code'], positionals: 1 },
  tini: { args: ['-p', '-e'] },
};

function takesArgument(spec: Wrapper, w: string): boolean {
  const args = spec.args ?? [];
  if (w.startsWith('--')) return !w.includes('=') && args.includes(w);
  for (let k = 1; k < w.length; k++) if (args.includes(`-${w[k]}`)) return k === w.length - 1;
  return false;
}

/**
 * Which command the word at `current` belongs to, looking through wrappers (`sudo`, `env`,
 * `unshare --pid --fork`, `nsenter -t 1 -m`, `ip netns exec NAME` …): the index of that command
 * in `argv`, and whether the word at `current` is itself in command position.
 */
export function resolveCommand(argv: (string | null)[], current: number): { index: number; position: 'command' | 'argument' } {
  let ci = 0;
  for (;;) {
    if (current === ci) return { index: ci, position: 'command' };
    const name = (argv[ci] ?? '').replace(/^.*\//, '');
    let j = ci + 1;
    let spec = WRAPPERS[name];
    let positionals = spec?.positionals ?? 0;
    if (!spec && name === 'ip' && argv[ci + 1] === 'netns' && argv[ci + 2] === 'exec') {
      spec = {};
      j = ci + 3;
      positionals = 1;
      if (current < j) return { index: ci, position: 'argument' };
    }
    if (!spec) return { index: ci, position: 'argument' };
    let optionsDone = false;
    while (j < current) {
      const w = argv[j] ?? '';
      if (!optionsDone && w === '--') optionsDone = true;
      else if (!optionsDone && w.startsWith('-') && w !== '-') {
        if (takesArgument(spec, w)) j++;
      } else if (spec.assignments && /^[A-Za-z_]\w*=/.test(w)) {
        /* env NAME=VALUE */
      } else if (positionals > 0) positionals--;
      else break;
      j++;
    }
    if (j > current) return { index: ci, position: 'argument' };
    if (j === current) {
      const w = argv[current] ?? '';
      if ((!optionsDone && w.startsWith('-')) || positionals > 0 || (spec.assignments && w.includes('='))) return { index: ci, position: 'argument' };
      return { index: current, position: 'command' };
    }
    ci = j;
  }
}

/** The command words of the simple command, with the word at the cursor last. */
export function commandLine(ctx: CursorContext, current: { raw: string; value: string | null }): { raws: string[]; argv: (string | null)[] } {
  const ws = ctx.words.filter((w) => w.role === 'command' || w.role === 'argument');
  return { raws: [...ws.map((w) => w.raw), current.raw], argv: [...ws.map((w) => w.value), current.value] };
}

/** A command name that may be looked up (man page, bash-completion, PATH): no path, no quoting. */
export const COMMAND_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.+-]*$/;
