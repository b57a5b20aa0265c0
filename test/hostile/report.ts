/**
 * The figures the hostile suite collects, and the table it prints at the end (a root `after`
 * hook: registered once, when the first hostile test file imports this module).
 */
import { cleanupAll } from './kernel-process.js';

export interface ChannelTally {
  /** Probes sent. */
  tried: number;
  /** Probes after which the kernel answered a well-formed request. */
  survived: number;
  /** Well-formed requests (liveness checks and valid probes) that never got their reply. */
  lost: number;
  /** Probes the kernel had to drop (bad frames, signature, JSON). */
  dropped: number;
  /** Probes that were valid and got their reply (or their idle). */
  answered: number;
}

export interface SoakSample {
  cell: number;
  rssMb: number;
  fds: number;
}

export const report = {
  seed: '',
  channels: new Map<string, ChannelTally>(),
  /** Messages carrying `touch /tmp/nslab-pwned-…` that must never run, and files that appeared. */
  pwnProbes: 0,
  pwnFiles: 0,
  introspection: { requests: 0, replies: 0, files: 0 },
  /** Messages from the kernel that failed the client's checks (signature, UTF-8, JSON). */
  invalidFromKernel: 0,
  soak: null as null | {
    cells: number;
    mix: string;
    samples: SoakSample[];
    warmRssMb: number;
    maxRssMb: number;
    rssBoundMb: number;
    fdsMin: number;
    fdsMax: number;
    seconds: number;
  },
  flood: null as null | { seconds: number; baseRssMb: number; peakRssMb: number; boundMb: number; interruptMs: number; outputMb: number },
  notes: [] as string[],
  startedAt: Date.now(),
};

export function tally(channel: string): ChannelTally {
  let t = report.channels.get(channel);
  if (!t) report.channels.set(channel, (t = { tried: 0, survived: 0, lost: 0, dropped: 0, answered: 0 }));
  return t;
}

export function note(text: string): void {
  report.notes.push(text);
}

function pad(s: string | number, n: number, right = false): string {
  const t = String(s);
  return right ? t.padEnd(n) : t.padStart(n);
}

export function renderReport(): string {
  const lines: string[] = [];
  lines.push('', '=== nslab hostile suite: report ===');
  if (report.seed) lines.push(`fuzzer seed: ${report.seed}  (NSLAB_FUZZ_SEED to replay)`);
  if (report.channels.size) {
    lines.push('', `${pad('channel', 10, true)} ${pad('probes', 7)} ${pad('survived', 9)} ${pad('lost', 5)} ${pad('dropped', 8)} ${pad('answered', 9)}`);
    const total: ChannelTally = { tried: 0, survived: 0, lost: 0, dropped: 0, answered: 0 };
    for (const [name, t] of report.channels) {
      lines.push(`${pad(name, 10, true)} ${pad(t.tried, 7)} ${pad(t.survived, 9)} ${pad(t.lost, 5)} ${pad(t.dropped, 8)} ${pad(t.answered, 9)}`);
      for (const k of Object.keys(total) as (keyof ChannelTally)[]) total[k] += t[k];
    }
    lines.push(`${pad('total', 10, true)} ${pad(total.tried, 7)} ${pad(total.survived, 9)} ${pad(total.lost, 5)} ${pad(total.dropped, 8)} ${pad(total.answered, 9)}`);
  }
  lines.push('');
  lines.push(`bad-signature/wrong-channel messages carrying \`touch\`: ${report.pwnProbes}, files created: ${report.pwnFiles}`);
  const i = report.introspection;
  if (i.requests) lines.push(`complete/inspect/is_complete on hostile code: ${i.requests} requests, ${i.replies} replies, files created: ${i.files}`);
  lines.push(`messages from the kernel failing signature/UTF-8/JSON checks: ${report.invalidFromKernel}`);
  const f = report.flood;
  if (f) {
    lines.push(
      `yes for ${f.seconds} s: kernel RSS ${f.baseRssMb.toFixed(0)} MB before, peak ${f.peakRssMb.toFixed(0)} MB (bound ${f.boundMb} MB), ` +
        `${f.outputMb.toFixed(1)} MB of output received, interrupt → reply in ${f.interruptMs} ms`,
    );
  }
  const s = report.soak;
  if (s) {
    lines.push('', `soak: ${s.cells} cells in one kernel in ${s.seconds.toFixed(1)} s (${s.mix})`);
    lines.push(`  ${pad('cell', 6)} ${pad('RSS MB', 8)} ${pad('fds', 5)}`);
    for (const x of s.samples) lines.push(`  ${pad(x.cell, 6)} ${pad(x.rssMb.toFixed(1), 8)} ${pad(x.fds, 5)}`);
    lines.push(
      `  RSS after warm-up ${s.warmRssMb.toFixed(1)} MB, max ${s.maxRssMb.toFixed(1)} MB: growth ${(s.maxRssMb - s.warmRssMb).toFixed(1)} MB (bound ${s.rssBoundMb} MB); ` +
        `fds ${s.fdsMin}..${s.fdsMax} (bound ±2)`,
    );
  }
  if (report.notes.length) {
    lines.push('', 'notes:');
    for (const n of report.notes) lines.push(`  - ${n}`);
  }
  lines.push('', `hostile suite time: ${((Date.now() - report.startedAt) / 1000).toFixed(1)} s`, '');
  return lines.join('\n');
}

after(async function () {
  this.timeout(30_000);
  const left = await cleanupAll();
  if (left.length) note(`lab directories left by the suite's kernels (now removed): ${left.join(', ')}`);
  console.log(renderReport());
});
