import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { endpoint, PORT_FIELDS, readConnectionFile, type ConnectionInfo } from '../../src/protocol/connection.js';
import { ConnectionFileError, UnsupportedSignatureScheme } from '../../src/protocol/errors.js';

/** What jupyter_client writes (`write_connection_file`). */
const GOOD: ConnectionInfo = {
  transport: 'tcp',
  ip: '127.0.0.1',
  shell_port: 50001,
  control_port: 50002,
  stdin_port: 50003,
  iopub_port: 50004,
  hb_port: 50005,
  key: 'a0436f6c-1916-498b-8eb9-e81ab9368e84',
  signature_scheme: 'hmac-sha256',
  kernel_name: 'nslab',
};

describe('protocol/connection', () => {
  let dir: string;
  let counter = 0;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'nslab-connection-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  function write(content: unknown): string {
    const path = join(dir, `kernel-${++counter}.json`);
    writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
    return path;
  }

  /** Asserts reading `path` fails with a ConnectionFileError naming the file and matching `problem`. */
  function assertRejected(path: string, problem: RegExp): ConnectionFileError {
    let caught: unknown;
    try {
      readConnectionFile(path);
    } catch (err) {
      caught = err;
    }
    assert.ok(caught instanceof ConnectionFileError, `expected ConnectionFileError, got ${String(caught)}`);
    assert.equal(caught.code, 'CONNECTION_FILE');
    assert.equal(caught.path, path);
    assert.match(caught.message, new RegExp(path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    assert.match(caught.message, problem);
    return caught;
  }

  it('reads a file as jupyter_client writes it', () => {
    assert.deepEqual(readConnectionFile(write(GOOD)), GOOD);
  });

  it('treats kernel_name as optional, and ignores fields it does not know', () => {
    const { kernel_name: _name, ...rest } = GOOD;
    assert.deepEqual(readConnectionFile(write({ ...rest, extra: true })), rest);
  });

  it('accepts an empty key (unsigned messages)', () => {
    assert.equal(readConnectionFile(write({ ...GOOD, key: '' })).key, '');
  });

  it('reports a missing file', () => {
    assertRejected(join(dir, 'absent.json'), /no such file/);
  });

  it('reports invalid JSON, and JSON that is not an object', () => {
    assertRejected(write('{"ip": '), /not valid JSON/);
    assertRejected(write([GOOD]), /JSON object/);
  });

  for (const field of ['transport', 'ip', 'key', 'signature_scheme', ...PORT_FIELDS] as const) {
    it(`reports a missing "${field}"`, () => {
      const { [field]: _dropped, ...rest } = GOOD;
      assertRejected(write(rest), new RegExp(`missing "${field}"`));
    });
  }

  it('rejects ports that are not integers from 1 to 65535', () => {
    for (const bad of [0, 65536, -1, 1.5, '50001', null]) {
      assertRejected(write({ ...GOOD, hb_port: bad }), /"hb_port" must be an integer from 1 to 65535/);
    }
  });

  it('rejects a transport other than tcp or ipc', () => {
    assertRejected(write({ ...GOOD, transport: 'udp' }), /"transport" must be "tcp" or "ipc", got "udp"/);
  });

  it('rejects non-string fields and an empty ip', () => {
    assertRejected(write({ ...GOOD, key: 42 }), /"key" must be a string/);
    assertRejected(write({ ...GOOD, ip: '' }), /"ip" must not be empty/);
    assertRejected(write({ ...GOOD, kernel_name: 1 }), /"kernel_name" must be a string/);
  });

  it('rejects an unsupported signature scheme, naming the supported one', () => {
    const err = assertRejected(write({ ...GOOD, signature_scheme: 'hmac-md5' }), /"hmac-md5".*hmac-sha256/);
    assert.ok(err.cause instanceof UnsupportedSignatureScheme);
  });

  describe('endpoint', () => {
    it('is tcp://ip:port for tcp', () => {
      assert.equal(endpoint(GOOD, GOOD.shell_port), 'tcp://127.0.0.1:50001');
    });

    it('is ipc://ip-port for ipc, as jupyter_client names the socket files', () => {
      assert.equal(endpoint({ transport: 'ipc', ip: '/tmp/kernel-1' }, 3), 'ipc:///tmp/kernel-1-3');
    });
  });
});
