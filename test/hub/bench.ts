/**
 * How many students fit (issue 20): a benchmark, not a test. Starts `npm run hub` with the image,
 * then for N students (NSLAB_HUB_BENCH_N, default 20): spawn time from "start server" to an idle
 * nslab kernel; Run-All of 01-pid-namespace for one student alone, then for all N at once;
 * memory per student (container total, and the server, kernel and lab processes) at idle and at
 * peak. Prints a table. Run as root with a Docker engine: npm run bench:hub.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { KernelManager } from '@jupyterlab/services';
import { descendants, readProc } from '../helpers/processes.js';
import { disposeManager, docker, Hub, hubPrerequisite, notebookCells, root, runNotebook, sleep } from './harness.js';

const IMAGE = process.env.NSLAB_HUB_IMAGE ?? 'nslab-test';
const N = Number(process.env.NSLAB_HUB_BENCH_N ?? 20);
const CELLS = notebookCells(path.join(root, 'notebooks/01-pid-namespace.ipynb'));

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}
const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(0);

function rssOf(pid: number): number {
  try { return Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024; } catch { return 0; }
}

interface Mem { container: number; server: number; kernel: number; lab: number }

/** Memory of a student's container: its cgroup's usage, and RSS by part (server, kernel, lab). */
function memory(hub: Hub, name: string): Mem {
  const id = docker('inspect', '-f', '{{.Id}}', hub.containerName(name)).stdout.trim();
  let container = 0;
  for (const f of [`/sys/fs/cgroup/memory/docker/${id}/memory.usage_in_bytes`, `/sys/fs/cgroup/docker/${id}/memory.current`]) {
    try { container = Number(readFileSync(f, 'utf8')); break; } catch { /* the other cgroup version */ }
  }
  // usage_in_bytes counts page cache too; subtract the cache for the memory the student's processes use.
  try {
    const stat = readFileSync(`/sys/fs/cgroup/memory/docker/${id}/memory.stat`, 'utf8');
    container -= Number(/^total_inactive_file (\d+)/m.exec(stat)?.[1] ?? 0);
  } catch { /* cgroup v2 */ }
  const init = Number(docker('inspect', '-f', '{{.State.Pid}}', hub.containerName(name)).stdout.trim());
  const m: Mem = { container, server: 0, kernel: 0, lab: 0 };
  const procs = [readProc(init), ...descendants(init)].filter((p) => p !== null);
  const kernels = new Set(procs.filter((p) => /main\.js kernel/.test(p.cmd)).map((p) => p.pid));
  const labPids = new Set(procs.filter((p) => kernels.has(p.ppid)).flatMap((p) => [p.pid, ...descendants(p.pid).map((d) => d.pid)]));
  for (const p of procs) {
    const rss = rssOf(p.pid);
    if (kernels.has(p.pid)) m.kernel += rss;
    else if (labPids.has(p.pid)) m.lab += rss;
    else if (/jupyterhub-singleuser/.test(p.cmd)) m.server += rss;
  }
  return m;
}

async function main(): Promise<void> {
  const why = hubPrerequisite(IMAGE);
  if (why) throw new Error(`bench:hub needs root, a Docker engine and the image ${IMAGE}: ${why}`);
  const hub = await Hub.start({ image: IMAGE, env: { NSLAB_HUB_CULL_IDLE: '86400' } });
  try {
    const names = Array.from({ length: N }, (_, i) => hub.userName(i + 1));
    await hub.createUsers(names);
    // Spawn: all at once, as a class starting together; "ready" = an idle nslab kernel.
    const tokens: string[] = [];
    const spawnMs = await Promise.all(names.map(async (n, i) => {
      const t0 = Date.now();
      await hub.startServer(n);
      tokens[i] = await hub.userToken(n);
      const km = new KernelManager({ serverSettings: hub.settings(n, tokens[i]) });
      await km.ready;
      const k = await km.startNew({ name: 'nslab' });
      await k.info;
      const ms = Date.now() - t0;
      await k.shutdown(); await disposeManager(km);
      return ms;
    }));
    await sleep(3000);
    const idle = names.map((n) => memory(hub, n));
    // One student alone (three runs, the median), then everyone at once.
    const alone: number[] = [];
    const aloneCpu0 = containerCpu(hub, names[0]);
    const aloneSelf0 = process.cpuUsage();
    for (let i = 0; i < 3; i++) {
      const r = await runNotebook(hub.settings(names[0], tokens[0]), CELLS);
      if (r.problems.length) throw new Error(`01 failed for one student alone: ${r.problems[0]}`);
      alone.push(r.ms);
    }
    const aloneCpu = (containerCpu(hub, names[0]) - aloneCpu0) / 3;
    const aloneSelf = process.cpuUsage(aloneSelf0);
    const aloneClient = (aloneSelf.user + aloneSelf.system) / 1e6 / 3;
    const peak: Mem[] = names.map(() => ({ container: 0, server: 0, kernel: 0, lab: 0 }));
    let running = true;
    const sampler = (async () => {
      while (running) {
        names.forEach((n, i) => { const m = memory(hub, n); for (const k of Object.keys(m) as (keyof Mem)[]) peak[i][k] = Math.max(peak[i][k], m[k]); });
        await sleep(300);
      }
    })();
    const cpu0 = cpuSeconds();
    const containers0 = names.map((n) => containerCpu(hub, n));
    const self0 = process.cpuUsage();
    const t0 = Date.now();
    const all = await Promise.all(names.map((n, i) => runNotebook(hub.settings(n, tokens[i]), CELLS)));
    const wall = (Date.now() - t0) / 1000;
    const cpu = cpuSeconds() - cpu0;
    const inContainers = names.reduce((sum, n, i) => sum + containerCpu(hub, n) - containers0[i], 0);
    const selfCpu = process.cpuUsage(self0);
    const client = (selfCpu.user + selfCpu.system) / 1e6;
    running = false; await sampler;
    const failed = all.filter((r) => r.problems.length).length;
    const allMs = all.map((r) => r.ms);
    const single = pct(alone, 50);
    const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const row = (label: string, m: Mem[]) => console.log(`| ${label.padEnd(28)} | ${mb(avg(m.map((x) => x.container))).padStart(9)} | ${mb(avg(m.map((x) => x.server))).padStart(6)} | ${mb(avg(m.map((x) => x.kernel))).padStart(6)} | ${mb(avg(m.map((x) => x.lab))).padStart(5)} |`);
    console.log(`\nnslab on JupyterHub: ${N} students, image ${IMAGE}, ${(await import('node:os')).cpus().length} CPUs, ${mb((await import('node:os')).totalmem())} MiB RAM\n`);
    console.log(`| measure                              | p50      | p95      |`);
    console.log(`|--------------------------------------|----------|----------|`);
    console.log(`| spawn → idle kernel, ${String(N).padStart(2)} at once         | ${(pct(spawnMs, 50) / 1000).toFixed(1).padStart(6)} s | ${(pct(spawnMs, 95) / 1000).toFixed(1).padStart(6)} s |`);
    console.log(`| Run-All of 01, one student alone     | ${(single / 1000).toFixed(1).padStart(6)} s | ${(pct(alone, 95) / 1000).toFixed(1).padStart(6)} s |`);
    console.log(`| Run-All of 01, ${String(N).padStart(2)} students at once   | ${(pct(allMs, 50) / 1000).toFixed(1).padStart(6)} s | ${(pct(allMs, 95) / 1000).toFixed(1).padStart(6)} s |`);
    console.log(`\np95 with ${N} at once / one alone: ${(pct(allMs, 95) / single).toFixed(2)}× (goal < 3×); ${failed} of ${N} Run-Alls had a failed check`);
    console.log(`CPU of one Run-All alone: ${aloneCpu.toFixed(2)} s in the student's container, ${aloneClient.toFixed(2)} s in this client`);
    console.log(`CPU: ${cpu.toFixed(1)} CPU-seconds for ${N} Run-Alls in ${wall.toFixed(1)} s wall (${(cpu / N).toFixed(2)} per student): `
      + `${inContainers.toFixed(1)} in the students' containers (server, kernel, lab), ${client.toFixed(1)} in this benchmark's own client (${N} @jupyterlab/services connections), `
      + `${(cpu - inContainers - client).toFixed(1)} elsewhere (hub, proxy, dockerd, other work on the machine)\n`);
    console.log(`| memory per student (MiB, mean)  | container | server | kernel |   lab |`);
    console.log(`|------------------------------|-----------|--------|--------|-------|`);
    row('idle (server, no kernel)', idle);
    row(`peak during the ${N} Run-Alls`, peak);
    const perStudentPeak = avg(peak.map((x) => x.container));
    const perStudentIdle = avg(idle.map((x) => x.container));
    console.log(`\nstudents per GiB: ${(2 ** 30 / perStudentPeak).toFixed(1)} at peak, ${(2 ** 30 / perStudentIdle).toFixed(1)} idle; in this machine's RAM: ${Math.floor((await import('node:os')).totalmem() / perStudentPeak)}`);
    // CPU-bound: N simultaneous Run-Alls take about N × (CPU per student) / cores; the goal (p95 under
    // 3× one alone) holds while that stays under 3 × single.
    console.log(`students per core running Run-All at the same moment within 3× the time alone: ${(3 * single / 1000 / (cpu / N)).toFixed(1)}`);
    await Promise.all(names.map((n) => hub.stopServer(n)));
  } finally {
    await hub.stop();
    await hub.removeState();
  }
}

/** CPU time used in a student's container so far (cgroup v1 cpuacct, or v2 cpu.stat), seconds. */
function containerCpu(hub: Hub, name: string): number {
  const id = docker('inspect', '-f', '{{.Id}}', hub.containerName(name)).stdout.trim();
  try { return Number(readFileSync(`/sys/fs/cgroup/cpuacct/docker/${id}/cpuacct.usage`, 'utf8')) / 1e9; } catch { /* v2 */ }
  try { return Number(/^usage_usec (\d+)/m.exec(readFileSync(`/sys/fs/cgroup/docker/${id}/cpu.stat`, 'utf8'))?.[1] ?? 0) / 1e6; } catch { return 0; }
}

/** CPU time of the whole machine (user + system + …), in seconds. */
function cpuSeconds(): number {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = fields[3] + fields[4];
  return (fields.reduce((a, b) => a + b, 0) - idle) / 100;
}

main().catch((err) => { console.error(err); process.exitCode = 1; });
