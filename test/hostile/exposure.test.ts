/**
 * Hostile input (issue 8), exposure: the kernel listens where the connection file says and
 * nowhere else, and what it writes is its user's only.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from './client.js';
import { KernelProcess, assertLabGone, descendants, fdTargets, type LabSnapshot } from './kernel-process.js';
import { report } from './report.js';

interface ProcSocket {
  proto: string;
  local: string;
  port: number;
  state: string;
  inode: string;
}

/** Sockets of /proc/net/{tcp,tcp6,udp,udp6} (the kernel's network namespace is this machine's). */
function inetSockets(): ProcSocket[] {
  const out: ProcSocket[] = [];
  for (const proto of ['tcp', 'tcp6', 'udp', 'udp6']) {
    const lines = readFileSync(`/proc/net/${proto}`, 'utf8').trim().split('\n').slice(1);
    for (const line of lines) {
      const f = line.trim().split(/\s+/);
      const [addrHex, portHex] = f[1].split(':');
      out.push({ proto, local: decodeAddress(addrHex), port: parseInt(portHex, 16), state: f[3], inode: f[9] });
    }
  }
  return out;
}

function decodeAddress(hex: string): string {
  if (hex.length === 8) return [3, 2, 1, 0].map((i) => parseInt(hex.slice(i * 2, i * 2 + 2), 16)).join('.');
  // IPv6: four little-endian 32-bit words.
  const words = [0, 1, 2, 3].map((w) => hex.slice(w * 8, w * 8 + 8).match(/../g)!.reverse().join(''));
  return words.join('').match(/.{4}/g)!.join(':');
}

/** Inodes of the sockets `pid` holds. */
function socketInodes(pid: number): Set<string> {
  return new Set(fdTargets(pid).map((t) => /^socket:\[(\d+)\]$/.exec(t)?.[1]).filter((x): x is string => !!x));
}

/** Listening unix sockets (flag __SO_ACCEPTCON) among `inodes`. */
function listeningUnix(inodes: Set<string>): string[] {
  return readFileSync('/proc/net/unix', 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => inodes.has(f[6]) && (parseInt(f[3], 16) & 0x10000) !== 0)
    .map((f) => f.slice(7).join(' ') || `inode ${f[6]}`);
}

describe('hostile: what the kernel exposes @slow', function () {
  this.timeout(60_000);
  let kernel: KernelProcess;
  let client: Client;
  let lab: LabSnapshot;

  before(async function () {
    // A launcher's variables must not reach the lab (jupyter_client sets JPY_PARENT_PID).
    kernel = await KernelProcess.launch({ env: { JPY_PARENT_PID: String(process.pid), JPY_SESSION_NAME: 'hostile' } });
    client = await kernel.client();
    if ((await kernel.mode(client)) === 'host') this.skip(); // no lab home, no lab to look into
    await client.execute('#| terminal: 2\necho second terminal');
    await client.execute('echo first; history -w');
    lab = kernel.snapshot();
  });

  after(async function () {
    if (!kernel) return;
    report.invalidFromKernel += client.invalid;
    await kernel.stop(client);
    await assertLabGone(lab);
  });

  it("listens on the connection file's address and ports only: 5 TCP sockets on 127.0.0.1, no UDP, no unix listener", () => {
    const mine = socketInodes(kernel.pid);
    const sockets = inetSockets().filter((s) => mine.has(s.inode));
    const listening = sockets.filter((s) => s.proto.startsWith('tcp') && s.state === '0A');
    const ports = [kernel.info.shell_port, kernel.info.control_port, kernel.info.stdin_port, kernel.info.iopub_port, kernel.info.hb_port].sort();
    assert.deepEqual(
      listening.map((s) => `${s.proto} ${s.local}:${s.port}`).sort(),
      ports.map((p) => `tcp 127.0.0.1:${p}`).sort(),
      'listening TCP sockets of the kernel',
    );
    assert.deepEqual(sockets.filter((s) => s.proto.startsWith('udp')), [], 'UDP sockets');
    assert.deepEqual(listeningUnix(mine), [], 'listening unix sockets');
    // The same, as `ss` sees it.
    const ss = execFileSync('ss', ['-Hltunp'], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l.includes(`pid=${kernel.pid},`));
    assert.equal(ss.length, 5, ss.join('\n'));
    for (const l of ss) assert.match(l, /^tcp\s+LISTEN\s+\d+\s+\d+\s+127\.0\.0\.1:(\d+)\s/);
  });

  it('no process of its lab listens on anything, or holds one of its sockets', () => {
    const kernelSockets = socketInodes(kernel.pid);
    const all = inetSockets();
    for (const p of descendants(kernel.pid)) {
      const held = socketInodes(p.pid);
      assert.deepEqual([...held].filter((i) => kernelSockets.has(i)), [], `${p.comm} (${p.pid}) holds a socket of the kernel`);
      assert.deepEqual(all.filter((s) => held.has(s.inode) && s.state === '0A'), [], `${p.comm} (${p.pid}) listens`);
    }
  });

  it('its files are its user\'s only: /tmp/nslab-* 0700, inputrc 0600, home 0700, history files 0600', () => {
    const dir = kernel.labDir!;
    assert.ok(dir, 'the kernel did not say where its files are');
    const uid = process.getuid!();
    const mode = (p: string) => statSync(p).mode & 0o7777;
    const owner = (p: string) => statSync(p).uid;
    assert.equal(mode(dir).toString(8), '700', dir);
    assert.equal(owner(dir), uid);
    assert.equal(mode(join(dir, 'inputrc')).toString(8), '600');
    assert.equal(mode(join(dir, 'home')).toString(8), '700');
    const histories = readdirSync(dir).filter((f) => /^history-\d+$/.test(f));
    assert.ok(histories.length >= 1, `no history file in ${dir}: ${readdirSync(dir).join(', ')}`);
    for (const h of histories) assert.equal(mode(join(dir, h)).toString(8), '600', h);
    // Nothing below it is writable by anyone else, and all of it is the user's.
    const walk = (p: string): string[] => [p, ...(statSync(p).isDirectory() ? readdirSync(p).flatMap((e) => walk(join(p, e))) : [])];
    for (const p of walk(dir)) {
      assert.equal(owner(p), uid, p);
      assert.equal(mode(p) & 0o022, 0, `${p} is writable by group or others (${mode(p).toString(8)})`);
    }
    const loose = walk(dir).filter((p) => (mode(p) & 0o077) !== 0);
    if (loose.length) report.notes.push(`files in the kernel's 0700 directory with group/other bits: ${loose.map((p) => `${p.slice(dir.length + 1)} ${mode(p).toString(8)}`).join(', ')}`);
  });

  it('the key is in no file it wrote and in no environment of its lab; no launcher variable reaches the lab', () => {
    const dir = kernel.labDir!;
    const walk = (p: string): string[] => (statSync(p).isDirectory() ? readdirSync(p).flatMap((e) => walk(join(p, e))) : [p]);
    for (const f of walk(dir)) assert.ok(!readFileSync(f, 'latin1').includes(kernel.info.key), `${f} holds the key`);
    for (const p of descendants(kernel.pid)) {
      let env = '';
      try {
        env = readFileSync(`/proc/${p.pid}/environ`, 'latin1');
      } catch {
        continue;
      }
      assert.ok(!env.includes(kernel.info.key), `${p.comm} (${p.pid}) has the key in its environment`);
      assert.ok(!env.includes(kernel.connectionFile), `${p.comm} (${p.pid}) has the connection file's name in its environment`);
      assert.deepEqual(env.split('\0').filter((v) => /^JPY_/.test(v)), [], `${p.comm} (${p.pid})`);
    }
  });
});
