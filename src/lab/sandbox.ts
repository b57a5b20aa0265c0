/**
 * The lab: a disposable set of namespaces (PID, mount with private propagation, UTS, IPC, network) with
 * tini as PID 1 and the learner's bash as its child — what `docker run --init` gives the article's
 * learner, made with util-linux instead of Docker.
 *
 * This module only decides *how* to start things (commands and arguments); the shell module
 * spawns them in PTYs. Facts behind every flag are in README "The lab".
 */
import { runBriefly, which } from '../common/processes.js';
import { moveIntoCgroupSetup, type LabCgroup } from './cgroup.js';

export type LabMode = 'lab' | 'rootless' | 'host';

export interface Command {
  file: string;
  args: string[];
}

export interface LabPlan {
  mode: LabMode;
  /** Why the lab is not the one asked for (shown to the learner in the first cell's output). */
  notice: string | null;
}

/** Namespace flags of the lab, shared by its creation (unshare) and joining it (nsenter). */
// The network namespace: like the article's container, the lab has a network of its own, so the
// network notebook's veth pairs and addresses can never touch this machine's interfaces.
const LAB_NAMESPACES = ['--mount', '--pid', '--uts', '--ipc', '--net'];

function unshareArgs(mode: 'lab' | 'rootless', cgroup: LabCgroup | null = null): string[] {
  return [
    ...(mode === 'rootless' ? ['--user', '--map-root-user'] : []),
    ...LAB_NAMESPACES,
    // With a cgroup of its own (see cgroup.ts), the lab's cgroup namespace is rooted there.
    ...(cgroup ? ['--cgroup'] : []),
    // Private propagation: mounts made in the lab (the tutorial's `mount -t proc`) never reach
    // the machine, and the machine's later mounts do not appear in the lab.
    '--propagation', 'private',
    '--fork', '--mount-proc',
    // If unshare dies (it gets SIGKILL when the kernel dies, see setpriv below), its child —
    // the lab's PID 1 — is killed, and with it every process of the PID namespace.
    '--kill-child',
  ];
}

/** Can this process make the namespaces of `mode`? Tried for real, in a throwaway child. */
function canCreate(mode: 'lab' | 'rootless'): { ok: boolean; error: string } {
  const unshare = which('unshare');
  if (!unshare) return { ok: false, error: 'unshare (util-linux) is not installed' };
  const { ok, why } = runBriefly(unshare, [...unshareArgs(mode), '--', 'true']);
  return { ok, error: why };
}

/**
 * Decide the lab mode. `requested` comes from NSLAB_LAB: `lab` (root namespaces), `rootless`
 * (a user namespace first), `host` (no sandbox), or `auto` (default): root namespaces when
 * permitted, else rootless, else a plain host shell with a notice explaining why.
 */
export function planLab(requested: string = process.env.NSLAB_LAB ?? 'auto'): LabPlan {
  if (requested === 'host') return { mode: 'host', notice: null };
  if (requested !== 'auto' && requested !== 'lab' && requested !== 'rootless') {
    return { mode: 'host', notice: `NSLAB_LAB=${requested} is not one of auto, lab, rootless, host; running a plain shell without a lab.` };
  }
  const missing = ['unshare', 'nsenter', 'setpriv', 'tini'].filter((n) => !which(n));
  if (missing.length) {
    return { mode: 'host', notice: `The lab needs ${missing.join(', ')} (packages util-linux and tini). This is a plain shell on the host: namespace experiments here would affect this machine.` };
  }
  const order: ('lab' | 'rootless')[] =
    requested === 'lab' ? ['lab'] : requested === 'rootless' ? ['rootless'] : process.getuid?.() === 0 ? ['lab', 'rootless'] : ['rootless', 'lab'];
  const errors: string[] = [];
  for (const mode of order) {
    const probe = canCreate(mode);
    if (probe.ok) return { mode, notice: null };
    errors.push(`${mode}: ${probe.error}`);
  }
  return {
    mode: 'host',
    notice:
      'Linux namespaces are not available here, so this is a plain shell without a lab ' +
      `(${errors.join('; ')}). In Docker, start the container with --privileged ` +
      '(or --cap-add SYS_ADMIN --cap-add NET_ADMIN --security-opt seccomp=unconfined --security-opt apparmor=unconfined --security-opt systempaths=unconfined).',
  };
}

/**
 * Closes every file descriptor above 2 that the shell inherited. node-pty opens its PTY
 * masters without close-on-exec, so without this terminal 2's shell would hold terminal 1's
 * master and could type into it (`echo cmd >&N`). bash, because dash cannot name fds above 9.
 */
// No redirection on the loop: bash would save stderr on a high fd for it, the loop would close
// that copy, and stderr (where the prompt goes) would stay redirected. Closing a closed fd is
// silent in bash.
const CLOSE_INHERITED_FDS = 'for fd in /proc/$$/fd/*; do fd=${fd##*/}; [ "$fd" -gt 2 ] && eval "exec $fd>&-"; done';

/**
 * A non-interactive bash drops PS1 and PS2 from the environment it passes on; the shells
 * started after it must get them as given, so they are put back from the environment this
 * bash received (/proc/$$/environ).
 */
const RESTORE_PROMPTS = 'while IFS= read -r -d "" kv; do case $kv in PS1=*|PS2=*) export "$kv";; esac; done < /proc/$$/environ';

/**
 * `bash -c '<setup>; exec "$@"'`: closes inherited descriptors, runs a few setup steps, then
 * replaces itself with the real command, so the setup leaves no process (and nothing in
 * `ps`) behind.
 */
function shExec(setup: string, command: string[]): Command {
  return { file: '/bin/bash', args: ['-c', `${RESTORE_PROMPTS}; ${CLOSE_INHERITED_FDS}; ${setup}; exec "$@"`, 'nslab', ...command] };
}

/**
 * The first terminal: creates the lab. Its process tree on the machine is
 *   sh→setpriv→unshare (the PTY's child)  →  sh→tini (lab PID 1)  →  bash (lab PID 2).
 * setpriv gives unshare a parent-death signal: when the kernel dies, even by SIGKILL, the lab dies.
 * `stty -echo` first: nslab types each cell line itself, and the echo would be noise.
 */
export function firstTerminalCommand(mode: LabMode, shell: string[], cgroup: LabCgroup | null = null): Command {
  if (mode === 'host') return shExec('stty -echo 2>/dev/null', shell);
  // Inside: the hostname through /proc (a shell builtin write, so the learner's bash is PID 2
  // as in the article's container). A rootless lab may not write there (the file belongs to the
  // machine's root), and `hostname lab` inside would take PID 2: loopbackUpCommand sets it from
  // outside instead.
  const inner = mode === 'rootless'
    ? ['tini', '--', ...shell]
    : ['/bin/sh', '-c', '{ echo lab > /proc/sys/kernel/hostname; } 2>/dev/null || hostname lab; exec "$@"', 'sh', 'tini', '--', ...shell];
  return shExec(withCgroupMove('stty -echo 2>/dev/null', cgroup), ['setpriv', '--pdeathsig', 'KILL', '--', 'unshare', ...unshareArgs(mode, cgroup), '--', ...inner]);
}

/**
 * Another terminal joined to a running lab, like `docker exec` into the article's container:
 * nsenter into the namespaces of the lab's PID 1 (`initPid`, as this machine numbers it).
 * nsenter forks for the PID namespace, so the shell's parent in the lab is 0, as with docker exec.
 */
export function joinTerminalCommand(mode: LabMode, initPid: number, shell: string[], cgroup: LabCgroup | null = null): Command {
  if (mode === 'host') return shExec('stty -echo 2>/dev/null', shell);
  const userns = mode === 'rootless' ? ['--user', '--preserve-credentials'] : [];
  return shExec(withCgroupMove('stty -echo 2>/dev/null', cgroup), [
    'setpriv', '--pdeathsig', 'KILL', '--',
    'nsenter', `--target=${initPid}`, ...userns, ...LAB_NAMESPACES, ...(cgroup ? ['--cgroup'] : []), '--', ...shell,
  ]);
}

/**
 * The setup, and first the move into the lab's cgroup: before the lab's cgroup namespace is
 * entered, because from inside it a move from outside its root is refused (see cgroup.ts).
 */
function withCgroupMove(setup: string, cgroup: LabCgroup | null): string {
  return cgroup ? `${moveIntoCgroupSetup(cgroup)}; ${setup}` : setup;
}

/**
 * Brings up the lab's loopback interface (a new network namespace starts with `lo` down), from
 * outside the lab's PID namespace so that it costs the lab none of its small PIDs. Null when
 * there is nothing to do (no lab, or iproute2 is not installed: the lab then has `lo` down).
 */
export function loopbackUpCommand(mode: LabMode, initPid: number): Command | null {
  if (mode === 'host') return null;
  const ip = which('ip');
  if (!ip) return null;
  const nsenter = which('nsenter') ?? 'nsenter';
  if (mode === 'rootless') {
    // Also the hostname, from outside for the same reason (see firstTerminalCommand).
    return { file: nsenter, args: [`--target=${initPid}`, '--user', '--preserve-credentials', '--uts', '--net', '--',
      '/bin/sh', '-c', 'hostname lab && exec "$0" link set lo up', ip] };
  }
  return { file: nsenter, args: [`--target=${initPid}`, '--net', '--', ip, 'link', 'set', 'lo', 'up'] };
}
