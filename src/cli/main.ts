#!/usr/bin/env node
/**
 * nslab's command line (USAGE below says it all). Bad usage exits with status 2, as `jupyter`'s
 * and Python's argparse do; a failed command with 1.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readConnectionFile } from '../protocol/connection.js';
import type { InstallTarget } from './install.js';
import { logger } from '../log.js';

const log = logger('main');
const PACKAGE_JSON = fileURLToPath(new URL('../../../package.json', import.meta.url));
const VERSION = (JSON.parse(readFileSync(PACKAGE_JSON, 'utf8')) as { version: string }).version;

const USAGE = `usage: nslab COMMAND [OPTIONS]

nslab ${VERSION}: a Jupyter kernel with persistent bash shells in a disposable Linux namespace lab.

  install [--user | --sys-prefix [--python PATH] | --prefix P] [--host-variant]
                        install the kernelspec "nslab" for Jupyter (no flag: system-wide,
                        /usr/local/share/jupyter/kernels; --sys-prefix: into the Jupyter of
                        --python PATH, else $NSLAB_PYTHON, else a checkout's .venv, else the
                        \`jupyter\` on PATH)
  uninstall [same flags]
                        remove it
  notebooks DIR [--force]
                        copy the tutorial notebooks into DIR (refuses to overwrite without --force)
  doctor [--python PATH]
                        tell whether namespaces, Jupyter and the kernelspec are usable here
  kernel CONNECTION_FILE
                        run the kernel (what the kernelspec starts)
  handouts [--notebooks DIR] [--out DIR] [--no-update] [--answers] [--no-pdf] [NOTEBOOK…]
                        execute notebooks and write HTML and A4 PDF handouts (default: the tutorials,
                        into ./handouts; in a checkout, into its handouts/, updating notebooks/);
                        the 演習 as students get them, or with --answers as the teacher's version
  rerun [--notebooks DIR] [--runs N] [NOTEBOOK…]
                        rerun notebooks N times (3) and compare with their saved outputs
  course DIR            an nbgrader course folder from the notebooks: nbgrader_config.py and
                        source/NN-…/ (then nbgrader generate_assignment, autograde, generate_feedback)
  --help, --version`;

class UsageError extends Error {}

async function runKernel(connectionFile: string): Promise<void> {
  const info = readConnectionFile(connectionFile);
  // Bind first, load the rest after: a client that connects before the ports are bound
  // retries only every 100 ms (ZeroMQ's reconnect interval).
  // zeromq is loaded here, not at the top: `nslab --help` and `nslab doctor` must work where its
  // native part does not load (doctor says so).
  const { ZmqTransport } = await import('../protocol/zmq-transport.js');
  const transport = await ZmqTransport.bind(info);
  const [{ Kernel }, { ShellEngine }, { introspection }] = await Promise.all([
    import('../kernel/kernel.js'),
    import('../shell/engine.js'),
    import('../introspect/index.js'),
  ]);
  const engine = new ShellEngine();
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    await engine.shutdown().catch((err) => log.error('shutdown of the lab failed', err));
    await transport.close().catch(() => undefined);
    process.exit(code);
  };
  const kernel = new Kernel(transport, engine, {
    implementationVersion: VERSION,
    introspection,
    onShutdown: () => void stop(0),
  });
  process.on('SIGINT', () => kernel.interrupt());
  process.on('SIGTERM', () => void stop(0));
  process.on('SIGHUP', () => void stop(0));
  process.on('uncaughtException', (err) => log.error('uncaught exception (kernel keeps serving)', err));
  process.on('unhandledRejection', (err) => log.error('unhandled rejection (kernel keeps serving)', err as Error));
  watchParent(() => void stop(0));
  await kernel.start();
  // Create the lab now so the first cell does not wait for it; errors show in that cell.
  engine.start().catch((err) => log.warn('the lab did not start; the first cell will try again', err));
}

/**
 * End the kernel when the process that started it is gone (like ipykernel's ParentPollerUnix):
 * a frontend killed with SIGKILL never sends shutdown_request, and its lab must not live on.
 */
function watchParent(onOrphaned: () => void): void {
  const parent = process.ppid;
  if (parent <= 1) return; // started by an init (a container's): nothing to watch
  setInterval(() => {
    if (process.ppid !== parent) {
      log.warn(`the process that started this kernel (PID ${parent}) is gone; shutting down`);
      onOrphaned();
    }
  }, 1000).unref();
}

interface InstallOptions {
  target: InstallTarget;
  /** --sys-prefix: resolved to the sys.prefix of the user's Jupyter by resolveTarget(). */
  sysPrefix: boolean;
  python?: string;
  hostVariant: boolean;
}

/** Parse install/uninstall flags (those of `jupyter kernelspec install`); anything else is a usage error. */
function installOptions(args: string[]): InstallOptions {
  const o: InstallOptions = { target: {}, sysPrefix: false, hostVariant: false };
  const value = (i: number, flag: string) => {
    if (args[i] === undefined || args[i].startsWith('--')) throw new UsageError(`${flag} needs a value`);
    return args[i];
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--user') o.target.user = true;
    else if (a === '--sys-prefix') o.sysPrefix = true;
    else if (a === '--prefix') o.target.prefix = value(++i, a);
    else if (a.startsWith('--prefix=')) o.target.prefix = a.slice('--prefix='.length);
    else if (a === '--python') o.python = value(++i, a);
    else if (a.startsWith('--python=')) o.python = a.slice('--python='.length);
    else if (a === '--host-variant') o.hostVariant = true;
    else throw new UsageError(`unknown option ${a}`);
  }
  if ([o.target.user, o.sysPrefix, o.target.prefix !== undefined].filter(Boolean).length > 1) {
    throw new UsageError('choose one of --user, --sys-prefix, --prefix');
  }
  if (o.python && !o.sysPrefix) throw new UsageError('--python goes with --sys-prefix');
  return o;
}

/** The target, with --sys-prefix resolved to the Jupyter in use; `via` says which one, for the user. */
async function resolveTarget(o: InstallOptions): Promise<{ target: InstallTarget; via: string }> {
  if (!o.sysPrefix) return { target: o.target, via: '' };
  const { findJupyter, sysPrefixOf, NO_JUPYTER } = await import('./jupyter.js');
  const choice = findJupyter(o.python);
  if (!choice) throw new Error(NO_JUPYTER);
  const prefix = sysPrefixOf(choice.python);
  return { target: { sysPrefix: prefix }, via: ` (sys.prefix of ${choice.python}, via ${choice.source})` };
}

/** Options of `nslab handouts` and `nslab rerun`. */
function handoutOptions(command: 'handouts' | 'rerun', args: string[]) {
  const o = { notebooksDir: undefined as string | undefined, outDir: undefined as string | undefined, update: true, answers: false, pdf: true, runs: 3, notebooks: [] as string[] };
  const value = (i: number, flag: string) => {
    if (args[i] === undefined || args[i].startsWith('--')) throw new UsageError(`${flag} needs a value`);
    return args[i];
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--notebooks') o.notebooksDir = value(++i, a);
    else if (a === '--out' && command === 'handouts') o.outDir = value(++i, a);
    else if (a === '--no-update' && command === 'handouts') o.update = false;
    else if (a === '--answers' && command === 'handouts') o.answers = true;
    else if (a === '--no-pdf' && command === 'handouts') o.pdf = false;
    else if (a === '--runs' && command === 'rerun') {
      o.runs = Number(value(++i, a));
      if (!Number.isInteger(o.runs) || o.runs < 1) throw new UsageError('--runs needs a whole number of at least 1');
    } else if (a.startsWith('--')) throw new UsageError(`unknown option ${a}`);
    else o.notebooks.push(a);
  }
  return o;
}

/** Run `fn` with the nslab kernelspec installed in a throwaway prefix (the user's is untouched). */
async function withTemporaryKernelspec(fn: (kernelspecDir: string) => Promise<number>): Promise<number> {
  const { installKernelspec } = await import('./install.js');
  const prefix = mkdtempSync(join(tmpdir(), 'nslab-spec-'));
  try {
    installKernelspec({ prefix });
    return await fn(join(prefix, 'share', 'jupyter'));
  } finally {
    rmSync(prefix, { recursive: true, force: true });
  }
}

async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  const positional = args.filter((a) => !a.startsWith('--'));
  switch (command) {
    case undefined:
    case '--help':
    case '-h':
    case 'help':
      (command ? console.log : console.error)(USAGE);
      return command ? 0 : 2;
    case '--version':
    case '-V':
    case 'version':
      console.log(VERSION);
      return 0;
    case 'kernel':
      if (!args[0]) throw new UsageError('nslab kernel needs CONNECTION_FILE');
      await runKernel(args[0]);
      return -1; // keep running
    case 'install': {
      const options = installOptions(args);
      const [{ installKernelspec, unstableLocation, VARIANTS, PROJECT_ROOT }, { currentPlatform, platformSupport }] = await Promise.all([
        import('./install.js'),
        import('./platform.js'),
      ]);
      const { platform, arch } = currentPlatform();
      const support = platformSupport(platform, arch);
      if (support.level === 'unsupported') {
        console.error(`nslab: ${support.summary}. Nothing was installed.\n${support.advice}`);
        return 1;
      }
      if (support.level === 'untested') console.error(`nslab: warning: ${support.summary}`);
      const unstable = unstableLocation(PROJECT_ROOT);
      if (unstable) console.error(`nslab: warning: ${unstable}`);
      const { target, via } = await resolveTarget(options);
      try {
        console.log(`installed kernelspec nslab in ${installKernelspec(target)}${via}`);
        if (options.hostVariant) console.log(`installed kernelspec nslab-host in ${installKernelspec(target, VARIANTS['nslab-host'])}${via}`);
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        if (e.code !== 'EACCES' && e.code !== 'EPERM') throw err;
        throw new Error(`cannot write ${e.path ?? 'there'}: permission denied. Install it for yourself with --user, or as root for everyone`);
      }
      return 0;
    }
    case 'uninstall': {
      const { uninstallKernelspec } = await import('./install.js');
      const { target, via } = await resolveTarget(installOptions(args));
      const removed = uninstallKernelspec(target);
      console.log(removed.length ? removed.map((d) => `removed ${d}${via}`).join('\n') : `no nslab kernelspec was installed there${via}`);
      return 0;
    }
    case 'notebooks': {
      const unknown = args.filter((a) => a.startsWith('--') && a !== '--force');
      if (unknown.length) throw new UsageError(`unknown option ${unknown[0]}`);
      if (positional.length !== 1) throw new UsageError('nslab notebooks needs one folder: nslab notebooks DIR [--force]');
      const { copyNotebooks } = await import('./notebooks.js');
      const copied = copyNotebooks(positional[0], { force: args.includes('--force') });
      console.log(`copied ${copied.length} notebooks into ${dirname(copied[0])}:\n${copied.map((f) => '  ' + basename(f)).join('\n')}`);
      console.log(`open them with Jupyter, for example: jupyter lab ${JSON.stringify(dirname(copied[0]))} (start with 00-index.ipynb)`);
      return 0;
    }
    case 'doctor': {
      let python: string | undefined;
      for (let i = 0; i < args.length; i++) {
        if (args[i] === '--python' && args[i + 1] && !args[i + 1].startsWith('--')) python = args[++i];
        else if (args[i].startsWith('--python=')) python = args[i].slice('--python='.length);
        else throw new UsageError('nslab doctor takes only --python PATH');
      }
      const { gatherFacts, renderDoctor } = await import('./doctor.js');
      const report = renderDoctor(await gatherFacts({ python }));
      console.log(report.text);
      return report.ok ? 0 : 1;
    }
    case 'handouts':
    case 'rerun': {
      const [{ handouts, rerun }, { PROJECT_ROOT }] = await Promise.all([import('./handouts.js'), import('./install.js')]);
      const o = handoutOptions(command, args);
      // A checkout (it has src/) works on its own notebooks/ and writes handouts/ beside them; the
      // installed package (replaced on upgrade) on a folder of the user's (--notebooks, default:
      // the package's own, read only) and writes ./handouts.
      const checkout = existsSync(join(PROJECT_ROOT, 'src'));
      const notebooksDir = o.notebooksDir ?? join(PROJECT_ROOT, 'notebooks');
      const ownNotebooks = !o.notebooksDir;
      if (command === 'rerun') return withTemporaryKernelspec((kernelspecDir) => rerun({ notebooksDir, notebooks: o.notebooks, runs: o.runs, kernelspecDir }));
      const outDir = o.outDir ?? (checkout ? join(PROJECT_ROOT, 'handouts') : 'handouts');
      const updateNotebooks = o.update && (checkout || !ownNotebooks);
      return withTemporaryKernelspec((kernelspecDir) => handouts({ notebooksDir, notebooks: o.notebooks, outDir, updateNotebooks, answers: o.answers, pdf: o.pdf, kernelspecDir }));
    }
    case 'course': {
      if (positional.length !== 1 || args.some((a) => a.startsWith('--'))) throw new UsageError('nslab course needs one folder: nslab course DIR');
      const [{ prepareCourse }, { PROJECT_ROOT }] = await Promise.all([import('./course.js'), import('./install.js')]);
      return prepareCourse(positional[0], join(PROJECT_ROOT, 'notebooks'));
    }
    default:
      throw new UsageError(`unknown command '${command}'`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (err) => {
    if (err instanceof UsageError) {
      console.error(`nslab: ${err.message} (see \`nslab --help\`)`);
      process.exit(2);
    }
    console.error(`nslab: ${(err as Error).message}`);
    process.exit(1);
  },
);
