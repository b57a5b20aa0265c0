/**
 * bash-completion, asked from outside: a command's completion function runs in a separate, fresh,
 * non-interactive bash that gets the words as data, and only words that nothing in it can expand.
 */
import { existsSync } from 'node:fs';
import { BASH } from './documentation.js';
import { hostPath, type TerminalView } from './terminal-view.js';
import { SYSTEM_PATH, runProcess } from '../common/processes.js';
import { COMMAND_NAME } from './commands.js';

const PLAIN = /^[A-Za-z0-9_@%+=:,./~-]*$/;
/** Commands whose bash-completion runs project files (Makefiles, ./configure …): never used. */
// Their completion functions run project files (Makefiles, configure) or a program a repository
// configures (git runs core.fsmonitor from .git/config), or expand command output as code
// (`ip netns exec` feeds namespace names to compgen -W).
const DENIED_COMPLETIONS = new Set(['make', 'gmake', 'gnumake', 'pmake', 'colormake', 'bmake', 'configure', 'git', 'ip']);

/**
 * COMP_WORDS for bash-completion, or null when the words may not be handed to it: every word
 * must be plain (no quotes, `$`, backquotes, globs, spaces — so nothing a completion function
 * does with it can expand), the command a bare name, and the current word not a path.
 */
export function completionWords(raws: string[]): { words: string[]; cword: number; line: string; curOffset: number } | null {
  if (!raws.length || !COMMAND_NAME.test(raws[0]) || DENIED_COMPLETIONS.has(raws[0])) return null;
  if (!raws.every((w) => PLAIN.test(w))) return null;
  const cur = raws[raws.length - 1];
  if (cur.includes('/') || cur.startsWith('~')) return null;
  const words: string[] = [raws[0]];
  const line: string[] = [raws[0]];
  let curOffset = 0;
  raws.slice(1).forEach((w, k) => {
    if (k === raws.length - 2) {
      // What the replies replace: the text after the last break character, as readline does.
      const value = w.split(/[=:]/).pop()!;
      curOffset = w.length - value.length;
      // `--opt=val` is handed over as `--opt val`, so that functions which only look at the
      // previous word (most util-linux ones) complete the option's argument.
      const opt = /^(--?[A-Za-z0-9][\w-]*)=/.exec(w);
      if (opt && opt[0].length === curOffset) {
        words.push(opt[1], value);
        line.push(opt[1], value);
        return;
      }
    }
    // bash splits COMP_WORDS at the COMP_WORDBREAKS characters = and :
    const parts = w.split(/([=:]+)/).filter((p) => p !== '');
    words.push(...(parts.length ? parts : ['']));
    line.push(w);
  });
  return { words, cword: words.length - 1, line: line.join(' '), curOffset };
}

const BASH_COMPLETION = '/usr/share/bash-completion/bash_completion';

/**
 * Runs a command's bash-completion function in a fresh, non-interactive bash. Arguments (all
 * data): $1 command name, $2 COMP_CWORD, $3 the /proc of the terminal's shell, $4 COMP_LINE,
 * then the words. The environment is fixed (no BASH_ENV, no user completion files, a system
 * PATH); the current directory is the terminal's. Replaced before the function runs:
 *   - _command_offset (used by sudo, xargs, watch … to complete *another* command's words):
 *     answers nothing, so a completion can only be the one chosen here;
 *   - _pids, _pgids, _pnames: read the terminal's /proc, so `kill <Tab>` offers the lab's PIDs;
 *   - compopt: records the options (filenames, default …) instead of failing outside readline.
 * Functions that run project files (make, configure) are refused.
 */
const BASH_COMPLETION_HELPER = String.raw`
nslab_cmd=$1 nslab_cword=$2 nslab_proc=$3 COMP_LINE=$4
shift 4
COMP_WORDS=("$@") COMP_CWORD=$nslab_cword COMP_POINT=${'$'}{#COMP_LINE} COMP_TYPE=9 COMP_KEY=9
. /usr/share/bash-completion/bash_completion >/dev/null 2>&1 </dev/null || exit 3
_command_offset() { COMPREPLY=(); return 0; }
_pids() {
  local p; COMPREPLY=()
  for p in "$nslab_proc"/[0-9]*; do p=${'$'}{p##*/}; [[ $p == "$cur"* ]] && COMPREPLY+=("$p"); done
}
_pgids() {
  local p s; local -A seen; COMPREPLY=()
  for p in "$nslab_proc"/[0-9]*/stat; do
    read -r s <"$p" 2>/dev/null || continue; s=${'$'}{s##*) }; s=${'$'}{s#* * }; s=${'$'}{s%% *}
    [[ $s == "$cur"* && -z ${'$'}{seen[$s]} ]] && seen[$s]=1 && COMPREPLY+=("$s")
  done
}
_pnames() {
  local p s; local -A seen; COMPREPLY=()
  for p in "$nslab_proc"/[0-9]*/comm; do
    read -r s <"$p" 2>/dev/null || continue
    [[ $s == "$cur"* && -z ${'$'}{seen[$s]} ]] && seen[$s]=1 && COMPREPLY+=("$s")
  done
}
nslab_flags=
compopt() { local a; for a in "$@"; do nslab_flags+=" $a"; done; return 0; }
set -f
nslab_spec=$(complete -p -- "$nslab_cmd" 2>/dev/null) || { __load_completion "$nslab_cmd" >/dev/null 2>&1 </dev/null; nslab_spec=$(complete -p -- "$nslab_cmd" 2>/dev/null); } || exit 4
[[ $nslab_spec =~ \ -F\ ([^ ]+) ]] || exit 4
nslab_fn=${'$'}{BASH_REMATCH[1]}
case $nslab_fn in _make|_configure|_command|_root_command) exit 5 ;; esac
for nslab_w in $nslab_spec; do case $nslab_w in default|bashdefault|dirnames|filenames|plusdirs) nslab_flags+=" $nslab_w" ;; esac; done
set +f
"$nslab_fn" "$nslab_cmd" "${'$'}{COMP_WORDS[COMP_CWORD]}" "${'$'}{COMP_WORDS[COMP_CWORD-1]}" </dev/null >/dev/null 2>&1
nslab_status=$?
printf '%s\0' "$nslab_status $nslab_flags" "${'$'}{COMPREPLY[@]}"
`;

export interface BashCompletionResult {
  replies: string[];
  filenames: boolean;
  /** No completion for this command, or it asks for bash's default (files). */
  fallback: boolean;
}

export async function completeWithBashCompletion(view: TerminalView, command: string, w: { words: string[]; cword: number; line: string }): Promise<BashCompletionResult | null> {
  if (!existsSync(BASH_COMPLETION)) return null;
  const proc = `${view.root}/proc`;
  const home = view.env.get('HOME');
  const r = await runProcess(BASH, ['--norc', '--noprofile', '-c', BASH_COMPLETION_HELPER, 'nslab-complete', command, String(w.cword), proc, w.line, ...w.words], {
    cwd: view.cwd,
    env: {
      PATH: SYSTEM_PATH,
      LANG: 'C.UTF-8',
      HOME: home ? hostPath(view, home) : '/nonexistent',
      XDG_DATA_DIRS: '/usr/local/share:/usr/share',
      BASH_COMPLETION_USER_DIR: '/nonexistent',
      BASH_COMPLETION_USER_FILE: '/dev/null',
      BASH_COMPLETION_COMPAT_DIR: '/nonexistent',
    },
    timeoutMs: 2000,
  });
  if (r.status === 4) return { replies: [], filenames: false, fallback: true };
  if (r.status !== 0) return null;
  const [head, ...replies] = r.stdout.split('\0');
  const flags = (head ?? '').split(' ');
  return {
    replies: replies.filter((x) => x !== ''),
    filenames: flags.includes('filenames'),
    fallback: flags[0] === '124' || flags.some((f) => f === 'default' || f === 'bashdefault' || f === 'filenames' || f === 'dirnames'),
  };
}
