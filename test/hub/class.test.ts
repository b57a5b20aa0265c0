/**
 * A class on JupyterHub, for real (issue 20): `npm run hub` (scripts/hub/run-hub.sh) with
 * DockerSpawner starting the nslab image per student. Runs only from `npm run test:hub`
 * (NSLAB_HUB_TESTS=1: it needs root, a Docker engine and the image; `npm test` skips it).
 * NSLAB_HUB_STUDENTS sets the class size (10 in CI), NSLAB_HUB_IMAGE the image (nslab-test,
 * what npm run test:docker builds).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import { KernelManager, type Kernel } from '@jupyterlab/services';
import { formatProcs, waitGone, type Proc } from '../helpers/processes.js';
import { disposeManager, docker, Hub, hubPrerequisite, notebookCells, root, runCell, runNotebook, sleep } from './harness.js';

const IMAGE = process.env.NSLAB_HUB_IMAGE ?? 'nslab-test';
const N = Number(process.env.NSLAB_HUB_STUDENTS ?? 10);
const PID_NOTEBOOK = notebookCells(path.join(root, 'notebooks/01-pid-namespace.ipynb'));

function median(xs: number[]): number { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; }

/** A kernel of a student's server through the hub's proxy, with the student's token. */
async function studentKernel(hub: Hub, name: string): Promise<{ km: KernelManager; kernel: Kernel.IKernelConnection; token: string }> {
  const token = await hub.userToken(name);
  const km = new KernelManager({ serverSettings: hub.settings(name, token) });
  await km.ready;
  const kernel = await km.startNew({ name: 'nslab' });
  await kernel.info;
  return { km, kernel, token };
}

describe('hub: a class on JupyterHub with DockerSpawner @slow', function () {
  this.timeout(15 * 60 * 1000);
  let hub: Hub;

  before(async function () {
    if (process.env.NSLAB_HUB_TESTS !== '1') this.skip();   // npm run test:hub sets it
    const why = hubPrerequisite(IMAGE);
    if (why) throw new Error(`the hub tests need root, a Docker engine and the image: ${why}`);
    hub = await Hub.start({ image: IMAGE });
  });

  after(async function () {
    if (!hub) return;
    const code = await hub.stop();
    const left = docker('ps', '-aq', '--filter', `name=nslab-hub-${hub.userPrefix}`).stdout.trim();
    const net = docker('network', 'ls', '-q', '--filter', `name=${hub.network}`).stdout.trim();
    await hub.removeState();
    assert.equal(code, 0, `run-hub.sh stopped with status ${code}:\n${hub.tail()}`);
    assert.equal(left, '', 'stopping the hub removed every student container');
    assert.equal(net, '', 'and the network it made');
  });

  it(`${N} students run 01-pid-namespace at the same time through the proxy, all checks pass; nothing of theirs is left after their servers stop`, async () => {
    const names = Array.from({ length: N }, (_, i) => hub.userName(i + 1));
    await hub.createUsers(names);
    const spawnMs = await Promise.all(names.map((n) => hub.startServer(n)));
    const tokens = await Promise.all(names.map((n) => hub.userToken(n)));
    const results = await Promise.all(names.map((n, i) => runNotebook(hub.settings(n, tokens[i]), PID_NOTEBOOK)));
    console.log(`      spawn ${N}: median ${median(spawnMs)} ms, max ${Math.max(...spawnMs)} ms; Run-All of 01: median ${median(results.map((r) => r.ms))} ms, max ${Math.max(...results.map((r) => r.ms))} ms`);
    results.forEach((r, i) => assert.deepEqual(r.problems, [], `${names[i]}: every check of 01 passes`));
    const procs: Proc[] = names.flatMap((n) => hub.containerProcesses(n));
    assert.ok(procs.length >= N, `the containers' processes are seen (${procs.length})`);
    await Promise.all(names.map((n) => hub.stopServer(n)));
    const left = await waitGone(procs, 20_000);
    assert.deepEqual(left, [], `no process of any student's container is left:\n${formatProcs(left)}`);
    for (const n of names) assert.equal(docker('ps', '-aq', '--filter', `name=^${hub.containerName(n)}$`).stdout.trim(), '', `${n}'s container is gone`);
  });

  it('a student\'s home has the notebooks on first start and keeps their work across a restart of their server', async () => {
    const name = hub.userName(1);   // created and stopped above; its volume stays
    await hub.startServer(name);
    const token = await hub.userToken(name);
    const s = hub.settings(name, token);
    const put = await fetch(`${s.baseUrl}api/contents/my-notes.txt`, {
      method: 'PUT', headers: { Authorization: `token ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ type: 'file', format: 'text', content: 'kept' }),
    });
    assert.ok(put.ok, `PUT my-notes.txt: ${put.status}`);
    await hub.stopServer(name);
    await hub.startServer(name);
    const listing = await (await fetch(`${s.baseUrl}api/contents`, { headers: { Authorization: `token ${token}` } })).json() as { content: { name: string }[] };
    const files = listing.content.map((c) => c.name).sort();
    assert.ok(files.includes('01-pid-namespace.ipynb') && files.includes('08-time-namespace.ipynb'), `the tutorial notebooks: ${files}`);
    assert.ok(files.includes('my-notes.txt'), `the student's file survived the restart: ${files}`);
    await hub.stopServer(name);
  });

  it('least privilege: uid 1000, no capabilities, no-new-privileges, limits; the lab still works', async () => {
    const name = hub.userName(2);
    await hub.startServer(name);
    const c = hub.containerName(name);
    const inspect = JSON.parse(docker('inspect', c).stdout)[0] as { Config: { User: string }; HostConfig: Record<string, unknown> };
    assert.equal(inspect.Config.User, '1000:1000');
    assert.deepEqual(inspect.HostConfig.CapDrop, ['ALL']);
    assert.equal(inspect.HostConfig.CapAdd, null);
    assert.equal(inspect.HostConfig.Privileged, false);
    assert.ok((inspect.HostConfig.SecurityOpt as string[]).includes('no-new-privileges'));
    assert.ok((inspect.HostConfig.PidsLimit as number) > 0 && (inspect.HostConfig.Memory as number) > 0 && (inspect.HostConfig.CpuQuota as number) > 0);
    // What a student's terminal in JupyterLab gets: a shell in the container as uid 1000.
    const status = docker('exec', c, 'sh', '-c', 'id -u; grep -E "^(CapEff|CapPrm|CapBnd|NoNewPrivs)" /proc/self/status; echo x > /proc/sys/kernel/hostname 2>&1 || echo "sysctl refused"');
    assert.match(status.stdout, /^1000\nCapPrm:\t0+\nCapEff:\t0+\nCapBnd:\t0+\nNoNewPrivs:\t1\n.*sysctl refused/s, status.stdout + status.stderr);
    const { km, kernel } = await studentKernel(hub, name);
    try {
      const r = await runCell(kernel, 'echo $$ $(hostname); unshare --pid --fork --mount-proc ps -e -o pid=,comm=');
      assert.equal(r.status, 'ok', r.text);
      assert.match(r.text, /^2 lab\n\s+1 ps\n/);
    } finally { await kernel.shutdown(); await disposeManager(km); }
    await hub.stopServer(name);
  });
});

describe('hub: one student\'s fork bomb or memory hog, faults @slow', function () {
  this.timeout(15 * 60 * 1000);
  let hub: Hub;
  let bad: string;
  let good: string;

  before(async function () {
    if (process.env.NSLAB_HUB_TESTS !== '1') this.skip();
    const why = hubPrerequisite(IMAGE);
    if (why) throw new Error(`the hub tests need root, a Docker engine and the image: ${why}`);
    hub = await Hub.start({ image: IMAGE });
    bad = hub.userName(1); good = hub.userName(2);
    await hub.createUsers([bad, good]);
    await Promise.all([hub.startServer(bad), hub.startServer(good)]);
  });

  after(async function () {
    if (!hub) return;
    const code = await hub.stop();
    await hub.removeState();
    assert.equal(code, 0, `run-hub.sh stopped with status ${code}:\n${hub.tail()}`);
  });

  /** Times a trivial cell of the other student and a hub API call while `during` runs. */
  async function othersAnswer(goodKernel: Kernel.IKernelConnection, during: Promise<unknown>): Promise<{ cellMs: number[]; apiMs: number[] }> {
    const cellMs: number[] = [];
    const apiMs: number[] = [];
    let done = false;
    void during.finally(() => { done = true; });
    while (!done || cellMs.length < 3) {
      const r = await runCell(goodKernel, 'echo $((6*7))');
      assert.equal(r.text.trim(), '42');
      cellMs.push(r.ms);
      const t0 = Date.now();
      assert.equal((await hub.api('GET', '/')).status, 200);
      apiMs.push(Date.now() - t0);
      await sleep(200);
    }
    return { cellMs, apiMs };
  }

  for (const [what, code, message] of [
    ['a fork bomb', '#| timeout: 20\nbomb() { bomb | bomb & }; bomb; sleep 15', /fork: (retry: )?Resource temporarily unavailable/],
    ['a memory hog', 'python3 -c "b = bytearray(4 * 1024**3)"', /Killed|MemoryError/],
  ] as const) {
    it(`${what} in one student's lab: the hub and another student's cells keep answering; the student gets a message and a working kernel after restart`, async () => {
      const a = await studentKernel(hub, bad);
      const b = await studentKernel(hub, good);
      try {
        const baseline = (await othersAnswer(b.kernel, sleep(1500))).cellMs;
        const badRun = runCell(a.kernel, code);
        const during = await othersAnswer(b.kernel, badRun);
        const r = await badRun;
        console.log(`      ${what}: other student's cell median ${median(baseline)} ms alone, ${median(during.cellMs)} ms (max ${Math.max(...during.cellMs)}) during; hub API max ${Math.max(...during.apiMs)} ms; the student saw: ${JSON.stringify(r.text.split('\n').filter(Boolean).slice(-2))}`);
        assert.match(r.text, message, 'the student is told what happened');
        assert.ok(median(during.cellMs) < Math.max(3 * median(baseline), 1000), `the other student's cells answer as usual (${median(baseline)} → ${median(during.cellMs)} ms)`);
        await a.kernel.restart();
        await a.kernel.info;
        const after = await runCell(a.kernel, 'echo $$; ps -e --no-headers | wc -l');
        assert.equal(after.status, 'ok');
        assert.match(after.text, /^2\n\s*[345]\n$/, `a fresh lab after the restart: ${after.text}`);
      } finally {
        for (const s of [a, b]) { await s.kernel.shutdown().catch(() => undefined); await disposeManager(s.km); }
      }
    });
  }

  it('a student cannot reach another student\'s server, files, processes or network', async () => {
    const badToken = await hub.userToken(bad);
    const other = await fetch(`${hub.url}/user/${good}/api/contents`, { headers: { Authorization: `token ${badToken}` }, redirect: 'manual' });
    assert.ok([302, 403, 404].includes(other.status), `another student's server with my token: ${other.status}`);
    const goodIp = docker('inspect', '-f', `{{(index .NetworkSettings.Networks "${hub.network}").IPAddress}}`, hub.containerName(good)).stdout.trim();
    assert.match(goodIp, /^\d+\.\d+\.\d+\.\d+$/);
    // What the student's JupyterLab terminal can do: a shell in their container (uid 1000).
    const probe = docker('exec', hub.containerName(bad), 'python3', '-c', `
import os, socket
s = socket.socket(); s.settimeout(3)
try: s.connect((${JSON.stringify(goodIp)}, 8888)); print("net: reached")
except OSError as e: print("net:", type(e).__name__)
try: socket.create_connection(("1.1.1.1", 80), timeout=3); print("out: reached")
except OSError as e: print("out:", type(e).__name__)
print("procs:", sorted({open(f"/proc/{p}/cmdline").read().split(chr(0))[0].rsplit("/", 1)[-1] for p in os.listdir("/proc") if p.isdigit()}))
print("home:", sorted(os.listdir("/home")))
`);
    console.log(`      from ${bad}'s terminal: ${probe.stdout.trim().replace(/\n/g, '; ')}`);
    assert.match(probe.stdout, /^net: (timeout|TimeoutError|ConnectionRefusedError|OSError)/m, 'no connection to another student\'s container');
    assert.match(probe.stdout, /^out: (timeout|TimeoutError|OSError|ConnectionRefusedError)/m, 'no connection out of the students\' network');
    assert.doesNotMatch(probe.stdout, new RegExp(good), 'nothing of the other student in sight');
    assert.match(probe.stdout, /^home: \['student'\]$/m);
  });

  it('a crashed student server is noticed by the hub and starts again', async () => {
    docker('kill', hub.containerName(bad));
    await hub.waitServer(bad, false, 120_000);
    await hub.startServer(bad);
    const a = await studentKernel(hub, bad);
    try { assert.equal((await runCell(a.kernel, 'hostname')).text.trim(), 'lab'); } finally { await a.kernel.shutdown(); await disposeManager(a.km); }
  });

  it('a restart of the hub leaves students\' servers and labs running', async () => {
    const b = await studentKernel(hub, good);
    try {
      await runCell(b.kernel, 'export WORK=kept; sleep 1000 &');
      await hub.restartHub();
      const r = await runCell(b.kernel, 'echo $WORK $$; jobs');
      assert.match(r.text, /^kept 2\n\[1\]\+ +Running +sleep 1000 &\n$/, `the same lab after the hub restarted: ${r.text}`);
    } finally { await b.kernel.shutdown(); await disposeManager(b.km); }
  });
});

describe('hub: npm run hub refuses clearly and starts nothing', function () {
  this.timeout(60_000);
  before(function () { if (process.env.NSLAB_HUB_TESTS !== '1') this.skip(); });

  function runHub(env: Record<string, string>): { status: number | null; out: string; ms: number } {
    const t0 = Date.now();
    const r = spawnSync('bash', [path.join(root, 'scripts/hub/run-hub.sh')], {
      env: { ...process.env, NSLAB_HUB_NETWORK: 'nslab-hub-refused', ...env }, encoding: 'utf8', timeout: 50_000,
    });
    return { status: r.status, out: `${r.stdout}${r.stderr}`, ms: Date.now() - t0 };
  }

  it('a port in use', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    try {
      const r = runHub({ NSLAB_HUB_PORT: String(port), NSLAB_HUB_DIR: '/nonexistent/nslab-hub' });
      assert.equal(r.status, 1, r.out);
      assert.match(r.out, new RegExp(`error: port ${port} on 127\\.0\\.0\\.1 is in use`));
      assert.ok(!existsSync('/nonexistent/nslab-hub'), 'nothing was made');
    } finally { server.close(); }
  });

  it('dockerd missing', () => {
    // No engine answers (a socket nobody listens on) and no dockerd on PATH.
    const r = runHub({ DOCKER_HOST: 'unix:///nonexistent/docker.sock', PATH: '/usr/local/bin:/usr/bin:/bin', NSLAB_HUB_DIR: '/nonexistent/nslab-hub' });
    assert.equal(r.status, 1, r.out);
    assert.match(r.out, /error: dockerd is not installed \(Debian: apt-get install docker\.io\); nothing was started/);
    assert.equal(docker('network', 'ls', '-q', '--filter', 'name=nslab-hub-refused').stdout.trim(), '');
  });

  it('bad input: a port that is not a number', () => {
    const r = runHub({ NSLAB_HUB_PORT: '80a', NSLAB_HUB_DIR: '/nonexistent/nslab-hub' });
    assert.equal(r.status, 1, r.out);
    assert.match(r.out, /error: port '80a' is not a port number/);
  });
});

describe('hub: the idle culler stops an idle server @slow', function () {
  this.timeout(5 * 60 * 1000);
  let hub: Hub;
  before(async function () {
    if (process.env.NSLAB_HUB_TESTS !== '1') this.skip();
    const why = hubPrerequisite(IMAGE);
    if (why) throw new Error(`the hub tests need root, a Docker engine and the image: ${why}`);
    hub = await Hub.start({ image: IMAGE, env: { NSLAB_HUB_CULL_IDLE: '20', NSLAB_HUB_CULL_EVERY: '10' } });
  });
  after(async function () {
    if (!hub) return;
    await hub.stop();
    await hub.removeState();
  });

  it('a server nobody uses is stopped after the idle timeout; its home stays', async () => {
    const name = hub.userName(1);
    await hub.createUsers([name]);
    await hub.startServer(name);
    const t0 = Date.now();
    await hub.waitServer(name, false, 180_000);
    console.log(`      culled ${((Date.now() - t0) / 1000).toFixed(0)} s after it was ready (timeout 20 s, checked every 10 s)`);
    assert.equal(docker('ps', '-aq', '--filter', `name=^${hub.containerName(name)}$`).stdout.trim(), '');
    assert.equal(docker('volume', 'inspect', '-f', '{{.Name}}', hub.containerName(name)).stdout.trim(), hub.containerName(name));
  });
});
