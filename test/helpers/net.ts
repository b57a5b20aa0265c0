/** Ports and connection files for tests that start kernels or bind sockets on loopback. */
import { randomBytes } from 'node:crypto';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { ConnectionInfo } from '../../src/protocol/connection.js';

/** Ports that were free a moment ago (all listened on together, so they differ). */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () => new Promise<net.Server>((resolve, reject) => {
      const server = net.createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve(server));
    })),
  );
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

/** A tcp connection file's contents on 127.0.0.1 with free ports (a random key unless given). */
export async function loopbackConnectionInfo(key: string = randomBytes(32).toString('hex')): Promise<ConnectionInfo & { transport: 'tcp'; signature_scheme: 'hmac-sha256' }> {
  const [shell, control, stdin, iopub, hb] = await freePorts(5);
  return {
    transport: 'tcp' as const,
    ip: '127.0.0.1',
    shell_port: shell,
    control_port: control,
    stdin_port: stdin,
    iopub_port: iopub,
    hb_port: hb,
    key,
    signature_scheme: 'hmac-sha256' as const,
    kernel_name: 'nslab',
  };
}
