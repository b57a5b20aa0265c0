/**
 * The pure parts of installing nslab from its package (issue 23): which platforms are supported,
 * how the Jupyter in use is found from a `jupyter` script's #! line, the kernelspec's argv,
 * `nslab notebooks`, and what `nslab doctor` prints for the situations it tells apart.
 * The whole flow, from the npm tarball, is test/e2e/package.test.ts.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { doctorLines, renderDoctor, versionAtLeast, wrap, type DoctorFacts } from '../../src/cli/doctor.js';
import { KERNEL_MAIN, kernelArgv, kernelsDir, unstableLocation } from '../../src/cli/install.js';
import { shebangInterpreter } from '../../src/cli/jupyter.js';
import { copyNotebooks, NotebooksExistError } from '../../src/cli/notebooks.js';
import { currentPlatform, platformSupport } from '../../src/cli/platform.js';

describe('package: platforms', () => {
  it('Linux on x64 and arm64 is supported', () => {
    for (const arch of ['x64', 'arm64']) assert.deepEqual(platformSupport('linux', arch), { level: 'supported', summary: `Linux ${arch}: supported`, advice: '' });
  });
  it('Linux on another CPU is untested, not refused', () => {
    const s = platformSupport('linux', 'riscv64');
    assert.equal(s.level, 'untested');
    assert.match(s.summary, /^Linux on riscv64 is untested \(nslab is tested on x64 and arm64\)/);
  });
  it('macOS and Windows are refused with the Docker image as the way', () => {
    for (const [p, name] of [['darwin', 'macOS'], ['win32', 'Windows'], ['freebsd', 'FreeBSD']]) {
      const s = platformSupport(p, 'arm64');
      assert.equal(s.level, 'unsupported');
      assert.match(s.summary, new RegExp(`^${name} \\(${p} arm64\\) is not supported: the nslab kernel makes its lab with Linux namespaces`));
      assert.match(s.advice, /^Run nslab in its Docker image instead .*`docker build -t nslab \.` then `docker run --rm -it --init --privileged -p 127\.0\.0\.1:8888:8888 nslab`/);
    }
  });
  it('NSLAB_PLATFORM stands in for process.platform/arch', () => {
    assert.deepEqual(currentPlatform({}), { platform: process.platform, arch: process.arch });
    assert.deepEqual(currentPlatform({ NSLAB_PLATFORM: 'darwin' }), { platform: 'darwin', arch: process.arch });
    assert.deepEqual(currentPlatform({ NSLAB_PLATFORM: 'linux/riscv64' }), { platform: 'linux', arch: 'riscv64' });
  });
});

describe('package: finding the Jupyter in use', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'nslab-unit-'));
    writeFileSync(join(dir, 'python3'), '');
    chmodSync(join(dir, 'python3'), 0o755);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("reads the interpreter from a console script's #! line", () => {
    assert.equal(shebangInterpreter('#!/home/u/jupyter/bin/python3.11', ''), '/home/u/jupyter/bin/python3.11');
    assert.equal(shebangInterpreter('#!/usr/bin/python3', ''), '/usr/bin/python3');
    assert.equal(shebangInterpreter('#! /opt/conda/bin/python', ''), '/opt/conda/bin/python');
  });
  it('follows #!/usr/bin/env python3 through PATH', () => {
    assert.equal(shebangInterpreter('#!/usr/bin/env python3', `/nonexistent:${dir}`), join(dir, 'python3'));
    assert.equal(shebangInterpreter('#!/usr/bin/env -S python3 -u', dir), join(dir, 'python3'));
    assert.equal(shebangInterpreter('#!/usr/bin/env python3', '/nonexistent'), null);
  });
  it('gives up on what is not a Python script', () => {
    assert.equal(shebangInterpreter('#!/bin/sh', ''), null);
    assert.equal(shebangInterpreter('\x7fELF\x02\x01', ''), null);
    assert.equal(shebangInterpreter('', ''), null);
  });
});

describe('package: the kernelspec', () => {
  it("argv: this Node and this package's main.js, Node's flags kept", () => {
    assert.deepEqual(kernelArgv(['node', '--max-semi-space-size=1', 'dist/src/cli/main.js', 'kernel', '{connection_file}'], '/usr/bin/node', KERNEL_MAIN), [
      '/usr/bin/node', '--max-semi-space-size=1', KERNEL_MAIN, 'kernel', '{connection_file}',
    ]);
  });
  it('--sys-prefix writes into sys.prefix/share/jupyter/kernels', () => {
    assert.equal(kernelsDir({ sysPrefix: '/home/u/jupyter' }), '/home/u/jupyter/share/jupyter/kernels');
    assert.equal(kernelsDir({ prefix: '/opt/x' }), '/opt/x/share/jupyter/kernels');
    assert.equal(kernelsDir({}), '/usr/local/share/jupyter/kernels');
  });
  it("warns when nslab runs from npx's cache, whose folders npm removes", () => {
    assert.match(unstableLocation('/home/u/.npm/_npx/1f2e3d/node_modules/nslab') ?? '', /npx's cache .*`npm install -g` it\) and run `nslab install` from there/);
    assert.equal(unstableLocation('/usr/local/lib/node_modules/nslab'), null);
    assert.equal(unstableLocation('/home/u/src/nslab'), null);
  });
});

describe('package: nslab notebooks DIR', () => {
  let dir: string;
  let from: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'nslab-unit-'));
    from = join(dir, 'package-notebooks');
    mkdirSync(from);
    for (const n of ['01-b.ipynb', '00-a.ipynb']) writeFileSync(join(from, n), `{"name": "${n}"}`);
    writeFileSync(join(from, 'README.txt'), 'not a notebook');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('copies every notebook, in order, into a folder it makes', () => {
    const dest = join(dir, 'a', 'b');
    assert.deepEqual(copyNotebooks(dest, { from }), [join(dest, '00-a.ipynb'), join(dest, '01-b.ipynb')]);
    assert.deepEqual(readdirSync(dest).sort(), ['00-a.ipynb', '01-b.ipynb']);
  });
  it('refuses, copying nothing, when one is already there; --force overwrites', () => {
    const dest = join(dir, 'mine');
    mkdirSync(dest);
    writeFileSync(join(dest, '01-b.ipynb'), 'my edits');
    assert.throws(() => copyNotebooks(dest, { from }), (e: Error) => e instanceof NotebooksExistError && /already has 01-b\.ipynb; nothing was copied.*--force/.test(e.message));
    assert.deepEqual(readdirSync(dest), ['01-b.ipynb']);
    assert.equal(readFileSync(join(dest, '01-b.ipynb'), 'utf8'), 'my edits');
    copyNotebooks(dest, { from, force: true });
    assert.equal(readFileSync(join(dest, '01-b.ipynb'), 'utf8'), '{"name": "01-b.ipynb"}');
  });
  it('refuses a destination that is a file', () => {
    writeFileSync(join(dir, 'file'), '');
    assert.throws(() => copyNotebooks(join(dir, 'file'), { from }), /exists and is not a folder/);
  });
});

function facts(over: Partial<DoctorFacts> = {}): DoctorFacts {
  return {
    version: '0.2.0',
    root: '/p/lib/node_modules/nslab',
    node: { version: '20.20.2', path: '/usr/bin/node' },
    platform: { platform: 'linux', arch: 'x64', support: platformSupport('linux', 'x64') },
    native: { 'node-pty': { ok: true, detail: 'loads' }, zeromq: { ok: true, detail: 'loads' } },
    missingTools: [],
    uid: 0,
    rootLab: { ok: true, detail: 'yes' },
    rootlessLab: { ok: true, detail: 'yes' },
    jupyter: {
      choice: { python: '/v/bin/python', source: '`jupyter` on PATH: /v/bin/jupyter' },
      report: { python: '/v/bin/python', pythonVersion: '3.11.2', prefix: '/v', versions: { jupyter_core: '5.9.1', jupyter_client: '8.10.0', jupyterlab: '4.6.6' }, kernelspecs: { nslab: '/h/k/nslab' }, path: ['/h/k', '/v/share/jupyter/kernels'] },
    },
    kernelspec: { dir: '/h/k/nslab', argv: ['/usr/bin/node', KERNEL_MAIN], version: '0.2.0', missing: [] },
    ...over,
  };
}
const line = (f: DoctorFacts, what: string) => doctorLines(f).find((l) => l.what === what);

describe('package: nslab doctor', () => {
  it('all usable: one screen of ok lines and "Ready"', () => {
    const { text, ok } = renderDoctor(facts());
    assert.ok(ok);
    assert.ok(text.split('\n').length <= 24, 'more than a screen');
    assert.match(text, /^ok {3}namespaces  root lab — root lab: yes; rootless lab: yes$/m);
    assert.match(line(facts(), 'Jupyter')!.text, /^jupyter_core 5\.9\.1, jupyter_client 8\.10\.0, JupyterLab 4\.6\.6 — Python 3\.11\.2 \/v\/bin\/python \(via `jupyter` on PATH: \/v\/bin\/jupyter\)$/);
    assert.match(text, /^ok {3}Jupyter {5}jupyter_core 5\.9\.1, /m);
    assert.match(text, /^ok {3}kernelspec  \/h\/k\/nslab → this nslab \(written by nslab 0\.2\.0\)$/m);
    assert.match(text, /^Ready: /m);
  });
  it('a user who is not root gets the rootless lab', () => {
    assert.match(line(facts({ uid: 1000, rootLab: { ok: false, detail: 'unshare: unshare failed: Operation not permitted' } }), 'namespaces')!.text, /^rootless lab — root lab: no \(unshare: unshare failed: Operation not permitted\); rootless lab: yes$/);
  });
  it('no namespaces: host only, with what to do in Docker and on a host', () => {
    const f = facts({ rootLab: { ok: false, detail: 'unshare failed: Operation not permitted' }, rootlessLab: { ok: false, detail: 'unshare failed: Operation not permitted' } });
    const l = line(f, 'namespaces')!;
    assert.equal(l.status, 'NO');
    assert.match(l.text, /^host only — root lab: no/);
    assert.match(l.fix!, /--privileged.*apparmor_restrict_unprivileged_userns=0/);
    assert.match(renderDoctor(f).text, /^Not ready: /m);
  });
  it('missing lab tools name the packages', () => {
    assert.match(line(facts({ missingTools: ['tini'] }), 'namespaces')!.fix!, /apt-get install util-linux tini/);
  });
  it('an unsupported platform: the Docker advice, no namespace probe', () => {
    const f = facts({ platform: { platform: 'darwin', arch: 'arm64', support: platformSupport('darwin', 'arm64') } });
    assert.equal(line(f, 'platform')!.status, 'NO');
    assert.equal(line(f, 'namespaces'), undefined);
  });
  it('no Jupyter: says how to get one or name it; the kernelspec cannot be told', () => {
    const f = facts({ jupyter: { choice: null }, kernelspec: undefined });
    assert.match(line(f, 'Jupyter')!.fix!, /--python PATH.*python3 -m venv ~\/jupyter/);
    assert.equal(line(f, 'kernelspec')!.status, '?');
  });
  it('no kernelspec: where Jupyter looked and how to install', () => {
    const l = line(facts({ kernelspec: null }), 'kernelspec')!;
    assert.match(l.text, /finds no nslab kernelspec \(it looks in \/h\/k, \/v\/share\/jupyter\/kernels\)/);
    assert.match(l.fix!, /nslab install --user.*--sys-prefix` for the Jupyter in \/v/);
  });
  it('a kernelspec pointing at removed files, at another nslab, or written by an older version', () => {
    const gone = line(facts({ kernelspec: { dir: '/h/k/nslab', argv: ['/old/node', '/old/main.js'], version: '0.1.0', missing: ['/old/node', '/old/main.js'] } }), 'kernelspec')!;
    assert.equal(gone.status, 'NO');
    assert.match(gone.text, /argv names \/old\/node, \/old\/main\.js, which no longer exist/);
    const other = line(facts({ kernelspec: { dir: '/h/k/nslab', argv: [], version: '0.2.0', missing: [], otherMain: '/src/nslab/dist/src/cli/main.js' } }), 'kernelspec')!;
    assert.equal(other.status, 'warn');
    assert.match(other.text, /starts another nslab \(\/src\/nslab\/dist\/src\/cli\/main\.js\)/);
    const older = line(facts({ kernelspec: { dir: '/h/k/nslab', argv: [], version: '0.1.0', missing: [] } }), 'kernelspec')!;
    assert.equal(older.status, 'ok');
    assert.match(older.text, /written by nslab 0\.1\.0; this is 0\.2\.0: argv still valid/);
  });
  it('long lines wrap at 100 columns under the text column', () => {
    assert.deepEqual(wrap('ok   x' + ' word'.repeat(30), '    ', 40), ['ok   x word word word word word word', '    word word word word word word word', '    word word word word word word word', '    word word word word word word word', '    word word word']);
    assert.deepEqual(wrap('a '.repeat(3) + 'x'.repeat(50), '  ', 20), ['a a a', '  ' + 'x'.repeat(50)]);
    const f = facts({ rootLab: { ok: false, detail: 'unshare failed: Operation not permitted' }, rootlessLab: { ok: false, detail: 'unshare failed: Operation not permitted' } });
    for (const l of renderDoctor(f).text.split('\n')) assert.ok(l.length <= 100, l);
  });
  it('Node older than the engines field', () => {
    assert.ok(versionAtLeast('20.20.2', '18.19.0'));
    assert.ok(versionAtLeast('18.19.0', '18.19.0'));
    assert.ok(!versionAtLeast('18.18.2', '18.19.0'));
    assert.equal(line(facts({ node: { version: '16.20.0', path: '/usr/bin/node' } }), 'Node')!.status, 'NO');
  });
});
