// Raw PTY physical limits on this machine, measured with node-pty alone (no kernel, no ZeroMQ).
//
//  (a) throughput: node-pty reading `seq 1 1000000` (6,888,896 bytes of payload) run in a PTY
//      (`sh -c 'seq …; exec sleep 30'`, so the terminal stays open until every byte is read),
//      default (cooked) terminal settings, median of N runs; also once with `stty raw`.
//      Timed from spawn to the last expected byte.
//  (b) cell loop: typing `true\r` into a bare interactive `bash --norc` (marker in PS1, `stty -echo`,
//      bracketed paste off) and waiting for the prompt marker: median / p95 of N rounds.
//
// Prints one JSON object on stdout. Used by bench/bench.py (the "raw PTY" column); can be run alone:
//   node bench/raw-pty.mjs [--seq-runs 3] [--rounds 300] [--warmup 30] [--only seq|loop]
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';

const require = createRequire(import.meta.url);
const pty = require('node-pty'); // resolved from /work/main/node_modules

const args = process.argv.slice(2);
function opt(name, dflt) {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? Number(args[i + 1]) : dflt;
}
const SEQ_RUNS = opt('--seq-runs', 3);
const ROUNDS = opt('--rounds', 300);
const WARMUP = opt('--warmup', 30);
const SEQ_N = 1000000;
// payload bytes of `seq 1 1000000` with "\n" line ends (the PTY turns them into "\r\n")
let PAYLOAD = 0;
for (let d = 1, lo = 1; lo <= SEQ_N; d++, lo *= 10) {
  const hi = Math.min(SEQ_N, lo * 10 - 1);
  PAYLOAD += (hi - lo + 1) * (d + 1);
}

const ENV = { PATH: process.env.PATH || '/usr/bin:/bin', HOME: process.env.HOME || '/tmp', TERM: 'xterm', LANG: 'C.UTF-8' };

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
function pct(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

// (a) ------------------------------------------------------------------------------------------
function seqRun(raw) {
  return new Promise((resolve) => {
    const expected = PAYLOAD + SEQ_N; // cooked: every "\n" becomes "\r\n"
    const expectedRaw = PAYLOAD;
    const t0 = performance.now();
    // The terminal stays open after seq (a `sleep` follows, killed when all bytes are in), as a
    // kernel's shell does: when the process in a PTY exits, node-pty may drop the last KBs
    // (see shared notes, "PTY facts"), which would cut the measurement short.
    const p = pty.spawn('/bin/sh', ['-c', `${raw ? 'stty raw -echo; ' : ''}seq 1 ${SEQ_N}; exec sleep 30`],
      { cols: 80, rows: 24, env: ENV });
    let bytes = 0;
    let chunks = 0;
    let tLast = t0;
    let done = false;
    const target = raw ? expectedRaw : expected;
    const finish = (why) => {
      if (done) return;
      done = true;
      clearTimeout(guard);
      try { p.kill('SIGKILL'); } catch { /* gone */ }
      const secs = (tLast - t0) / 1000;
      resolve({
        mode: raw ? 'raw' : 'cooked',
        bytes_received: bytes,
        bytes_expected: target,
        complete: bytes >= target,
        chunks,
        avg_chunk: chunks ? Math.round(bytes / chunks) : 0,
        seconds: secs,
        // MB of seq's own output (payload, "\n" line ends) per second; if bytes were lost at exit,
        // the rate of what did arrive (see `complete` / `bytes_missing`).
        mb_per_s: (Math.min(bytes, target) * (PAYLOAD / target)) / 1e6 / secs,
        bytes_missing: Math.max(0, target - bytes),
        end: why,
      });
    };
    const guard = setTimeout(() => finish('timeout'), 60000);
    p.onData((d) => {
      bytes += Buffer.byteLength(d, 'utf8');
      chunks++;
      tLast = performance.now();
      if (bytes >= target) finish('all bytes');
    });
    p.onExit(() => setTimeout(() => finish('exit (+1 s grace)'), 1000));
  });
}

// (b) ------------------------------------------------------------------------------------------
function cellLoop() {
  return new Promise((resolve, reject) => {
    const MARK = 'RAWPTY' + Math.random().toString(36).slice(2, 8).toUpperCase();
    const PROMPT = MARK + '>';
    const p = pty.spawn('bash', ['--norc', '--noprofile', '-i'], {
      cols: 200, rows: 50, env: { ...ENV, PS1: '$ ', PROMPT_COMMAND: '' },
    });
    let buf = '';
    let waiter = null; // { needle, resolve }
    p.onData((d) => {
      buf += d;
      if (waiter && buf.includes(waiter.needle)) {
        const w = waiter;
        waiter = null;
        buf = '';
        w.resolve();
      }
    });
    const waitFor = (needle, ms) => new Promise((res, rej) => {
      if (buf.includes(needle)) { buf = ''; res(); return; }
      const t = setTimeout(() => { waiter = null; rej(new Error(`timeout waiting for ${JSON.stringify(needle)}; got ${JSON.stringify(buf.slice(-200))}`)); }, ms);
      waiter = { needle, resolve: () => { clearTimeout(t); res(); } };
    });
    const guard = setTimeout(() => { try { p.kill('SIGKILL'); } catch { /* gone */ } reject(new Error('cell loop timeout')); }, 120000);
    (async () => {
      await waitFor('$ ', 10000);
      // The marker is assembled by the shell (so the echoed command line never contains it).
      p.write(`stty -echo; bind 'set enable-bracketed-paste off' 2>/dev/null; PROMPT_COMMAND=; PS1='${MARK.slice(0, 3)}''${MARK.slice(3)}>'\r`);
      await waitFor(PROMPT, 10000);
      const times = [];
      for (let i = 0; i < WARMUP + ROUNDS; i++) {
        const t0 = performance.now();
        const w = waitFor(PROMPT, 10000);
        p.write('true\r');
        await w;
        if (i >= WARMUP) times.push(performance.now() - t0);
      }
      clearTimeout(guard);
      p.write('exit\r');
      setTimeout(() => { try { p.kill('SIGKILL'); } catch { /* gone */ } }, 200);
      resolve({ rounds: ROUNDS, warmup: WARMUP, median_ms: median(times), p95_ms: pct(times, 95), min_ms: Math.min(...times), max_ms: Math.max(...times) });
    })().catch((e) => { clearTimeout(guard); try { p.kill('SIGKILL'); } catch { /* gone */ } reject(e); });
  });
}

const ONLY = args.includes('--only') ? args[args.indexOf('--only') + 1] : null; // seq | loop
const out = { node: process.version, node_pty: require('node-pty/package.json').version, payload_bytes: PAYLOAD };
if (ONLY !== 'loop') try {
  const runs = [];
  for (let i = 0; i < SEQ_RUNS; i++) runs.push(await seqRun(false));
  out.seq = {
    runs,
    mb_per_s_median: median(runs.map((r) => r.mb_per_s)),
    incomplete_runs: runs.filter((r) => !r.complete).length,
    avg_chunk: median(runs.map((r) => r.avg_chunk)),
  };
  if (!ONLY) out.seq_raw_mode = await seqRun(true);
} catch (e) {
  out.seq_error = String(e);
}
if (ONLY !== 'seq') try {
  out.true_loop = await cellLoop();
} catch (e) {
  out.true_loop_error = String(e);
}
process.stdout.write(JSON.stringify(out) + '\n');
process.exit(0);
