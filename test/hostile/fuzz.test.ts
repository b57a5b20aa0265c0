/**
 * Hostile input (issue 8), protocol and security: a fuzzer against a real kernel process, through
 * an independent raw ZeroMQ client (client.ts). Every socket gets generated and mutated messages;
 * after each one a well-formed request must be answered. At the end: the kernel never died, no
 * request was lost, every bad message was dropped by the transport (one log line each, nothing
 * parented to it ever seen), and nothing from a message with a wrong signature ran — proved by
 * `touch` files that never appear, the execution count and the history.
 *
 * NSLAB_FUZZ_SEED replays a run; NSLAB_FUZZ_SCALE multiplies the number of probes.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import * as zmq from 'zeromq';
import type { Client, RequestChannel } from './client.js';
import { sleep } from './client.js';
import { KernelProcess, assertLabGone, type LabSnapshot } from './kernel-process.js';
import { hugeProbes, nextProbe, type Probe, type ProbeContext } from './probes.js';
import { note, report, tally } from './report.js';
import { Rng } from '../helpers/rng.js';

const SEED = Number(process.env.NSLAB_FUZZ_SEED ?? 0x8a7e_2026);
const SCALE = Number(process.env.NSLAB_FUZZ_SCALE ?? 1);
const COUNTS: Record<RequestChannel, number> = {
  shell: Math.round(1100 * SCALE),
  control: Math.round(800 * SCALE),
  stdin: Math.round(600 * SCALE),
};
const HB_PROBES = Math.round(250 * SCALE);
const IOPUB_PROBES = Math.round(150 * SCALE);
const TCP_PROBES = Math.round(100 * SCALE);

describe('hostile: protocol fuzzer against a running kernel @slow', function () {
  this.timeout(240_000);
  const rng = new Rng(SEED);
  const token = randomBytes(6).toString('hex');
  const pwnPrefix = `nslab-pwned-${token}`;
  let pwnCounter = 0;
  let kernel: KernelProcess;
  let client: Client;
  let lab: LabSnapshot;
  /** msg_ids of messages that must have no effect at all. */
  const mustBeUnseen = new Set<string>();
  /** Probes the transport must have dropped (each one log line). */
  let routerDrops = 0;
  /** Probes ZeroMQ itself may refuse (then nslab logs nothing). */
  let maybeDrops = 0;
  /** execute_requests that ran and advanced the execution count. */
  let executions = 0;
  const failures: string[] = [];
  let ctx: ProbeContext;

  before(async function () {
    report.seed = `0x${SEED.toString(16)}`;
    kernel = await KernelProcess.launch();
    client = await kernel.client();
    ctx = { rng, client, pwnPath: () => `/tmp/${pwnPrefix}-${++pwnCounter}` };
    lab = kernel.snapshot();
  });

  after(async function () {
    if (!kernel) return;
    report.invalidFromKernel += client?.invalid ?? 0;
    if (process.env.NSLAB_HOSTILE_LOG) writeFileSync(process.env.NSLAB_HOSTILE_LOG, kernel.log);
    lab = kernel.alive ? kernel.snapshot() : lab; // what runs now: terminals started later included
    await kernel.stop(client);
    await assertLabGone(lab);
    for (const f of readdirSync('/tmp')) if (f.startsWith(pwnPrefix)) rmSync(`/tmp/${f}`, { force: true });
  });

  function lose(what: string): void {
    if (failures.length < 30) failures.push(what);
  }

  /** Send one probe; wait for what it must cause; then a well-formed request must be answered. */
  async function runProbe(p: Probe): Promise<void> {
    const t = tally(p.channel);
    t.tried++;
    if (p.pwn) report.pwnProbes++;
    const timeout = p.timeoutMs ?? 15_000;
    const answered =
      p.expect === 'reply' ? client.reply(p.msgId!, timeout) : p.expect === 'idle' ? client.idle(p.msgId!, timeout) : null;
    answered?.catch(() => undefined);
    if (p.ownSocket) {
      const port = { shell: kernel.info.shell_port, control: kernel.info.control_port, stdin: kernel.info.stdin_port }[p.channel];
      const dealer = new zmq.Dealer({ linger: 5000 });
      dealer.connect(`tcp://${kernel.info.ip}:${port}`);
      await dealer.send(p.frames);
      dealer.close();
    } else {
      await client.sendRaw(p.channel, p.frames);
    }
    if (p.expect === 'drop') {
      t.dropped++;
      if (p.ownSocket) maybeDrops++;
      else routerDrops++;
    }
    if ((p.expect === 'drop' || p.expect === 'silent') && p.msgId) mustBeUnseen.add(p.msgId);
    if (answered) {
      try {
        await answered;
        t.answered++;
        if (p.counts) executions++;
      } catch {
        t.lost++;
        lose(`${p.kind} on ${p.channel}: no ${p.expect} within ${timeout} ms`);
      }
    }
    if (await client.alive(p.channel === 'control' ? 'control' : 'shell', 15_000)) t.survived++;
    else {
      t.lost++;
      lose(`${p.kind} on ${p.channel}: kernel_info not answered afterwards`);
    }
    if (p.msgId) client.forget(p.msgId);
  }

  it('a correctly signed `touch` does create its file (so the checks below are real)', async () => {
    const path = `/tmp/${pwnPrefix}-control`;
    const r = await client.execute(`touch ${path}`);
    executions++;
    assert.equal(r.reply.content.status, 'ok');
    assert.ok(existsSync(path), `${path} was not created: the lab does not share /tmp, the touch checks would prove nothing`);
    rmSync(path);
  });

  for (const channel of ['shell', 'control', 'stdin'] as const) {
    it(`${channel}: ${COUNTS[channel]} generated and mutated messages; a request is answered after each`, async () => {
      for (let i = 0; i < COUNTS[channel]; i++) {
        await runProbe(nextProbe(ctx, channel));
        if (i % 25 === 0 && !(await client.ping(5000))) {
          tally('heartbeat').lost++;
          lose(`heartbeat not echoed after ${channel} probe ${i}`);
        }
        // kernel_info is answered beside the shell queue (like complete and inspect); a request
        // that waits in the queue proves the queue moves too.
        if (i % 10 === 0) {
          try {
            await client.request('shell', 'comm_info_request', {}, 15_000);
          } catch {
            tally(channel).lost++;
            lose(`comm_info_request (through the shell queue) not answered after ${channel} probe ${i}`);
          }
        }
      }
      assert.ok(kernel.alive, 'the kernel process died');
      assert.deepEqual(failures, []);
    });
  }

  it('huge messages: 10 MB fields, 10 MB buffers, 70 MB over the limit; the heartbeat keeps answering', async () => {
    for (const p of hugeProbes(ctx)) {
      // The heartbeat must answer while the kernel takes the big message in.
      const pings = (async () => {
        let ok = true;
        for (let i = 0; i < 3; i++) ok = (await client.ping(10_000)) && ok;
        return ok;
      })();
      await runProbe(p);
      if (!(await pings)) lose(`heartbeat not echoed around ${p.kind}`);
    }
    assert.ok(kernel.alive);
    assert.deepEqual(failures, []);
  });

  it(`heartbeat: ${HB_PROBES} malformed and odd pings; every well-formed ping is echoed`, async () => {
    const t = tally('heartbeat');
    for (let i = 0; i < HB_PROBES; i++) {
      t.tried++;
      const payload = rng.bytes(rng.int(0, 64));
      const variant = rng.int(0, 7);
      if (variant === 0) {
        // A well-formed ping with odd bytes: must come back unchanged.
        const big = rng.bool(0.05) ? Buffer.concat([Buffer.from('big'), rng.bytes(rng.int(1, 4) * 1024 * 1024)]) : Buffer.concat([Buffer.from(`p${i}-`), payload]);
        if (await client.ping(10_000, big)) t.answered++;
        else {
          t.lost++;
          lose(`heartbeat: ${big.length}-byte ping not echoed`);
        }
      } else {
        const frames =
          variant === 1
            ? [payload] // no envelope delimiter
            : variant === 2
              ? [Buffer.alloc(0)]
              : variant === 3
                ? [Buffer.alloc(0), ...Array.from({ length: rng.int(2, 50) }, () => rng.bytes(rng.int(0, 100)))]
                : variant === 4
                  ? [rng.bytes(8), Buffer.alloc(0), payload] // a routing frame of its own
                  : variant === 5
                    ? [Buffer.alloc(0), Buffer.alloc(0)]
                    : variant === 6
                      ? Array.from({ length: 1000 }, () => Buffer.alloc(0))
                      : [rng.bytes(3), rng.bytes(3), rng.bytes(3)];
        await client.sendRaw('hb', frames);
      }
      if (await client.ping(10_000)) t.survived++;
      else {
        t.lost++;
        lose(`heartbeat: ping after variant ${variant} not echoed`);
      }
    }
    assert.ok(await client.alive());
    assert.deepEqual(failures, []);
  });

  it(`iopub: ${IOPUB_PROBES} subscriptions and messages of every shape; iopub keeps delivering`, async () => {
    const t = tally('iopub');
    const url = `tcp://${kernel.info.ip}:${kernel.info.iopub_port}`;
    let xsub = new zmq.XSubscriber({ linger: 0 });
    xsub.connect(url);
    try {
      for (let i = 0; i < IOPUB_PROBES; i++) {
        t.tried++;
        const variant = rng.int(0, 6);
        const topic = rng.bool(0.03) ? rng.bytes(1024 * 1024) : rng.bytes(rng.int(0, 64));
        if (variant === 6) {
          xsub.close();
          xsub = new zmq.XSubscriber({ linger: 0 });
          xsub.connect(url);
        }
        const frames =
          variant === 0
            ? [Buffer.concat([Buffer.from([1]), topic])] // subscribe
            : variant === 1
              ? [Buffer.concat([Buffer.from([0]), topic])] // unsubscribe (maybe never subscribed)
              : variant === 2
                ? [Buffer.concat([Buffer.from([rng.int(2, 255)]), topic])] // neither
                : variant === 3
                  ? Array.from({ length: rng.int(2, 10) }, () => rng.bytes(rng.int(0, 100)))
                  : variant === 4
                    ? [Buffer.alloc(0)]
                    : [Buffer.from([1]), Buffer.from('kernel.')];
        await xsub.send(frames);
        // Alive, and iopub still delivers to the real subscriber: the request's idle arrives.
        const h = client.header('kernel_info_request');
        const reply = client.reply(h.msg_id, 15_000);
        const idle = client.idle(h.msg_id, 15_000);
        await client.sendRaw('shell', client.signed(client.jsonFrames(h, {})));
        try {
          await Promise.all([reply, idle]);
          t.survived++;
        } catch {
          t.lost++;
          lose(`iopub variant ${variant}: no reply or no idle afterwards`);
        }
        client.forget(h.msg_id);
      }
    } finally {
      xsub.close();
    }
    assert.deepEqual(failures, []);
  });

  it('nothing from a message with a wrong signature (or sent where nothing runs) was executed', async () => {
    // Give a wrongly accepted message time to run before looking.
    await sleep(500);
    const created = readdirSync('/tmp').filter((f) => f.startsWith(pwnPrefix));
    report.pwnFiles += created.length;
    assert.ok(pwnCounter > 250 * SCALE, `only ${pwnCounter} touch probes were sent`);
    assert.deepEqual(created, [], 'files created by messages that must not have run');
    // The execution count counts every cell that ran: only the correctly signed ones did.
    const last = await client.execute('echo last');
    assert.equal(last.reply.content.execution_count, executions + 1, 'execution count: a message that should have been refused ran');
    const history = await client.request('shell', 'history_request', { hist_access_type: 'tail', n: 1_000_000, output: false, raw: true });
    const ran = (history.content.history as [number, number, string][]).filter(([, , code]) => String(code).includes(pwnPrefix) && !code.endsWith('-control'));
    assert.deepEqual(ran, [], 'the history shows cells from refused messages');
  });

  it('every bad message was dropped by the transport, none had any effect, nothing went wrong inside', async () => {
    // The transport logs one line per dropped message; the log arrives through a pipe.
    const deadline = Date.now() + 5000;
    while (kernel.droppedMessages < routerDrops && Date.now() < deadline) await sleep(50);
    await sleep(200);
    assert.ok(
      kernel.droppedMessages >= routerDrops && kernel.droppedMessages <= routerDrops + maybeDrops,
      `messages the kernel dropped (${kernel.droppedMessages}) vs. bad messages sent (${routerDrops}, and ${maybeDrops} ZeroMQ may refuse first)`,
    );
    const seen = [...mustBeUnseen].filter((id) => client.seenParents.has(id));
    assert.deepEqual(seen, [], 'replies or iopub messages parented to a message that must have had no effect');
    assert.equal(client.invalid, 0, `messages from the kernel failing the client's checks: ${client.invalidSamples.join('; ')}`);
    const heartbeatWarnings = kernel.log.split('\n').filter((l) => /heartbeat loop:/.test(l)).length;
    if (heartbeatWarnings) note(`the heartbeat loop logged ${heartbeatWarnings} warnings ("Operation was not possible or timed out") for malformed pings; pings kept working`);
    const internal = kernel.internalErrors.filter((e) => !/heartbeat loop:/.test(e));
    assert.deepEqual(internal, [], 'errors inside nslab while fuzzing');
    assert.ok(kernel.alive, 'the kernel died');
  });

  // Last: a peer hanging up in the middle of a multipart message makes libzmq hand the kernel the
  // frames it got, as one or more messages (dropped, logged), so the exact drop count above ends here.
  it(`raw TCP on every port: ${TCP_PROBES} garbage streams, bad greetings, huge declared frames, half-open connections`, async () => {
    const t = tally('tcp');
    const ports = [
      { port: kernel.info.shell_port, type: 'DEALER' },
      { port: kernel.info.control_port, type: 'DEALER' },
      { port: kernel.info.stdin_port, type: 'DEALER' },
      { port: kernel.info.iopub_port, type: 'SUB' },
      { port: kernel.info.hb_port, type: 'REQ' },
    ];
    // Connections that greet halfway and then say nothing, open for the whole test.
    const idle = ports.map(({ port }) => {
      const s = net.connect(port, '127.0.0.1', () => s.write(Buffer.from([0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0x7f])));
      s.on('error', () => undefined);
      return s;
    });
    let lastChunks: Buffer[] = [];
    let heartbeatSingleLosses = 0;
    try {
      for (let i = 0; i < TCP_PROBES; i++) {
        t.tried++;
        const { port, type } = ports[i % ports.length];
        const variant = rng.int(0, 9);
        if (variant === 9) {
          // A storm of connections reset at once.
          await Promise.all(Array.from({ length: 30 }, () => rawTcp(port, [], 'reset')));
        } else {
          lastChunks = tcpChunks(rng, variant, type);
          await rawTcp(port, lastChunks, rng.pick(['end', 'destroy', 'reset'] as const));
        }
        const answered = await client.alive('shell', 15_000);
        let echoed = await client.ping(5000);
        if (!echoed && i % ports.length === 4) {
          // A peer hanging up on the heartbeat port mid-request can cost the next ping (a libzmq
          // REP quirk, pinned in findings.test.ts); the kernel is alive if the next one comes back.
          echoed = await client.ping(10_000);
          if (echoed) heartbeatSingleLosses++;
        }
        if (answered && echoed) t.survived++;
        else {
          t.lost++;
          const name = ['shell', 'control', 'stdin', 'iopub', 'heartbeat'][i % ports.length];
          lose(`tcp variant ${variant} on the ${name} port: ${answered ? '' : 'kernel_info not answered; '}${echoed ? '' : 'heartbeat not echoed'}`);
          if (process.env.NSLAB_HOSTILE_DUMP) writeFileSync(process.env.NSLAB_HOSTILE_DUMP, JSON.stringify(lastChunks.map((c) => c.toString('hex'))));
        }
      }
    } finally {
      for (const s of idle) s.destroy();
      if (heartbeatSingleLosses) note(`raw TCP: ${heartbeatSingleLosses} ping(s) lost right after garbage on the heartbeat port, the next one echoed (see findings: REP heartbeat)`);
    }
    assert.ok(kernel.alive);
    assert.deepEqual(failures, []);
    assert.deepEqual(kernel.internalErrors.filter((e) => !/heartbeat loop:/.test(e)), [], 'errors inside nslab');
  });

});

type CloseMode = 'end' | 'destroy' | 'reset';

/** Connect, write `chunks`, close as told; resolves once the socket is closed (2 s at most). */
function rawTcp(port: number, chunks: Buffer[], mode: CloseMode): Promise<void> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      s.destroy();
      resolve();
    }, 2000);
    s.on('error', () => undefined);
    s.on('close', done);
    s.on('connect', async () => {
      for (const c of chunks) {
        if (!s.write(c)) await new Promise((r) => s.once('drain', r));
      }
      await sleep(5);
      if (mode === 'end') {
        // Half-close; the kernel need not close its side: hang up after a moment.
        s.end();
        setTimeout(() => s.destroy(), 100);
      } else if (mode === 'destroy') s.destroy();
      else s.resetAndDestroy();
    });
  });
}

/** A ZMTP 3 greeting (64 bytes). */
function greeting(major = 3, minor = 0, mechanism = 'NULL'): Buffer {
  const b = Buffer.alloc(64);
  b[0] = 0xff;
  b[9] = 0x7f;
  b[10] = major;
  b[11] = minor;
  b.write(mechanism.slice(0, 20), 12, 'ascii');
  return b;
}

/** The READY command of the NULL mechanism, declaring `socketType`. */
function ready(socketType: string): Buffer {
  const value = Buffer.from(socketType);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(value.length);
  const body = Buffer.concat([Buffer.from([5]), Buffer.from('READY'), Buffer.from([11]), Buffer.from('Socket-Type'), len, value]);
  return Buffer.concat([Buffer.from([0x04, body.length]), body]);
}

function longFrameHeader(size: bigint, more = false): Buffer {
  const b = Buffer.alloc(9);
  b[0] = 0x02 | (more ? 1 : 0);
  b.writeBigUInt64BE(size, 1);
  return b;
}

function tcpChunks(rng: Rng, variant: number, type: string): Buffer[] {
  switch (variant) {
    case 0:
      return [rng.bytes(rng.int(1, 4096))];
    case 1:
      return [greeting()];
    case 2:
      // A frame that says it is a terabyte long, then hangs up.
      return [greeting(), ready(type), longFrameHeader(1n << 40n), rng.bytes(100)];
    case 3:
      return [greeting(), ready(type), longFrameHeader((1n << 63n) - 1n), rng.bytes(10)];
    case 4:
      // A frame cut short.
      return [greeting(), ready(type), Buffer.from([0x00, 200]), rng.bytes(10)];
    case 5:
      return [greeting(3, 0, rng.pick(['PLAIN', 'CURVE', 'GSSAPI', 'XXXX', ''])), ready(type)];
    case 6:
      return [greeting(rng.pick([1, 2, 4, 255]), rng.int(0, 255)), ready(type)];
    case 7:
      // The wrong kind of peer for the socket.
      return [greeting(), ready(rng.pick(['PUB', 'ROUTER', 'PUSH', 'PAIR', 'XPUB', 'BOGUS']))];
    case 8:
      // A multipart message that never ends: 500 one-byte frames, each saying "more".
      return [greeting(), ready(type), Buffer.concat(Array.from({ length: 500 }, () => Buffer.from([0x01, 1, 0x61])))];
    default:
      return [rng.bytes(10)];
  }
}
