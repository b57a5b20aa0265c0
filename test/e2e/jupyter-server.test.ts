/**
 * The path JupyterLab takes: Debian's jupyter-server 1.23 runs nslab from a temporary kernelspec,
 * and this test drives it from Node with @jupyterlab/services (JupyterLab's own client library)
 * over REST and the kernel WebSocket: list the kernelspecs, start a notebook session on nslab,
 * execute, use a second terminal, interrupt, restart, shut down, stop the server. Nothing of the
 * user's Jupyter setup is read or written (private JUPYTER_* dirs); no process is left behind.
 * Debian package: jupyter-server (python3-jupyter-server).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { KernelSpecAPI, ServerConnection, SessionManager, KernelManager, type KernelMessage, type Kernel, type Session } from '@jupyterlab/services';
import WebSocket from 'ws';
import { installKernelspec, leftoverMessage, PYTHON, type InstalledKernelspec } from '../helpers/kernelspec.js';
import { descendants, formatProcs, isAlive, killAll, processesWithEnv, waitGone, type Proc } from '../helpers/processes.js';

/** `/usr/bin/jupyter-server` if Debian installed it, else the module through Debian's python. */
const SERVER_CMD = [PYTHON, '-m', 'jupyter_server'];

/**
 * Disposes a @jupyterlab/services manager. Its model poll is stopped first: @lumino/polling's
 * Poll.dispose() leaves the next tick's timer (10 s) pending, which keeps Node (and mocha) alive.
 */
async function disposeManager(m: KernelManager | SessionManager | undefined): Promise<void> {
  if (!m || m.isDisposed) return;
  await (m as unknown as { _pollModels?: { stop(): Promise<void> } })._pollModels?.stop();
  m.dispose();
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

interface Ran {
  reply: KernelMessage.IExecuteReplyMsg['content'];
  stdout: string;
  stderr: string;
  iopub: string[];
}

/** Executes `code` like a notebook cell does and collects its output until the reply. */
async function run(kernel: Kernel.IKernelConnection, code: string): Promise<Ran> {
  const future = kernel.requestExecute({ code, stop_on_error: true, allow_stdin: false });
  let stdout = '';
  let stderr = '';
  const iopub: string[] = [];
  future.onIOPub = (msg) => {
    iopub.push(msg.header.msg_type === 'status' ? `status:${(msg.content as { execution_state: string }).execution_state}` : msg.header.msg_type);
    if (msg.header.msg_type === 'stream') {
      const c = msg.content as KernelMessage.IStreamMsg['content'];
      if (c.name === 'stdout') stdout += c.text;
      else stderr += c.text;
    }
  };
  const reply = (await future.done) as KernelMessage.IExecuteReplyMsg;
  future.dispose();
  return { reply: reply.content, stdout, stderr, iopub };
}

describe('e2e: through jupyter-server with @jupyterlab/services (the JupyterLab path) @slow', function () {
  this.timeout(60_000);
  let spec: InstalledKernelspec;
  let server: ChildProcess;
  let serverExited: Promise<number | null>;
  let serverLog = '';
  let settings: ServerConnection.ISettings;
  let kernelManager: KernelManager;
  let sessionManager: SessionManager;
  let session: Session.ISessionConnection | null = null;
  /** Every process seen under the server (kernels, labs): none may survive the server. */
  const seen = new Map<number, Proc>();
  const note = () => {
    for (const p of [...descendants(server.pid!), ...processesWithEnv('JPY_PARENT_PID', String(server.pid))]) seen.set(p.pid, p);
  };
  /** nslab kernels the server runs now. */
  const kernelProcesses = () => processesWithEnv('JPY_PARENT_PID', String(server.pid)).filter((p) => isAlive(p) && p.cmd.includes('main.js kernel'));

  before(async function () {
    this.timeout(90_000);
    spec = installKernelspec();
    const root = join(spec.prefix, 'notebooks');
    mkdirSync(root);
    const token = randomBytes(24).toString('hex');
    const port = await freePort();
    server = spawn(
      SERVER_CMD[0],
      [
        ...SERVER_CMD.slice(1),
        '--ServerApp.ip=127.0.0.1',
        `--ServerApp.port=${port}`,
        `--ServerApp.token=${token}`,
        '--ServerApp.open_browser=False',
        '--no-browser',
        '--allow-root',
        `--ServerApp.root_dir=${root}`,
      ],
      { env: spec.env, cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    serverExited = new Promise((resolve) => server.on('exit', (code) => resolve(code)));
    // Ready when it logs where it listens (the port it took, should another have been free).
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`jupyter-server did not start within 60 s:\n${serverLog}`)), 60_000);
      const onData = (d: Buffer) => {
        serverLog += d.toString();
        const m = /(http:\/\/127\.0\.0\.1:\d+\/)\S*/.exec(serverLog);
        if (m && /is running at/.test(serverLog)) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      };
      server.stdout!.on('data', onData);
      server.stderr!.on('data', onData);
      server.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`jupyter-server exited (${code}) before it was ready:\n${serverLog}`));
      });
    });
    settings = ServerConnection.makeSettings({
      baseUrl: url,
      wsUrl: url.replace(/^http/, 'ws'),
      token,
      appendToken: true,
      WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
      fetch: globalThis.fetch,
      Request: globalThis.Request,
      Headers: globalThis.Headers,
    });
    kernelManager = new KernelManager({ serverSettings: settings });
    sessionManager = new SessionManager({ serverSettings: settings, kernelManager });
    await Promise.all([kernelManager.ready, sessionManager.ready]);
  });

  after(async function () {
    this.timeout(60_000);
    // Normally the last test has done all this; here only what a failure left behind.
    session?.dispose();
    await disposeManager(sessionManager);
    await disposeManager(kernelManager);
    if (server && server.exitCode === null && server.signalCode === null) {
      note();
      server.kill('SIGTERM');
      const timer = setTimeout(() => server.kill('SIGKILL'), 20_000);
      await serverExited;
      clearTimeout(timer);
    }
    killAll(await waitGone([...seen.values()], 5000));
    spec?.cleanup();
  });

  it('lists nslab among the kernelspecs with its display name and logo resources', async function () {
    const specs = await KernelSpecAPI.getSpecs(settings);
    const nslab = specs.kernelspecs.nslab;
    assert.ok(nslab, `kernelspecs: ${Object.keys(specs.kernelspecs).join(', ')}`);
    assert.equal(nslab.display_name, 'Namespace Lab (bash)');
    assert.equal(nslab.language, 'bash');
    const raw = (await fetchJson('api/kernelspecs')) as { kernelspecs: Record<string, { spec: { interrupt_mode?: string } }> };
    assert.equal(raw.kernelspecs.nslab.spec.interrupt_mode, 'message', 'kernel.json interrupt_mode reaches the server');
    for (const size of ['32x32', '64x64']) {
      const url: string | undefined = nslab.resources[`logo-${size}`];
      assert.ok(url, `resource logo-${size}; resources: ${JSON.stringify(nslab.resources)}`);
      const res = await ServerConnection.makeRequest(new URL(url, settings.baseUrl).href, {}, settings);
      assert.equal(res.status, 200, url);
      const png = Buffer.from(await res.arrayBuffer());
      assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], `${url} is a PNG`);
      assert.equal(png.readUInt32BE(16), Number(size.split('x')[0]), `${url} is ${size}`);
    }
  });

  it('starts a notebook session on nslab and runs `echo $$; hostname` → 2, lab', async function () {
    session = await sessionManager.startNew({ path: 'e2e.ipynb', type: 'notebook', name: 'e2e.ipynb', kernel: { name: 'nslab' } });
    const kernel = session.kernel!;
    assert.equal(kernel.name, 'nslab');
    const info = await kernel.info;
    assert.equal(info.language_info.name, 'bash');
    assert.equal(info.protocol_version, '5.5');
    const r = await run(kernel, 'echo $$; hostname');
    assert.equal(r.reply.status, 'ok');
    assert.equal(r.stdout, '2\nlab\n');
    assert.deepEqual(r.iopub, ['status:busy', 'execute_input', 'stream', 'status:idle']);
    note();
    assert.equal(kernelProcesses().length, 1, 'one nslab kernel process under the server');
  });

  it('runs a cell in terminal 2 (`#| terminal: 2`): another shell in the same lab', async function () {
    const r = await run(session!.kernel!, '#| terminal: 2\necho $$; hostname');
    assert.equal(r.reply.status, 'ok');
    const [pid, host] = r.stdout.split('\n');
    assert.match(pid, /^\d+$/);
    assert.notEqual(pid, '2', 'not the first terminal shell');
    assert.equal(host, 'lab');
    note();
  });

  it('a failing cell is an error reply with ename ExitStatus', async function () {
    const r = await run(session!.kernel!, '(exit 3)');
    assert.equal(r.reply.status, 'error');
    const err = r.reply as KernelMessage.IReplyErrorContent;
    assert.equal(err.ename, 'ExitStatus');
    assert.match(err.evalue, /\b3\b/);
    assert.ok(r.iopub.includes('error'));
  });

  it('interrupts a running cell (the stop button)', async function () {
    const kernel = session!.kernel!;
    const future = kernel.requestExecute({ code: 'echo started; sleep 100' });
    await new Promise<void>((resolve) => {
      future.onIOPub = (msg) => {
        if (msg.header.msg_type === 'stream') resolve();
      };
    });
    const t0 = Date.now();
    await kernel.interrupt();
    const reply = (await future.done) as KernelMessage.IExecuteReplyMsg;
    future.dispose();
    assert.equal(reply.content.status, 'error');
    assert.equal((reply.content as KernelMessage.IReplyErrorContent).ename, 'Interrupted');
    assert.ok(Date.now() - t0 < 2000, `reply ${Date.now() - t0} ms after the interrupt`);
  });

  it('restarts: a new kernel process and a fresh lab', async function () {
    const kernel = session!.kernel!;
    await run(kernel, 'export NSLAB_E2E_MARK=before-restart; bash');
    const nested = await run(kernel, 'echo $$');
    assert.notEqual(nested.stdout, '2\n', 'in a nested shell');
    const before = kernelProcesses();
    note();
    await kernel.restart();
    await kernel.info;
    const r = await run(kernel, 'echo $$ ${NSLAB_E2E_MARK:-unset}; hostname');
    assert.equal(r.reply.status, 'ok');
    assert.equal(r.stdout, '2 unset\nlab\n');
    assert.equal(r.reply.execution_count, 1, 'the count starts again');
    assert.deepEqual(await waitGone(before, 5000), [], 'the old kernel process is gone');
    const now = kernelProcesses();
    assert.equal(now.length, 1);
    assert.ok(!before.some((p) => p.pid === now[0].pid), 'a new kernel process');
    note();
  });

  it('shuts the session down: the kernel and its lab exit', async function () {
    note();
    const kernels = kernelProcesses();
    const labs = kernels.flatMap((k) => descendants(k.pid));
    assert.ok(labs.length >= 2, `the kernel has its lab: ${formatProcs(labs)}`);
    await session!.shutdown();
    session!.dispose();
    session = null;
    const left = await waitGone([...kernels, ...labs], 10_000);
    assert.deepEqual(left, [], formatProcs(left));
    assert.deepEqual(await fetchJson('api/kernels'), [], 'the server runs no kernel');
    assert.deepEqual(await fetchJson('api/sessions'), [], 'nor a session');
  });

  it('stops the server (SIGTERM to its PID); nothing of it is left', async function () {
    note();
    await disposeManager(sessionManager);
    await disposeManager(kernelManager);
    server.kill('SIGTERM');
    const timer = setTimeout(() => server.kill('SIGKILL'), 20_000);
    const code = await serverExited;
    clearTimeout(timer);
    assert.notEqual(server.signalCode, 'SIGKILL', `jupyter-server did not stop on SIGTERM within 20 s:\n${serverLog.slice(-3000)}`);
    assert.ok(code === 0 || server.signalCode === 'SIGTERM', `exit ${code} ${server.signalCode}`);
    const left = await waitGone([...seen.values(), ...processesWithEnv('JPY_PARENT_PID', String(server.pid))], 5000);
    killAll(left);
    assert.deepEqual(left, [], leftoverMessage(left));
  });

  async function fetchJson(path: string): Promise<unknown> {
    const res = await ServerConnection.makeRequest(new URL(path, settings.baseUrl).href, {}, settings);
    assert.equal(res.status, 200, path);
    return res.json();
  }
});
