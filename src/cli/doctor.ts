/**
 * `nslab doctor`: one screen that tells whether nslab can work here — the platform, its native
 * parts, the lab (root lab / rootless lab / host only, probed for real by the same code the kernel
 * uses), the Jupyter in use and the nslab kernelspec that Jupyter finds — and what to do where not.
 *
 * `gatherFacts()` looks; `renderDoctor()` is pure (tested in test/unit/doctor.test.ts).
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { planLab } from '../lab/sandbox.js';
import { KERNEL_MAIN, PACKAGE_VERSION, PROJECT_ROOT } from './install.js';
import { findJupyter, inspectJupyter, NO_JUPYTER, type JupyterChoice, type JupyterReport } from './jupyter.js';
import { currentPlatform, platformSupport, type PlatformSupport } from './platform.js';

export const MIN_NODE = '18.19.0';
const LAB_TOOLS = ['unshare', 'nsenter', 'setpriv', 'tini'];
const TOOL_DIRS = ['/usr/bin', '/bin', '/usr/sbin', '/sbin', '/usr/local/bin'];

export interface Probe {
  ok: boolean;
  detail: string;
}

export interface KernelspecFacts {
  dir: string;
  argv: string[];
  /** The nslab version that wrote it (absent for kernelspecs written before nslab recorded it). */
  version?: string;
  /** argv entries that are absolute paths and no longer exist. */
  missing: string[];
  /** The main.js it starts, when it is not this package's. */
  otherMain?: string;
}

export interface DoctorFacts {
  version: string;
  root: string;
  node: { version: string; path: string };
  platform: { platform: string; arch: string; support: PlatformSupport };
  native: Record<string, Probe>;
  missingTools: string[];
  uid: number;
  rootLab: Probe;
  rootlessLab: Probe;
  jupyter: { choice: JupyterChoice | null; report?: JupyterReport; error?: string };
  /** undefined: could not tell (no usable Jupyter); null: Jupyter finds no nslab kernelspec. */
  kernelspec?: KernelspecFacts | null;
  kernelspecError?: string;
}

/** a >= b for dotted versions. */
export function versionAtLeast(a: string, b: string): boolean {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) > (pb[i] ?? 0);
  return true;
}

async function probeImport(name: string): Promise<Probe> {
  try {
    await import(name);
    return { ok: true, detail: 'loads' };
  } catch (err) {
    return { ok: false, detail: (err as Error).message.split('\n')[0] };
  }
}

/** The reason in planLab()'s notice for `mode` ("lab: unshare: unshare failed: …"). */
function labProbe(mode: 'lab' | 'rootless'): Probe {
  const plan = planLab(mode);
  if (plan.mode === mode) return { ok: true, detail: 'yes' };
  const m = new RegExp(`\\b${mode}: (.*?)\\)\\. In Docker`).exec(plan.notice ?? '');
  return { ok: false, detail: m ? m[1] : plan.notice ?? 'not available' };
}

function readKernelspec(dir: string): KernelspecFacts {
  const spec = JSON.parse(readFileSync(join(dir, 'kernel.json'), 'utf8')) as { argv?: unknown; metadata?: { nslab?: { version?: unknown } } };
  const argv: string[] = Array.isArray(spec.argv) ? spec.argv.filter((a): a is string => typeof a === 'string') : [];
  const missing = argv.filter((a) => a.startsWith('/') && !existsSync(a));
  const main = argv.find((a) => a.endsWith('main.js'));
  const real = (p: string) => (existsSync(p) ? realpathSync(p) : p);
  const otherMain = main && existsSync(main) && real(main) !== real(KERNEL_MAIN) ? main : undefined;
  const written = spec.metadata?.nslab?.version;
  const version = typeof written === 'string' ? written : undefined;
  return { dir, argv, version, missing, otherMain };
}

export async function gatherFacts(opts: { python?: string; env?: NodeJS.ProcessEnv } = {}): Promise<DoctorFacts> {
  const env = opts.env ?? process.env;
  const { platform, arch } = currentPlatform(env);
  const onLinux = platform === 'linux' && process.platform === 'linux';
  const facts: DoctorFacts = {
    version: PACKAGE_VERSION,
    root: PROJECT_ROOT,
    node: { version: process.versions.node, path: process.execPath },
    platform: { platform, arch, support: platformSupport(platform, arch) },
    native: { 'node-pty': await probeImport('node-pty'), zeromq: await probeImport('zeromq') },
    missingTools: onLinux ? LAB_TOOLS.filter((t) => !TOOL_DIRS.some((d) => existsSync(join(d, t)))) : LAB_TOOLS,
    uid: process.getuid?.() ?? -1,
    rootLab: onLinux ? labProbe('lab') : { ok: false, detail: 'not Linux' },
    rootlessLab: onLinux ? labProbe('rootless') : { ok: false, detail: 'not Linux' },
    jupyter: { choice: findJupyter(opts.python, env) },
  };
  const choice = facts.jupyter.choice;
  if (choice) {
    try {
      facts.jupyter.report = inspectJupyter(choice.python, env);
    } catch (err) {
      facts.jupyter.error = (err as Error).message;
    }
  }
  const specs = facts.jupyter.report?.kernelspecs;
  if (specs) {
    try {
      facts.kernelspec = specs.nslab ? readKernelspec(specs.nslab) : null;
    } catch (err) {
      facts.kernelspecError = (err as Error).message;
    }
  }
  return facts;
}

type Status = 'ok' | 'warn' | 'NO' | '?';
interface Line {
  status: Status;
  what: string;
  text: string;
  fix?: string;
}

const PRETTY: Record<string, string> = { jupyter_core: 'jupyter_core', jupyter_client: 'jupyter_client', jupyterlab: 'JupyterLab', notebook: 'Notebook' };

/** The lines of the report (pure). */
export function doctorLines(f: DoctorFacts): Line[] {
  const lines: Line[] = [];
  const sup = f.platform.support;
  lines.push({ status: sup.level === 'supported' ? 'ok' : sup.level === 'untested' ? 'warn' : 'NO', what: 'platform', text: sup.summary, fix: sup.advice || undefined });
  const nodeOk = versionAtLeast(f.node.version, MIN_NODE);
  lines.push({ status: nodeOk ? 'ok' : 'NO', what: 'Node', text: `v${f.node.version} (${f.node.path})`, fix: nodeOk ? undefined : `nslab needs Node ${MIN_NODE} or newer` });
  for (const [name, p] of Object.entries(f.native)) {
    lines.push({ status: p.ok ? 'ok' : 'NO', what: name, text: p.detail, fix: p.ok ? undefined : `reinstall nslab (\`npm install -g\` it) with the Node above; node-pty compiles with python3, make and a C++ compiler` });
  }
  if (sup.level !== 'unsupported') {
    const mode = f.uid === 0 ? (f.rootLab.ok ? 'root lab' : f.rootlessLab.ok ? 'rootless lab' : 'host only') : f.rootlessLab.ok ? 'rootless lab' : f.rootLab.ok ? 'root lab' : 'host only';
    const probes = `root lab: ${f.rootLab.ok ? 'yes' : `no (${f.rootLab.detail})`}; rootless lab: ${f.rootlessLab.ok ? 'yes' : `no (${f.rootlessLab.detail})`}`;
    if (f.missingTools.length) {
      lines.push({ status: 'NO', what: 'namespaces', text: `host only: ${f.missingTools.join(', ')} not installed`, fix: 'install util-linux and tini (Debian/Ubuntu: `apt-get install util-linux tini`)' });
    } else if (mode === 'host only') {
      lines.push({
        status: 'NO',
        what: 'namespaces',
        text: `host only — ${probes}`,
        fix:
          'kernels here get a plain shell without a lab and the tutorials\' checks fail. In Docker: start the container with --privileged (README "In Docker"). ' +
          'On a Linux host: allow unprivileged user namespaces (Ubuntu 24.04: sysctl kernel.apparmor_restrict_unprivileged_userns=0; elsewhere user.max_user_namespaces > 0), or run Jupyter as root',
      });
    } else {
      lines.push({ status: 'ok', what: 'namespaces', text: `${mode} — ${probes}` });
    }
  }
  const j = f.jupyter;
  if (!j.choice) lines.push({ status: 'NO', what: 'Jupyter', text: 'not found', fix: NO_JUPYTER.replace(/^no Jupyter found: /, '') });
  else if (j.error || !j.report) lines.push({ status: 'NO', what: 'Jupyter', text: `${j.choice.python} (via ${j.choice.source}) does not run: ${j.error}`, fix: 'name a working Python with --python PATH or $NSLAB_PYTHON' });
  else {
    const versions = Object.entries(j.report.versions).map(([k, v]) => `${PRETTY[k] ?? k} ${v}`).join(', ');
    const usable = Boolean(j.report.versions.jupyter_client && j.report.kernelspecs);
    lines.push({
      status: usable ? 'ok' : 'NO',
      what: 'Jupyter',
      text: `${versions || 'no Jupyter packages'} — Python ${j.report.pythonVersion} ${j.report.python} (via ${j.choice.source})`,
      fix: usable ? undefined : `that Python has no jupyter_client: \`${j.report.python} -m pip install jupyterlab\`, or name another with --python`,
    });
  }
  const installHint = j.report ? `\`nslab install --user\`, or \`nslab install --sys-prefix\` for the Jupyter in ${j.report.prefix}` : '`nslab install --user`';
  if (f.kernelspec === undefined) {
    lines.push({ status: '?', what: 'kernelspec', text: f.kernelspecError ? `unreadable: ${f.kernelspecError}` : 'cannot tell without a working Jupyter', fix: f.kernelspecError ? `install it again: ${installHint}` : undefined });
  } else if (f.kernelspec === null) {
    lines.push({ status: 'NO', what: 'kernelspec', text: `Jupyter finds no nslab kernelspec (it looks in ${j.report?.path.join(', ')})`, fix: installHint });
  } else {
    const k = f.kernelspec;
    const by = k.version ? `written by nslab ${k.version}` : 'written by an nslab before 0.1.0';
    if (k.missing.length) {
      lines.push({ status: 'NO', what: 'kernelspec', text: `${k.dir}: its argv names ${k.missing.join(', ')}, which no longer exist`, fix: `install it again: ${installHint}` });
    } else if (k.otherMain) {
      lines.push({ status: 'warn', what: 'kernelspec', text: `${k.dir} starts another nslab (${k.otherMain}), not this one (${KERNEL_MAIN})`, fix: `to use this one: ${installHint}` });
    } else {
      const note = k.version && k.version !== f.version ? ` (${by}; this is ${f.version}: argv still valid)` : ` (${by})`;
      lines.push({ status: 'ok', what: 'kernelspec', text: `${k.dir} → this nslab${note}` });
    }
  }
  return lines;
}

const WIDTH = 100;
const INDENT = ' '.repeat(17);

/** `line` broken at spaces into lines of at most WIDTH characters (longer words stay whole), continued with `indent`. */
export function wrap(line: string, indent: string, width = WIDTH): string[] {
  const out: string[] = [];
  let rest = line;
  while (rest.length > width) {
    const cut = rest.lastIndexOf(' ', width);
    if (cut <= indent.length) break;
    out.push(rest.slice(0, cut));
    rest = indent + rest.slice(cut + 1);
  }
  out.push(rest);
  return out;
}

/** The whole screen (pure). */
export function renderDoctor(f: DoctorFacts): { text: string; ok: boolean } {
  const lines = doctorLines(f);
  const ok = lines.every((l) => l.status === 'ok' || l.status === 'warn');
  const out = [`nslab ${f.version} (${f.root})`, ''];
  for (const l of lines) {
    out.push(...wrap(`${l.status.padEnd(4)} ${l.what.padEnd(11)} ${l.text}`, INDENT));
    if (l.fix && l.status !== 'ok') out.push(...wrap(`${INDENT}→ ${l.fix}`, INDENT + '  '));
  }
  out.push('');
  out.push(ok ? 'Ready: start Jupyter (for example `jupyter lab`) and choose the kernel "Namespace Lab (bash)".' : 'Not ready: see the lines marked NO or ? above.');
  return { text: out.join('\n'), ok };
}
