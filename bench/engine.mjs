#!/usr/bin/env node
// The shell engine alone (no Jupyter): per-cell overhead of `true` and throughput of
// `seq 1 1000000`, beside the raw PTY in the same run (node-pty reading the same seq, and
// `true` typed into a bare bash with a prompt marker). Prints a table and JSON.
// Usage: npm run build && node bench/engine.mjs [--rounds 300] [--json out.json]
import pty from 'node-pty';
import { writeFileSync } from 'node:fs';
import { ShellEngine } from '../dist/src/shell/engine.js';

const args = process.argv.slice(2);
const opt = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const ROUNDS = Number(opt('--rounds', 300));
const SEQ = ['seq', '1', '1000000'];

const quantile = (xs, q) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(q * s.length))]; };
const now = () => Number(process.hrtime.bigint()) / 1e6;

async function rawSeq() {
  const t = now();
  let bytes = 0;
  await new Promise((resolve) => {
    const p = pty.spawn(SEQ[0], SEQ.slice(1), { cols: 200, rows: 50, encoding: null });
    p.onData((d) => (bytes += d.length));
    p.onExit(() => setTimeout(resolve, 50));
  });
  return { mb: bytes / 1e6, mbps: bytes / 1e6 / ((now() - t - 50) / 1000) };
}

async function rawTrue() {
  const marker = '\x1b]6973;x;P\x07';
  const p = pty.spawn('bash', ['--norc', '--noprofile'], { cols: 200, rows: 50, env: { ...process.env, PS1: marker, PROMPT_COMMAND: '', INPUTRC: '/dev/null' } });
  let buf = '';
  let waiter = null;
  p.onData((d) => { buf += d; if (waiter && buf.includes(marker)) { buf = ''; const w = waiter; waiter = null; w(); } });
  const prompt = () => new Promise((r) => { if (buf.includes(marker)) { buf = ''; r(); } else waiter = r; });
  await prompt();
  p.write('stty -echo; bind "set enable-bracketed-paste off"\r');
  await prompt();
  const times = [];
  for (let i = 0; i < ROUNDS + 20; i++) {
    const t = now();
    p.write('true\r');
    await prompt();
    if (i >= 20) times.push(now() - t);
  }
  p.kill('SIGKILL');
  return times;
}

async function engineRuns() {
  const engine = new ShellEngine({ cwd: '/tmp' });
  const t0 = now();
  await engine.start();
  const startMs = now() - t0;
  const io = { onOutput() {}, onNotice() {} };
  const times = [];
  for (let i = 0; i < ROUNDS + 20; i++) {
    const t = now();
    await engine.run(1, 'true', io);
    if (i >= 20) times.push(now() - t);
  }
  let chars = 0;
  let chunks = 0;
  let text = '';
  const t = now();
  await engine.run(1, SEQ.join(' '), { onOutput: (s) => { chars += s.length; chunks++; text += s; }, onNotice() {} });
  const seqMs = now() - t;
  const lines = text.split('\n');
  let complete = lines.length === 1000001 && lines[1000000] === '';
  for (let i = 0; complete && i < 1000000; i++) if (lines[i] !== String(i + 1)) complete = false;
  await engine.shutdown();
  return { startMs, times, seq: { mb: chars / 1e6, mbps: chars / 1e6 / (seqMs / 1000), chunks, complete } };
}

const raw = { seq: await rawSeq(), trueMs: await rawTrue() };
const eng = await engineRuns();
const result = {
  rounds: ROUNDS,
  labStartMs: eng.startMs,
  trueMedianMs: { engine: quantile(eng.times, 0.5), rawPty: quantile(raw.trueMs, 0.5) },
  trueP95Ms: { engine: quantile(eng.times, 0.95), rawPty: quantile(raw.trueMs, 0.95) },
  seqMBps: { engine: eng.seq.mbps, rawPty: raw.seq.mbps, ratio: eng.seq.mbps / raw.seq.mbps },
  seqMessages: eng.seq.chunks,
  seqComplete: eng.seq.complete,
};
const f = (x) => x.toFixed(2);
console.log(`lab start (terminal 1 to first prompt)   ${f(result.labStartMs)} ms`);
console.log(`                         engine      raw PTY`);
console.log(`true, median (ms)     ${f(result.trueMedianMs.engine).padStart(9)} ${f(result.trueMedianMs.rawPty).padStart(12)}`);
console.log(`true, p95 (ms)        ${f(result.trueP95Ms.engine).padStart(9)} ${f(result.trueP95Ms.rawPty).padStart(12)}`);
console.log(`seq 1 1000000 (MB/s)  ${f(result.seqMBps.engine).padStart(9)} ${f(result.seqMBps.rawPty).padStart(12)}   ratio ${f(result.seqMBps.ratio)}`);
console.log(`seq: ${result.seqMessages} output pieces, every line once and in order: ${result.seqComplete}`);
if (args.includes('--json')) writeFileSync(opt('--json'), JSON.stringify(result, null, 2) + '\n');
