/**
 * Drives `npm run hub` (scripts/hub/run-hub.sh) for the hub tests and the class benchmark: starts
 * it on free ports with a network and state folder of its own, talks to JupyterHub's REST API
 * with an admin service token, and runs notebook cells in a student's server through the hub's
 * proxy with @jupyterlab/services and the student's own token (the path JupyterLab takes).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { KernelManager, ServerConnection, type Kernel, type KernelMessage } from '@jupyterlab/services';
import WebSocket from 'ws';
import { freePorts } from '../helpers/net.js';
import { descendants, readProc, type Proc } from '../helpers/processes.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const root = [path.resolve(here, '../../..'), path.resolve(here, '../..')].find((d) => existsSync(path.join(d, 'package.json')))!;

export function docker(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('docker', args, { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** Is a Docker engine answering and the image there? A reason why not, or null. */
export function hubPrerequisite(image: string): string | null {
  if (process.getuid?.() !== 0) return 'not root';
  if (docker('info').status !== 0) return 'no Docker engine answers (npm run test:hub starts one)';
  if (docker('image', 'inspect', image).status !== 0) return `no image ${image}`;
  return null;
}

export interface StartOptions {
  image: string;
  env?: Record<string, string>;
}

export class Hub {
  readonly url: string;
  readonly token = randomBytes(24).toString('hex');
  /** Everything run-hub.sh and the hub printed. */
  output = '';
  /** Prefix of this hub's user names, so that containers and volumes are this run's only. */
  readonly userPrefix = `t${process.pid % 100000}${randomBytes(2).toString('hex')}`;
  readonly network: string;
  private child: ChildProcess | null = null;
  private exited: Promise<number | null> | null = null;

  private constructor(readonly port: number, readonly proxyApiPort: number, readonly hubPort: number, readonly dir: string, readonly options: StartOptions) {
    this.url = `http://127.0.0.1:${port}`;
    this.network = `nslab-hub-${this.userPrefix}`;
  }

  static async start(options: StartOptions): Promise<Hub> {
    const [port, proxyApiPort, hubPort] = await freePorts(3);
    const dir = await mkdtemp(path.join(tmpdir(), 'nslab-hub-'));
    const hub = new Hub(port, proxyApiPort, hubPort, dir, options);
    await hub.launch();
    return hub;
  }

  /** The environment run-hub.sh gets. */
  env(): NodeJS.ProcessEnv {
    return {
      ...process.env,
      NSLAB_HUB_PORT: String(this.port), NSLAB_HUB_PROXY_API_PORT: String(this.proxyApiPort), NSLAB_HUB_HUB_PORT: String(this.hubPort),
      NSLAB_HUB_DIR: this.dir, NSLAB_HUB_IMAGE: this.options.image, NSLAB_HUB_NETWORK: this.network,
      NSLAB_HUB_ADMIN_TOKEN: this.token, ...this.options.env,
    };
  }

  private launch(): Promise<void> {
    const child = spawn('bash', [path.join(root, 'scripts/hub/run-hub.sh')], { env: this.env(), stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the hub was not ready in 180 s:\n${this.tail()}`)), 180_000);
      const onData = (d: Buffer) => {
        this.output += d.toString();
        if (/^\[hub\] ready: /m.test(this.output)) { clearTimeout(timer); resolve(); }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`run-hub.sh exited (${code}) before it was ready:\n${this.tail()}`)); });
    });
  }

  tail(lines = 40): string { return this.output.split('\n').slice(-lines).join('\n'); }

  /** run-hub.sh's PID (SIGHUP restarts the hub, SIGTERM stops everything). */
  get pid(): number { return this.child!.pid!; }

  /** Restarts only the hub process (SIGHUP to run-hub.sh) and waits until it answers again. */
  async restartHub(): Promise<void> {
    const mark = this.output.length;
    process.kill(this.pid, 'SIGHUP');
    const t0 = Date.now();
    while (Date.now() - t0 < 120_000) {
      if (/JupyterHub is now running/.test(this.output.slice(mark))) {
        const r = await fetch(`${this.url}/hub/api/`).catch(() => null);
        if (r?.ok) return;
      }
      await sleep(250);
    }
    throw new Error(`the hub did not come back in 120 s:\n${this.tail()}`);
  }

  /** Stops run-hub.sh (SIGTERM) and waits for it; its exit status. */
  async stop(): Promise<number | null> {
    if (!this.child) return null;
    if (this.child.exitCode === null) this.child.kill('SIGTERM');
    const code = await this.exited;
    this.child = null;
    return code;
  }

  /** Removes this run's student volumes and the state folder (after stop). */
  async removeState(): Promise<void> {
    const vols = docker('volume', 'ls', '-q', '--filter', `name=nslab-hub-${this.userPrefix}`).stdout.split('\n')
      .filter((v) => v.startsWith(`nslab-hub-${this.userPrefix}`));
    if (vols.length) docker('volume', 'rm', '-f', ...vols);
    await rm(this.dir, { recursive: true, force: true });
  }

  async api<T = unknown>(method: string, apiPath: string, body?: unknown): Promise<{ status: number; body: T }> {
    const r = await fetch(`${this.url}/hub/api${apiPath}`, {
      method, headers: { Authorization: `token ${this.token}`, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    let parsed: unknown = text;
    try { parsed = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
    return { status: r.status, body: parsed as T };
  }

  userName(i: number): string { return `${this.userPrefix}s${String(i).padStart(2, '0')}`; }

  async createUsers(names: string[]): Promise<void> {
    const r = await this.api('POST', '/users', { usernames: names });
    if (r.status !== 201) throw new Error(`POST /users: ${r.status} ${JSON.stringify(r.body)}`);
  }

  /** Starts a user's server and waits until the hub says it is ready; milliseconds taken. */
  async startServer(name: string, timeoutMs = 240_000): Promise<number> {
    const t0 = Date.now();
    const r = await this.api('POST', `/users/${name}/server`);
    if (r.status !== 201 && r.status !== 202) throw new Error(`POST /users/${name}/server: ${r.status} ${JSON.stringify(r.body)}`);
    await this.waitServer(name, true, timeoutMs);
    return Date.now() - t0;
  }

  async waitServer(name: string, ready: boolean, timeoutMs = 120_000): Promise<void> {
    const t0 = Date.now();
    for (;;) {
      const u = await this.api<{ servers: Record<string, { ready: boolean }> }>('GET', `/users/${name}`);
      const s = u.body.servers?.[''];
      if (ready ? s?.ready : !s) return;
      if (Date.now() - t0 > timeoutMs) throw new Error(`${name}'s server not ${ready ? 'ready' : 'stopped'} after ${timeoutMs} ms: ${JSON.stringify(u.body)}`);
      await sleep(250);
    }
  }

  async stopServer(name: string): Promise<void> {
    const r = await this.api('DELETE', `/users/${name}/server`);
    if (r.status !== 204 && r.status !== 202) throw new Error(`DELETE /users/${name}/server: ${r.status} ${JSON.stringify(r.body)}`);
    await this.waitServer(name, false);
  }

  /** A new API token of the user's own (what the student's browser session amounts to). */
  async userToken(name: string): Promise<string> {
    const r = await this.api<{ token: string }>('POST', `/users/${name}/tokens`, { note: 'nslab hub test', expires_in: 3600 });
    if (r.status !== 201) throw new Error(`POST /users/${name}/tokens: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body.token;
  }

  /** @jupyterlab/services settings for a user's server through the hub's proxy. */
  settings(name: string, token: string): ServerConnection.ISettings {
    const baseUrl = `${this.url}/user/${name}/`;
    // jupyterhub-singleuser (JupyterHub 6) does not take a token in a websocket's URL; a browser
    // sends its login cookie, this client the student's token in the Authorization header.
    class TokenWebSocket extends WebSocket {
      constructor(url: string, protocols?: string | string[]) {
        super(url, protocols, { headers: { Authorization: `token ${token}` } });
      }
    }
    return ServerConnection.makeSettings({
      baseUrl, wsUrl: baseUrl.replace(/^http/, 'ws'), token, appendToken: false,
      WebSocket: TokenWebSocket as unknown as typeof globalThis.WebSocket,
      fetch: globalThis.fetch, Request: globalThis.Request, Headers: globalThis.Headers,
    });
  }

  containerName(name: string): string { return `nslab-hub-${name}`; }

  /** The container's processes as this machine sees them (its init and everything under it). */
  containerProcesses(name: string): Proc[] {
    const pid = Number(docker('inspect', '-f', '{{.State.Pid}}', this.containerName(name)).stdout.trim());
    if (!pid) return [];
    const init = readProc(pid);
    return init ? [init, ...descendants(pid)] : descendants(pid);
  }
}

export function sleep(ms: number): Promise<void> { return new Promise((r) => setTimeout(r, ms)); }

/** Disposes a KernelManager: its model poll first (it would keep Node alive 10 s). */
export async function disposeManager(m: KernelManager): Promise<void> {
  if (m.isDisposed) return;
  await (m as unknown as { _pollModels?: { stop(): Promise<void> } })._pollModels?.stop();
  m.dispose();
}

export interface CellResult { status: string; ename?: string; evalue?: string; text: string; ms: number }

/** Runs `code` as a notebook cell does; its reply and output text. */
export async function runCell(kernel: Kernel.IKernelConnection, code: string): Promise<CellResult> {
  const t0 = Date.now();
  const future = kernel.requestExecute({ code, stop_on_error: true, allow_stdin: false });
  let text = '';
  future.onIOPub = (msg) => {
    const t = msg.header.msg_type;
    if (t === 'stream') text += (msg.content as KernelMessage.IStreamMsg['content']).text;
    else if (t === 'error') text += (msg.content as KernelMessage.IErrorMsg['content']).evalue + '\n';
    else if (t === 'display_data') {
      const plain = (msg.content as KernelMessage.IDisplayDataMsg['content']).data['text/plain'];
      text += typeof plain === 'string' ? plain : '';
    }
  };
  const reply = (await future.done) as KernelMessage.IExecuteReplyMsg;
  future.dispose();
  const c = reply.content as { status: string; ename?: string; evalue?: string };
  return { status: c.status, ename: c.ename, evalue: c.evalue, text, ms: Date.now() - t0 };
}

export interface NotebookCell { source: string; tags: string[] }

export function notebookCells(file: string): NotebookCell[] {
  const nb = JSON.parse(readFileSync(file, 'utf8')) as { cells: { cell_type: string; source: string | string[]; metadata: { tags?: string[] } }[] };
  return nb.cells.filter((c) => c.cell_type === 'code').map((c) => ({
    source: Array.isArray(c.source) ? c.source.join('') : c.source, tags: c.metadata.tags ?? [],
  }));
}

/**
 * Run-All of a notebook in a fresh kernel of the user's server, judged like `npm run rerun`:
 * a cell tagged raises-exception must fail (not by ExpectationFailed), every other cell must
 * succeed. Problems found (empty: all checks passed) and the time of the Run-All.
 */
export async function runNotebook(settings: ServerConnection.ISettings, cells: NotebookCell[]): Promise<{ problems: string[]; ms: number }> {
  const km = new KernelManager({ serverSettings: settings });
  const problems: string[] = [];
  let kernel: Kernel.IKernelConnection | null = null;
  const t0 = Date.now();
  try {
    await km.ready;
    kernel = await km.startNew({ name: 'nslab' });
    await kernel.info;
    for (const [i, cell] of cells.entries()) {
      const r = await runCell(kernel, cell.source);
      const tagged = cell.tags.includes('raises-exception');
      if (r.ename === 'ExpectationFailed') problems.push(`cell ${i + 1}: ${r.evalue}\n${r.text}`);
      else if (tagged && r.status === 'ok') problems.push(`cell ${i + 1}: tagged raises-exception but succeeded`);
      else if (!tagged && r.status !== 'ok') problems.push(`cell ${i + 1}: ${r.status} ${r.ename ?? ''} ${r.evalue ?? ''}\n${r.text}`);
    }
    return { problems, ms: Date.now() - t0 };
  } finally {
    if (kernel) await kernel.shutdown().catch(() => undefined);
    await disposeManager(km);
  }
}
