/**
 * A process that owns a lab, for tests that kill the owner: it starts an engine, runs the cells
 * given as JSON on argv (each `[terminal, code, wait]`), prints one JSON line describing the lab
 * (init PID, namespaces), then waits until it is killed or told to shut down on stdin.
 */
import { readlinkSync } from 'node:fs';
import { ShellEngine } from '../../src/shell/engine.js';

const cells: [number, string, boolean][] = JSON.parse(process.argv[2] ?? '[]');
const engine = new ShellEngine({ cwd: '/tmp', labMode: process.env.NSLAB_LAB ?? 'auto' });
await engine.start();
const outputs: string[] = [];
for (const [terminal, code, wait] of cells) {
  let out = '';
  const r = await engine.run(terminal, code, { onOutput: (t) => (out += t), onNotice: (t) => (out += t) }, { wait });
  outputs.push(`${r.outcome}:${r.exitCode}:${out}`);
}
const init = engine.initPid;
const ns = (kind: string) => (init === null ? null : readlinkSync(`/proc/${init}/ns/${kind}`));
process.stdout.write(JSON.stringify({ mode: engine.mode, dir: engine.filesDir, init, pidns: ns('pid'), mntns: ns('mnt'), processes: engine.processes(), outputs }) + '\n');
process.stdin.on('data', async () => {
  await engine.shutdown();
  process.exit(0);
});
