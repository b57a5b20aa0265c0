#!/usr/bin/env node
/**
 * nslab's command line:
 *   nslab kernel CONNECTION_FILE      run the kernel (what kernel.json starts)
 *   nslab install [--user|--sys-prefix|--prefix P] [--host-variant]
 *   nslab uninstall [--user|--sys-prefix|--prefix P]
 *   nslab handouts [--no-update] [--no-pdf] [--out DIR] [NOTEBOOK…]
 *   nslab rerun [--runs N] [NOTEBOOK…]
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readConnectionFile } from '../protocol/connection.js';
import { ZmqTransport } from '../protocol/zmq-transport.js';
import type { InstallTarget } from './install.js';
import { logger } from '../log.js';

const log = logger('main');
const PACKAGE_JSON = fileURLToPath(new URL('../../../package.json', import.meta.url));
const VERSION: string = JSON.parse(readFileSync(PACKAGE_JSON, 'utf8')).version;

async function runKernel(connectionFile: string): Promise<void> {
  const info = readConnectionFile(connectionFile);
  // Bind first, load the rest after: a client that connects before the ports are bound
  // retries only every 100 ms (ZeroMQ's reconnect interval).
  const transport = await ZmqTransport.bind(info);
  const [{ Kernel }, { ShellEngine }] = await Promise.all([import('../kernel/kernel.js'), import('../shell/engine.js')]);
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

function installTarget(args: string[]): InstallTarget {
  const t: InstallTarget = {};
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--user') t.user = true;
    else if (args[i] === '--sys-prefix') t.sysPrefix = true;
    else if (args[i] === '--prefix') t.prefix = args[++i];
    else if (args[i].startsWith('--prefix=')) t.prefix = args[i].slice('--prefix='.length);
  }
  return t;
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
    case 'kernel':
      if (!args[0]) throw new Error('usage: nslab kernel CONNECTION_FILE');
      await runKernel(args[0]);
      return -1; // keep running
    case 'install': {
      const { installKernelspec, VARIANTS } = await import('./install.js');
      const target = installTarget(args);
      console.log(`installed kernelspec nslab in ${installKernelspec(target)}`);
      if (args.includes('--host-variant')) console.log(`installed kernelspec nslab-host in ${installKernelspec(target, VARIANTS['nslab-host'])}`);
      return 0;
    }
    case 'uninstall': {
      const { uninstallKernelspec } = await import('./install.js');
      const removed = uninstallKernelspec(installTarget(args));
      console.log(removed.length ? removed.map((d) => `removed ${d}`).join('\n') : 'no nslab kernelspec was installed there');
      return 0;
    }
    case 'handouts': {
      const [{ handouts }, { PROJECT_ROOT }] = await Promise.all([import('./handouts.js'), import('./install.js')]);
      const outIndex = args.indexOf('--out');
      const outDir = outIndex >= 0 ? args[outIndex + 1] : join(PROJECT_ROOT, 'handouts');
      const notebooks = positional.filter((p) => p !== outDir);
      return withTemporaryKernelspec((kernelspecDir) =>
        handouts({ notebooksDir: join(PROJECT_ROOT, 'notebooks'), notebooks, outDir, updateNotebooks: !args.includes('--no-update'), pdf: !args.includes('--no-pdf'), kernelspecDir }),
      );
    }
    case 'rerun': {
      const [{ rerun }, { PROJECT_ROOT }] = await Promise.all([import('./handouts.js'), import('./install.js')]);
      const runsIndex = args.indexOf('--runs');
      const runs = runsIndex >= 0 ? Number(args[runsIndex + 1]) : 3;
      const notebooks = positional.filter((p) => p !== String(runs));
      return withTemporaryKernelspec((kernelspecDir) => rerun({ notebooksDir: join(PROJECT_ROOT, 'notebooks'), notebooks, runs, kernelspecDir }));
    }
    default:
      console.error('usage: nslab kernel CONNECTION_FILE | install [--user|--sys-prefix|--prefix P] [--host-variant] | uninstall [...] | handouts [--no-update] [--no-pdf] [--out DIR] [NOTEBOOK…] | rerun [--runs N] [NOTEBOOK…]');
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (err) => {
    console.error(`nslab: ${(err as Error).message}`);
    process.exit(1);
  },
);
