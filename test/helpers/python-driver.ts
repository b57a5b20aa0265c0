/**
 * A long-lived /usr/bin/python3 process that runs named scenarios on request, for tests that
 * make many small checks through a Python Jupyter client: the interpreter and jupyter_client are
 * loaded once, and kernels can be shared between scenarios.
 *
 * Protocol (see test/e2e/py/client_driver.py): one JSON request per line on the driver's stdin,
 * `{"id": N, "scenario": NAME, "args": {...}}`; one JSON answer per line on its file descriptor 3,
 * `{"id": N, "ok": true, "result": ...}` or `{"id": N, "ok": false, "error": TRACEBACK}`, after a
 * first `{"ready": true}`. fd 3 and not stdout, because the kernels it launches inherit its
 * stdout and stderr (their logs go there) but not fd 3 (Popen closes it).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { PYTHON, REPO, reapLaunched } from './kernelspec.js';
import { descendants, killAll, processesWithEnv, waitGone, type Proc } from './processes.js';

interface Answer {
  id?: number;
  ready?: boolean;
  ok?: boolean;
  result?: unknown;
  error?: string;
}

export class PythonDriver {
  private nextId = 1;
  private readonly waiting = new Map<number, (a: Answer) => void>();
  private log = '';
  private readonly logWaiters = new Set<() => void>();
  private exited = false;
  private readonly exitPromise: Promise<void>;

  private constructor(private readonly child: ChildProcess) {
    const verbose = !!process.env.NSLAB_E2E_VERBOSE;
    const keep = (d: string) => {
      if (verbose) process.stderr.write(d);
      this.log = (this.log + d).slice(-30_000);
      for (const w of [...this.logWaiters]) w();
    };
    child.stdout!.setEncoding('utf8').on('data', keep);
    child.stderr!.setEncoding('utf8').on('data', keep);
    let buffer = '';
    (child.stdio[3] as Readable).setEncoding('utf8').on('data', (d: string) => {
      buffer += d;
      for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (!line.trim()) continue;
        const answer = JSON.parse(line) as Answer;
        const key = answer.ready ? 0 : answer.id!;
        this.waiting.get(key)?.(answer);
        this.waiting.delete(key);
      }
    });
    this.exitPromise = new Promise((resolve) =>
      child.on('exit', (code, signal) => {
        this.exited = true;
        const err: Answer = { ok: false, error: `the Python driver exited (${signal ?? `exit status ${code}`})` };
        for (const w of this.waiting.values()) w(err);
        this.waiting.clear();
        resolve();
      }),
    );
  }

  /** Starts `/usr/bin/python3 SCRIPT` and waits for its `ready` line. */
  static async start(script: string, env: NodeJS.ProcessEnv, readyTimeoutMs = 30_000): Promise<PythonDriver> {
    const child = spawn(PYTHON, [script], { env, cwd: REPO, stdio: ['pipe', 'pipe', 'pipe', 'pipe'] });
    const driver = new PythonDriver(child);
    const ready = await driver.await(0, readyTimeoutMs, 'ready');
    if (!ready.ready) throw new Error(`the Python driver did not start: ${ready.error}\n${driver.recentLog()}`);
    return driver;
  }

  get pid(): number {
    return this.child.pid!;
  }

  get alive(): boolean {
    return !this.exited;
  }

  /** Resolves true once the log matches `re` (kernels log asynchronously), false after `timeoutMs`. */
  waitForLog(re: RegExp, timeoutMs = 5000): Promise<boolean> {
    return new Promise((resolve) => {
      const check = () => {
        if (!re.test(this.log)) return;
        finish(true);
      };
      const finish = (ok: boolean) => {
        clearTimeout(timer);
        this.logWaiters.delete(check);
        resolve(ok);
      };
      const timer = setTimeout(() => finish(false), timeoutMs);
      this.logWaiters.add(check);
      check();
    });
  }

  /** The last lines the driver and its kernels wrote to stdout/stderr (for failure messages). */
  recentLog(): string {
    return this.log.split('\n').slice(-40).join('\n');
  }

  /**
   * Runs a scenario and returns its result. A scenario that raised rejects with its traceback;
   * one that outlives `timeoutMs` kills the driver and its kernels (the next call needs a new driver).
   */
  async call<T>(scenario: string, args: Record<string, unknown> = {}, timeoutMs = 30_000): Promise<T> {
    if (this.exited) throw new Error('the Python driver is not running');
    const id = this.nextId++;
    const answer = this.await(id, timeoutMs, scenario);
    (this.child.stdin as Writable).write(JSON.stringify({ id, scenario, args }) + '\n');
    const a = await answer;
    if (!a.ok) throw new Error(`scenario ${scenario} failed:\n${a.error}\n--- recent driver/kernel log ---\n${this.recentLog()}`);
    return a.result as T;
  }

  private await(id: number, timeoutMs: number, what: string): Promise<Answer> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        this.kill();
        resolve({ ok: false, error: `no answer to ${what} within ${timeoutMs} ms; the driver and its kernels were killed` });
      }, timeoutMs);
      this.waiting.set(id, (a) => {
        clearTimeout(timer);
        resolve(a);
      });
    });
  }

  /** Kills the driver and everything it launched, at once. */
  kill(): void {
    if (this.exited) return;
    const tree = [...descendants(this.pid), ...processesWithEnv('JPY_PARENT_PID', String(this.pid))];
    this.child.kill('SIGKILL');
    killAll(tree);
  }

  /**
   * Asks the driver to shut its kernels down and exit (EOF on stdin); kills it if it takes longer
   * than `timeoutMs`. Returns the processes it launched that were still running (now killed).
   */
  async close(timeoutMs = 30_000): Promise<Proc[]> {
    // While the driver runs, its kernels and their labs are its descendants.
    const tree = this.exited ? [] : descendants(this.pid);
    if (!this.exited) {
      (this.child.stdin as Writable).end();
      const timer = setTimeout(() => this.kill(), timeoutMs);
      await this.exitPromise;
      clearTimeout(timer);
    }
    const leftovers = await reapLaunched(this.pid, 3000);
    const stray = await waitGone(tree, 3000);
    killAll(stray);
    leftovers.push(...stray.filter((p) => !leftovers.some((l) => l.pid === p.pid)));
    for (const s of [this.child.stdout, this.child.stderr, this.child.stdio[3]]) (s as Readable | null)?.destroy();
    return leftovers;
  }
}
