/**
 * The connection file a Jupyter client writes before starting the kernel: where to bind
 * each channel and how to sign messages.
 *
 * Spec: https://jupyter-client.readthedocs.io/en/stable/kernels.html#connection-files
 */
import { readFileSync } from 'node:fs';
import { ConnectionFileError, ProtocolError } from './errors.js';
import { Signer } from './signing.js';
import { isPlainObject } from '../common/json.js';

export type ZmqTransportKind = 'tcp' | 'ipc';

export interface ConnectionInfo {
  transport: ZmqTransportKind;
  /** An IP address for tcp; for ipc, the path prefix of the socket files. */
  ip: string;
  shell_port: number;
  control_port: number;
  stdin_port: number;
  iopub_port: number;
  hb_port: number;
  /** HMAC key; empty means messages are not signed. */
  key: string;
  signature_scheme: string;
  kernel_name?: string;
}

export const PORT_FIELDS = ['shell_port', 'control_port', 'stdin_port', 'iopub_port', 'hb_port'] as const;
export type PortField = (typeof PORT_FIELDS)[number];

/**
 * Read and validate a connection file. Every field jupyter_client writes is required
 * (`kernel_name` excepted): nslab binds only what the client asked for, so a missing
 * port cannot be defaulted.
 *
 * @throws ConnectionFileError naming the file and what is wrong with it
 */
export function readConnectionFile(path: string): ConnectionInfo {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    throw new ConnectionFileError(path, missing ? 'no such file' : `cannot be read: ${(err as Error).message}`, {
      cause: err,
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ConnectionFileError(path, `is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  return parseConnectionInfo(json, path);
}

/** Validate already-parsed connection data; `source` names it in errors. */
export function parseConnectionInfo(json: unknown, source: string): ConnectionInfo {
  const fail = (problem: string, cause?: unknown): never => {
    throw new ConnectionFileError(source, problem, cause === undefined ? undefined : { cause });
  };
  if (!isPlainObject(json)) return fail('must contain a JSON object');
  const data = json;

  const string = (field: string): string => {
    const value = data[field];
    if (typeof value !== 'string') {
      return fail(value === undefined ? `missing "${field}"` : `"${field}" must be a string`);
    }
    return value;
  };
  const port = (field: PortField): number => {
    const value = data[field];
    if (value === undefined) return fail(`missing "${field}"`);
    // Port 0 would mean "pick one", but the client has already decided where to connect.
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 65535) {
      return fail(`"${field}" must be an integer from 1 to 65535, got ${JSON.stringify(value)}`);
    }
    return value;
  };

  const transport = string('transport');
  if (transport !== 'tcp' && transport !== 'ipc') {
    return fail(`"transport" must be "tcp" or "ipc", got ${JSON.stringify(transport)}`);
  }
  const ip = string('ip');
  if (ip === '') return fail('"ip" must not be empty');
  const key = string('key');
  const signatureScheme = string('signature_scheme');
  try {
    new Signer(signatureScheme, key);
  } catch (err) {
    if (err instanceof ProtocolError) return fail(err.message, err);
    throw err;
  }
  const kernelName = data.kernel_name;
  if (kernelName !== undefined && typeof kernelName !== 'string') return fail('"kernel_name" must be a string');

  return {
    transport,
    ip,
    shell_port: port('shell_port'),
    control_port: port('control_port'),
    stdin_port: port('stdin_port'),
    iopub_port: port('iopub_port'),
    hb_port: port('hb_port'),
    key,
    signature_scheme: signatureScheme,
    ...(kernelName === undefined ? {} : { kernel_name: kernelName }),
  };
}

/**
 * The ZeroMQ address for `port`. For ipc the "port" only numbers the socket file, named
 * `<ip>-<port>` as jupyter_client does (`jupyter_client.connect`, `_make_url`).
 */
export function endpoint(info: Pick<ConnectionInfo, 'transport' | 'ip'>, port: number): string {
  return info.transport === 'tcp' ? `tcp://${info.ip}:${port}` : `ipc://${info.ip}-${port}`;
}
