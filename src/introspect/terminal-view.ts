/**
 * The terminal's point of view: paths, PATH, language, aliases and users as the terminal's
 * innermost shell sees them (inside the lab and inside nested namespaces), read through the view
 * the shell gives (`{pid, cwd, root, env}`, src/shell/terminal-view.ts). Without a terminal, the
 * kernel's own directory and environment stand in.
 */
import { readFileSync, statSync } from 'node:fs';
import { posix } from 'node:path';
import type { TerminalView } from '../shell/terminal-view.js';
import { SYSTEM_PATH } from '../common/processes.js';

export type { TerminalView };

/** The kernel's own point of view, for requests without a terminal to ask. */
export function kernelView(): TerminalView {
  const env = new Map<string, string>();
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env.set(k, v);
  return { pid: process.pid, cwd: process.cwd(), root: '', env };
}

/** The host path of `p`, a path as the terminal's shell names it. */
export function hostPath(view: TerminalView, p: string): string {
  if (p.startsWith('/')) return view.root + posix.normalize(p);
  return p === '' ? view.cwd : `${view.cwd}/${p}`;
}

export function pathDirs(view: TerminalView): string[] {
  const path = view.env.get('PATH') ?? process.env.PATH ?? SYSTEM_PATH;
  return [...new Set(path.split(':').filter((d) => d.startsWith('/')))];
}

export function language(view: TerminalView): string {
  for (const k of ['LC_ALL', 'LC_MESSAGES', 'LANG']) {
    const v = view.env.get(k) || process.env[k];
    if (v) return v;
  }
  return 'C';
}

/** Aliases the terminal's shell defines in ~/.bashrc and ~/.bash_aliases (read, not run). */
export function aliases(view: TerminalView): Map<string, string> {
  const out = new Map<string, string>();
  const home = view.env.get('HOME');
  if (!home) return out;
  for (const f of ['.bashrc', '.bash_aliases']) {
    let text: string;
    try {
      text = readFileSync(hostPath(view, `${home}/${f}`), 'utf8');
    } catch {
      continue;
    }
    for (const m of text.matchAll(/^[ \t]*alias[ \t]+([\w.:+-]+)=(?:'([^']*)'|"([^"]*)"|(\S*))/gm)) out.set(m[1], m[2] ?? m[3] ?? m[4] ?? '');
  }
  return out;
}

/** Users and their home directories, from the terminal's /etc/passwd. */
export function passwdHomes(view: TerminalView): Map<string, string> {
  const out = new Map<string, string>();
  try {
    for (const line of readFileSync(hostPath(view, '/etc/passwd'), 'utf8').split('\n')) {
      const f = line.split(':');
      if (f.length >= 6 && f[0]) out.set(f[0], f[5]);
    }
  } catch {
    /* none */
  }
  return out;
}

/** The executable `name` in the terminal's PATH, as that shell names it. */
export function findInPath(view: TerminalView, name: string): string | null {
  for (const dir of pathDirs(view)) {
    try {
      const st = statSync(hostPath(view, `${dir}/${name}`));
      if (st.isFile() && st.mode & 0o111) return `${dir}/${name}`;
    } catch {
      /* not here */
    }
  }
  return null;
}
