/**
 * A process as this machine's /proc shows it (proc(5): /proc/PID/stat, /proc/PID/task/TID/children):
 * read by the shell (what runs on a terminal) and by the lab (its init, the owners of old folders).
 */
import { readFileSync, readdirSync } from 'node:fs';

export interface ProcStat {
  pid: number;
  comm: string;
  state: string;
  ppid: number;
  pgrp: number;
  /** Foreground process group of the process's controlling terminal (-1 if none). */
  tpgid: number;
  /** Start time in clock ticks since boot: with the PID, names a process uniquely. */
  start: string;
  /** Device number of the controlling terminal (0 if none), as the kernel encodes it. */
  ttyNr: number;
}

export function readStat(pid: number): ProcStat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return null;
  }
  // comm is in parentheses and may itself contain spaces or parentheses: split at the last ')'.
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  const rest = text.slice(close + 2).split(' ');
  return {
    pid,
    comm: text.slice(open + 1, close),
    state: rest[0],
    ppid: Number(rest[1]),
    pgrp: Number(rest[2]),
    tpgid: Number(rest[5]),
    start: rest[19],
    ttyNr: Number(rest[4]),
  };
}

/** `pid` and all its descendants (via /proc/<pid>/task/<tid>/children). */
export function processTree(rootPid: number): number[] {
  const out: number[] = [];
  const stack = [rootPid];
  while (stack.length) {
    const pid = stack.pop()!;
    out.push(pid);
    let tasks: string[];
    try {
      tasks = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tasks) {
      try {
        const children = readFileSync(`/proc/${pid}/task/${tid}/children`, 'latin1').trim();
        if (children) for (const c of children.split(' ')) stack.push(Number(c));
      } catch {
        /* the task ended meanwhile */
      }
    }
  }
  return out;
}
