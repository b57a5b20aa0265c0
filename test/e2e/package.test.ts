/**
 * nslab as a user gets it (issue 23): `npm pack` in this checkout, then everything from the
 * tarball only, in a temporary npm prefix (`npm install -g --prefix TMP`, never the machine's
 * global prefix), with HOME and Jupyter's directories pointed into the same temporary folder:
 * `nslab install --user` / `--sys-prefix`, `nslab notebooks DIR`, the project's pinned Jupyter
 * stack (.venv, nbclient) running notebook 01 with that kernelspec, an upgrade to another
 * version of the package, `nslab uninstall`, `nslab doctor`, the usage errors, and what
 * `nslab install` says on a platform it does not support. Everything is removed afterwards.
 *
 * npm needs the registry (node-pty and zeromq come from it, node-pty compiles against Node's
 * headers) and uses the user's npm cache.
 */
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, renameSync, readdirSync, readFileSync, realpathSync, rmSync, readlinkSync, statSync, symlinkSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PYTHON, REPO, leftoverMessage, runPython } from '../helpers/kernelspec.js';

interface PackResult {
  filename: string;
  size: number;
  unpackedSize: number;
  entryCount: number;
  files: { path: string; size: number }[];
}

/** The environment of a user's shell: none of the npm_* variables that `npm test` sets. */
function userEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k) && !k.startsWith('JUPYTER_') && k !== 'NSLAB_PYTHON') env[k] = v;
  return { ...env, ...extra };
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000, cwd = REPO): SpawnSyncReturns<string> {
  const r = spawnSync(cmd, args, { env, cwd, encoding: 'utf8', timeout: timeoutMs });
  if (r.error) throw r.error;
  return r;
}

function ok(r: SpawnSyncReturns<string>, what: string): string {
  assert.equal(r.status, 0, `${what} failed (status ${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** The nslab kernelspec folder that the Jupyter of `python` (jupyter_client's KernelSpecManager) finds, or undefined. */
function kernelspecSeen(env: NodeJS.ProcessEnv, python = PYTHON): string | undefined {
  const script = 'import json\nfrom jupyter_client.kernelspec import KernelSpecManager\nprint(json.dumps(KernelSpecManager().find_kernel_specs()))';
  const out = ok(run(python, ['-c', script], env), `${python}: find_kernel_specs`);
  return JSON.parse(out).nslab;
}

/** nslab doctor's screen with wrapped lines joined again (a fix line, "→ …", stays a line of its own). */
function unwrap(text: string): string {
  return text.replace(/\n {17,19}(?=[^\s→])/g, ' ');
}

describe('package: nslab from its npm tarball, in a fresh prefix @slow', function () {
  this.timeout(10 * 60 * 1000);
  let tmp: string;
  let pack: PackResult;
  let tarball: string;
  let upgradeTarball: string;
  let prefix: string;
  let nslab: string;
  let home: string;
  let env: NodeJS.ProcessEnv;
  const version: string = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).version;
  const upgradeVersion = `${version.replace(/-.*/, '').replace(/\d+$/, (n) => String(Number(n) + 1))}-upgrade.0`;

  before(function () {
    tmp = realpathSync(mkdtempSync(join(tmpdir(), 'nslab-package-')));
    prefix = join(tmp, 'prefix');
    nslab = join(prefix, 'bin', 'nslab');
    home = join(tmp, 'home');
    mkdirSync(home);
    env = userEnv({
      HOME: home,
      JUPYTER_DATA_DIR: join(home, 'jupyter-data'),
      JUPYTER_CONFIG_DIR: join(home, 'jupyter-config'),
      JUPYTER_RUNTIME_DIR: join(home, 'jupyter-runtime'),
      PATH: `${join(prefix, 'bin')}:${process.env.PATH}`,
      PYTHONDONTWRITEBYTECODE: '1',
    });
    // `npm pack` runs prepack (a fresh build of src/ with tsconfig.build.json).
    const out = ok(run('npm', ['pack', '--json', '--pack-destination', tmp], userEnv(), 5 * 60_000), 'npm pack');
    pack = (JSON.parse(out) as PackResult[])[0];
    tarball = join(tmp, pack.filename);
    console.log(`      npm pack: ${pack.filename}, ${(pack.size / 1024).toFixed(1)} kB packed, ${(pack.unpackedSize / 1024).toFixed(1)} kB unpacked, ${pack.entryCount} files`);
    // Another version of the same package, for the upgrade: the tarball unpacked, its version
    // raised, packed again by npm (no scripts: the code in it is already built).
    const unpacked = join(tmp, 'upgrade');
    mkdirSync(unpacked);
    ok(run('tar', ['-xzf', tarball, '-C', unpacked], userEnv()), 'tar');
    const pkgJson = join(unpacked, 'package', 'package.json');
    writeFileSync(pkgJson, readFileSync(pkgJson, 'utf8').replace(`"version": "${version}"`, `"version": "${upgradeVersion}"`));
    const up = ok(run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', tmp], userEnv(), 60_000, join(unpacked, 'package')), 'npm pack (upgrade)');
    upgradeTarball = join(tmp, (JSON.parse(up) as PackResult[])[0].filename);
  });

  after(function () {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
    assert.ok(!tmp || !existsSync(tmp), `${tmp} was not removed`);
  });

  it('npm pack holds the built code, kernelspec template and logos, notebooks, handout tools, LICENSE, and nothing else', function () {
    const paths = pack.files.map((f) => f.path).sort();
    const notebooks = readdirSync(join(REPO, 'notebooks')).filter((f) => f.endsWith('.ipynb')).map((f) => `notebooks/${f}`);
    const needed = ['LICENSE', 'README.md', 'package.json', 'kernel.json', 'kernel/logo-32x32.png', 'kernel/logo-64x64.png',
      'dist/src/cli/main.js', 'dist/src/lab/nstree/main.js', 'scripts/execute_notebook.py', 'scripts/handout.html.j2', ...notebooks];
    for (const p of needed) assert.ok(paths.includes(p), `${p} is not in the package`);
    const allowed = (p: string) => needed.includes(p) || /^dist\/src\/.+\.js$/.test(p);
    assert.deepEqual(paths.filter((p) => !allowed(p)), [], 'files a user does not need');
    // No stale build output: every module in the package has its source in src/.
    for (const p of paths.filter((q) => q.startsWith('dist/src/'))) {
      assert.ok(existsSync(join(REPO, p.replace(/^dist\//, '').replace(/\.js$/, '.ts'))), `${p} has no source in src/`);
    }
    const manifest = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8'));
    // Every package the shipped code imports is a dependency (a devDependency is not installed for users).
    const imported = new Set<string>();
    for (const p of paths.filter((q) => q.startsWith('dist/src/'))) {
      const code = readFileSync(join(REPO, p), 'utf8');
      const specifiers = [...code.matchAll(/^\s*(?:import|export)\b[^;'"]*?from\s*['"]([^'"]+)['"]/gm), ...code.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1]);
      for (const spec of specifiers) {
        if (spec.startsWith('.') || spec.startsWith('node:')) continue;
        imported.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]);
      }
    }
    assert.deepEqual([...imported].filter((d) => !(d in manifest.dependencies)).sort(), [], 'imported by dist/src but not a dependency');
    assert.ok(imported.has('node-pty') && imported.has('zeromq'), [...imported].join(', '));
    assert.deepEqual(manifest.bin, { nslab: 'dist/src/cli/main.js' });
    assert.equal(manifest.license, 'MIT');
    assert.match(manifest.engines.node, /^>=\d/);
    assert.match(readFileSync(join(REPO, 'LICENSE'), 'utf8'), /^MIT License/);
  });

  it('installs from the tarball alone with npm install -g --prefix, native parts included', function () {
    const started = Date.now();
    // npm 11 asks for install scripts to be allowed by name (node-pty compiles, zeromq checks its binary).
    ok(run('npm', ['install', '-g', '--prefix', prefix, '--allow-scripts=node-pty,zeromq', tarball], userEnv(), 8 * 60_000, tmp), 'npm install -g');
    console.log(`      npm install -g from the tarball: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const installed = join(prefix, 'lib', 'node_modules', 'nslab');
    assert.ok(existsSync(join(installed, 'node_modules', 'node-pty', 'build', 'Release', 'pty.node')), 'node-pty was not built');
    assert.equal(realpathSync(nslab), join(installed, 'dist', 'src', 'cli', 'main.js'));
    assert.equal(ok(run(nslab, ['--version'], env), 'nslab --version').trim(), version);
    assert.match(ok(run(nslab, ['--help'], env), 'nslab --help'), /^usage: nslab COMMAND[\s\S]*install \[--user \| --sys-prefix[\s\S]*doctor/);
    const unknown = run(nslab, ['frobnicate'], env);
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /^nslab: unknown command 'frobnicate' \(see `nslab --help`\)/);
    const badFlag = run(nslab, ['install', '--usr'], env);
    assert.equal(badFlag.status, 2);
    assert.match(badFlag.stderr, /unknown option --usr/);
  });

  it('nslab install --user writes a kernelspec that starts this Node and the installed package', function () {
    const out = ok(run(nslab, ['install', '--user'], env), 'nslab install --user');
    const dir = join(home, 'jupyter-data', 'kernels', 'nslab');
    assert.equal(out.trim(), `installed kernelspec nslab in ${dir}`);
    const spec = JSON.parse(readFileSync(join(dir, 'kernel.json'), 'utf8'));
    // argv names the package under the prefix (replaced in place by npm on upgrade), not this checkout.
    assert.deepEqual(spec.argv, [process.execPath, '--max-semi-space-size=1', join(prefix, 'lib', 'node_modules', 'nslab', 'dist', 'src', 'cli', 'main.js'), 'kernel', '{connection_file}']);
    assert.equal(spec.metadata.nslab.version, version);
    assert.ok(existsSync(join(dir, 'logo-64x64.png')));
    assert.equal(kernelspecSeen(env), dir);
  });

  it('nslab notebooks DIR copies the tutorials, and does not overwrite them without --force', function () {
    const dest = join(tmp, 'work', 'namespaces');
    const out = ok(run(nslab, ['notebooks', dest], env), 'nslab notebooks');
    const names = readdirSync(join(REPO, 'notebooks')).filter((f) => f.endsWith('.ipynb')).sort();
    assert.deepEqual(readdirSync(dest).sort(), names);
    for (const n of names) assert.deepEqual(readFileSync(join(dest, n)), readFileSync(join(REPO, 'notebooks', n)), n);
    assert.match(out, new RegExp(`copied ${names.length} notebooks into ${dest}`));
    writeFileSync(join(dest, '00-index.ipynb'), 'my notes');
    const again = run(nslab, ['notebooks', dest], env);
    assert.equal(again.status, 1);
    assert.match(again.stderr, /already has 00-index\.ipynb, 01-pid-namespace\.ipynb.*nothing was copied.*--force/);
    assert.equal(readFileSync(join(dest, '00-index.ipynb'), 'utf8'), 'my notes');
    ok(run(nslab, ['notebooks', dest, '--force'], env), 'nslab notebooks --force');
    assert.deepEqual(readFileSync(join(dest, '00-index.ipynb')), readFileSync(join(REPO, 'notebooks', '00-index.ipynb')));
    assert.equal(run(nslab, ['notebooks'], env).status, 2);
  });

  /** Notebook 01, copied by `nslab notebooks`, run by the pinned stack's nbclient with the user's kernelspec. */
  async function runTutorial01(label: string): Promise<void> {
    const nb = join(tmp, 'work', 'namespaces', '01-pid-namespace.ipynb');
    const outNb = join(tmp, `01-${label}.ipynb`);
    const report = join(tmp, `01-${label}.json`);
    const script = join(prefix, 'lib', 'node_modules', 'nslab', 'scripts', 'execute_notebook.py');
    const r = await runPython([script, nb, outNb, '--report', report, '--cwd', dirname(nb)], { env, timeoutMs: 3 * 60_000, cwd: tmp });
    assert.deepEqual(r.leftovers, [], leftoverMessage(r.leftovers));
    assert.equal(r.code, 0, `notebook 01 (${label}) failed:\n${r.stdout}\n${r.stderr}\n${existsSync(report) ? readFileSync(report, 'utf8') : ''}`);
    assert.equal(JSON.parse(readFileSync(report, 'utf8')).failure, null);
    const cells = JSON.parse(readFileSync(outNb, 'utf8')).cells as { source: string | string[]; outputs?: { text?: string | string[] }[] }[];
    const output = (re: RegExp) => {
      const cell = cells.find((c) => re.test([c.source].flat().join('')));
      assert.ok(cell, `no cell ${re}`);
      return (cell.outputs ?? []).map((o) => [o.text ?? ''].flat().join('')).join('');
    };
    // The lab: the learner's bash is PID 2 under tini, and a new PID namespace's bash is PID 1.
    assert.match(output(/^echo \$\$$/), /^2$/m);
    assert.match(output(/^unshare --pid --fork bash\necho \$\$$/), /^1$/m);
  }

  it('the pinned Jupyter stack runs notebook 01 with the kernelspec from the package', async function () {
    await runTutorial01('installed');
  });

  it('nslab handouts makes an HTML and a PDF handout of a copied notebook with the template from the package', function () {
    const nbDir = join(tmp, 'work', 'namespaces');
    const out = join(tmp, 'handouts');
    const r = run(nslab, ['handouts', '--notebooks', nbDir, '--out', out, '01-pid-namespace'], { ...env, NSLAB_PYTHON: PYTHON }, 5 * 60_000, tmp);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const html = readFileSync(join(out, '01-pid-namespace.html'), 'utf8');
    assert.match(html, /unshare --pid --fork bash/);
    assert.deepEqual(readdirSync(out).sort(), ['01-pid-namespace.html', '01-pid-namespace.pdf']);
    assert.equal(readFileSync(join(out, '01-pid-namespace.pdf')).subarray(0, 5).toString('latin1'), '%PDF-');
  });

  it('nslab install --sys-prefix installs into the Jupyter in use: --python, $NSLAB_PYTHON, or jupyter on PATH', function () {
    // A venv of its own (its sys.prefix is TMP/venv) whose Python imports the pinned Jupyter
    // stack through a .pth file, and a `jupyter` console script like pip writes.
    const venv = join(tmp, 'venv');
    ok(run(PYTHON, ['-m', 'venv', '--without-pip', venv], userEnv()), 'python -m venv');
    const python = join(venv, 'bin', 'python');
    const sitePackages = (py: string) => ok(run(py, ['-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'], userEnv()), 'sysconfig').trim();
    writeFileSync(join(sitePackages(python), 'pinned-stack.pth'), sitePackages(PYTHON) + '\n');
    writeFileSync(join(venv, 'bin', 'jupyter'), `#!${python}\nimport sys\nfrom jupyter_core.command import main\nsys.exit(main())\n`, { mode: 0o755 });
    const kernelDir = join(venv, 'share', 'jupyter', 'kernels', 'nslab');
    // A user whose own data dir holds no nslab kernelspec, so what Jupyter finds is the venv's.
    const venvEnv: NodeJS.ProcessEnv = { ...env, JUPYTER_DATA_DIR: join(tmp, "venv-user-data") };

    let out = ok(run(nslab, ['install', '--sys-prefix', '--python', python], venvEnv), 'install --sys-prefix --python');
    assert.equal(out.trim(), `installed kernelspec nslab in ${kernelDir} (sys.prefix of ${python}, via --python)`);
    assert.equal(kernelspecSeen(venvEnv, python), kernelDir);
    out = ok(run(nslab, ['uninstall', '--sys-prefix'], { ...venvEnv, NSLAB_PYTHON: python }), 'uninstall --sys-prefix ($NSLAB_PYTHON)');
    assert.equal(out.trim(), `removed ${kernelDir} (sys.prefix of ${python}, via $NSLAB_PYTHON)`);
    assert.ok(!existsSync(kernelDir));

    const onPath = { ...venvEnv, PATH: `${join(venv, 'bin')}:${venvEnv.PATH}` };
    out = ok(run(nslab, ['install', '--sys-prefix'], onPath), 'install --sys-prefix (jupyter on PATH)');
    assert.equal(out.trim(), `installed kernelspec nslab in ${kernelDir} (sys.prefix of ${python}, via \`jupyter\` on PATH: ${join(venv, 'bin', 'jupyter')})`);
    assert.equal(kernelspecSeen(onPath, python), kernelDir);
    ok(run(nslab, ['uninstall', '--sys-prefix'], onPath), 'uninstall --sys-prefix');
    assert.equal(kernelspecSeen(onPath, python), undefined);

    // No Jupyter anywhere: a clear error, nothing written.
    const nodeOnly = join(tmp, 'node-only');
    mkdirSync(nodeOnly);
    symlinkSync(process.execPath, join(nodeOnly, 'node'));
    const none = run(nslab, ['install', '--sys-prefix'], { ...venvEnv, PATH: `${join(prefix, 'bin')}:${nodeOnly}` });
    assert.equal(none.status, 1);
    assert.match(none.stderr, /^nslab: no Jupyter found: .*--python PATH/);
  });

  it('nslab doctor says namespaces, Jupyter and the kernelspec are usable', function () {
    const r = run(nslab, ['doctor', '--python', PYTHON], env);
    console.log(r.stdout.replace(/^/gm, '        '));
    r.stdout = unwrap(r.stdout);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`^nslab ${version.replace(/\./g, '\\.')} \\(${prefix}/lib/node_modules/nslab\\)`));
    assert.match(r.stdout, /^ok +platform +Linux (x64|arm64): supported$/m);
    assert.match(r.stdout, /^ok +node-pty +loads$/m);
    assert.match(r.stdout, /^ok +zeromq +loads$/m);
    assert.match(r.stdout, /^ok +namespaces +(root|rootless) lab — /m);
    assert.match(r.stdout, /^ok +Jupyter +jupyter_core [\d.]+, jupyter_client [\d.]+, JupyterLab [\d.]+/m);
    assert.match(r.stdout, new RegExp(`^ok +kernelspec +${join(home, 'jupyter-data', 'kernels', 'nslab')} → this nslab \\(written by nslab ${version.replace(/\./g, '\\.')}\\)$`, 'm'));
    assert.match(r.stdout, /^Ready: /m);
  });

  it('a user who is not root: nslab install --user, doctor says rootless lab, and its kernels run in one', function () {
    // uid/gid 65534 (nobody), with a HOME of its own; the prefix and notebooks stay root's, read only.
    chmodSync(tmp, 0o755);
    const reach = run('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--', PYTHON, '-c', 'import jupyter_client'], userEnv(), 60_000, tmp);
    if (reach.status !== 0) {
      // A checkout in a folder other users cannot enter (CI's clone may be one): nobody cannot run its .venv.
      console.log(`      skipped: uid 65534 cannot run ${PYTHON}: ${reach.stderr.trim().split('\n').pop()}`);
      this.skip();
    }
    const nobodyHome = join(tmp, 'nobody');
    mkdirSync(nobodyHome);
    chownSync(nobodyHome, 65534, 65534);
    const asNobody = (args: string[], timeoutMs = 60_000) =>
      run('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--', ...args], {
        ...env,
        HOME: nobodyHome,
        JUPYTER_DATA_DIR: join(nobodyHome, 'data'),
        JUPYTER_CONFIG_DIR: join(nobodyHome, 'config'),
        JUPYTER_RUNTIME_DIR: join(nobodyHome, 'runtime'),
      }, timeoutMs, nobodyHome);
    const kernelDir = join(nobodyHome, 'data', 'kernels', 'nslab');
    const systemWide = asNobody([nslab, 'install']);
    assert.equal(systemWide.status, 1);
    assert.match(systemWide.stderr, /^nslab: cannot write \/usr\/local\/share\/jupyter\S*: permission denied\. Install it for yourself with --user, or as root for everyone$/m);
    assert.equal(ok(asNobody([nslab, 'install', '--user']), 'install --user as nobody').trim(), `installed kernelspec nslab in ${kernelDir}`);
    const doctor = asNobody([nslab, 'doctor', '--python', PYTHON]);
    assert.equal(doctor.status, 0, doctor.stdout + doctor.stderr);
    assert.match(unwrap(doctor.stdout), /^ok +namespaces +rootless lab — root lab: no \(unshare: unshare failed: Operation not permitted\); rootless lab: yes$/m);
    assert.match(unwrap(doctor.stdout), new RegExp(`^ok +kernelspec +${kernelDir} → this nslab`, 'm'));
    // A notebook of nslab cells run by the pinned nbclient as nobody: its lab is a user namespace
    // in which nobody is root. (Notebook 01's outputs are those of a root lab: `echo $$` is 2
    // there, 3 in a rootless lab.)
    const nb = join(nobodyHome, 'rootless.ipynb');
    const cell = (source: string) => ({ cell_type: 'code', metadata: {}, source, outputs: [], execution_count: null });
    writeFileSync(nb, JSON.stringify({
      nbformat: 4, nbformat_minor: 5,
      metadata: { kernelspec: { name: 'nslab', display_name: 'Namespace Lab (bash)', language: 'bash' } },
      cells: [cell('id -u'), cell('cat /proc/self/uid_map'), cell('unshare --pid --fork --mount-proc bash\necho $$\nexit')],
    }));
    chownSync(nb, 65534, 65534);
    const script = join(prefix, 'lib', 'node_modules', 'nslab', 'scripts', 'execute_notebook.py');
    const r = asNobody([PYTHON, script, nb, join(nobodyHome, 'out.ipynb'), '--report', join(nobodyHome, 'out.json'), '--cwd', nobodyHome], 3 * 60_000);
    assert.equal(r.status, 0, `the notebook as nobody failed:\n${r.stdout}\n${r.stderr}\n${existsSync(join(nobodyHome, 'out.json')) ? readFileSync(join(nobodyHome, 'out.json'), 'utf8') : ''}`);
    assert.equal(JSON.parse(readFileSync(join(nobodyHome, 'out.json'), 'utf8')).failure, null);
    // What the learner would see: root in the lab (uid 0, mapped from nobody), PID 1 in a new PID namespace.
    const ran = (JSON.parse(readFileSync(join(nobodyHome, 'out.ipynb'), 'utf8')) as { cells: { outputs: { text?: string | string[] }[] }[] }).cells
      .map((c) => c.outputs.map((o) => [o.text ?? ''].flat().join('')).join(''));
    assert.match(ran[0], /^0$/m);
    assert.match(ran[1], /^ *0 +65534 +1$/m);
    assert.match(ran[2], /^1$/m);
    const ps = run('ps', ['-u', '65534', '-o', 'pid=,args='], userEnv()); // status 1: no process of that user
    assert.ok(ps.status === 0 || ps.status === 1, ps.stderr);
    const left = ps.stdout.split('\n').filter((l) => l.includes(tmp));
    assert.deepEqual(left, [], 'processes of the run as nobody left behind');
  });

  it('nslab doctor where namespaces cannot be made says "host only" and what to do', function () {
    // A user namespace of its own whose namespace limits (user.max_*_namespaces, per user
    // namespace since Linux 4.9) are 0: every unshare in it fails, as in a container without
    // the rights to make namespaces. The machine's own limits are not touched (the guard stops
    // the writes if unshare did not give a new user namespace).
    const noNamespaces = '[ "$(readlink /proc/self/ns/user)" != "$HOST_USERNS" ] || exit 99; ' +
      'for t in user mnt pid net uts ipc cgroup time; do echo 0 > /proc/sys/user/max_${t}_namespaces || exit 97; done; exec "$@"';
    const hostLimit = readFileSync('/proc/sys/user/max_user_namespaces', 'utf8');
    const r = run('unshare', ['--user', '--map-root-user', '--', 'sh', '-c', noNamespaces, 'sh', nslab, 'doctor', '--python', PYTHON],
      { ...env, HOST_USERNS: readlinkSync('/proc/self/ns/user') });
    console.log(r.stdout.replace(/^/gm, '        '));
    r.stdout = unwrap(r.stdout);
    assert.equal(readFileSync('/proc/sys/user/max_user_namespaces', 'utf8'), hostLimit);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /^NO +namespaces +host only — root lab: no \(unshare: unshare failed: No space left on device\); rootless lab: no \(unshare: unshare failed: No space left on device\)$/m);
    assert.match(r.stdout, /^ +→ kernels here get a plain shell without a lab .*In Docker: start the container with --privileged/m);
    assert.match(r.stdout, /^ok +kernelspec /m);
    assert.match(r.stdout, /^Not ready: /m);
  });

  it('an upgrade to another version of the package keeps the installed kernelspec working', async function () {
    const started = Date.now();
    ok(run('npm', ['install', '-g', '--prefix', prefix, '--allow-scripts=node-pty,zeromq', upgradeTarball], userEnv(), 8 * 60_000, tmp), 'npm install -g (upgrade)');
    console.log(`      npm install -g of ${upgradeVersion} over ${version}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    assert.equal(ok(run(nslab, ['--version'], env), 'nslab --version').trim(), upgradeVersion);
    assert.deepEqual(readdirSync(join(prefix, 'lib', 'node_modules')), ['nslab'], 'npm left another copy behind');
    const spec = JSON.parse(readFileSync(join(home, 'jupyter-data', 'kernels', 'nslab', 'kernel.json'), 'utf8'));
    assert.equal(spec.metadata.nslab.version, version, 'the kernelspec is the one written before the upgrade');
    for (const a of spec.argv.filter((x: string) => x.startsWith('/'))) assert.ok(existsSync(a), `${a} is gone after the upgrade`);
    const doctor = run(nslab, ['doctor', '--python', PYTHON], env);
    assert.match(unwrap(doctor.stdout), new RegExp(`^ok +kernelspec .* → this nslab \\(written by nslab ${version.replace(/\./g, '\\.')}; this is ${upgradeVersion.replace(/\./g, '\\.')}: argv still valid\\)$`, 'm'));
    await runTutorial01('upgraded');
  });

  it('nslab uninstall removes the kernelspec', function () {
    const dir = join(home, 'jupyter-data', 'kernels', 'nslab');
    assert.equal(ok(run(nslab, ['uninstall', '--user'], env), 'uninstall').trim(), `removed ${dir}`);
    assert.ok(!existsSync(dir));
    assert.equal(kernelspecSeen(env), undefined);
    assert.equal(ok(run(nslab, ['uninstall', '--user'], env), 'uninstall again').trim(), 'no nslab kernelspec was installed there');
    const doctor = run(nslab, ['doctor', '--python', PYTHON], env);
    assert.equal(doctor.status, 1);
    assert.match(unwrap(doctor.stdout), /^NO +kernelspec +Jupyter finds no nslab kernelspec/m);
    assert.match(unwrap(doctor.stdout), /→ `nslab install --user`/);
  });

  it('where a native part does not load, --help still works and doctor names it', function () {
    const zmqBuild = join(prefix, 'lib', 'node_modules', 'nslab', 'node_modules', 'zeromq', 'build');
    renameSync(zmqBuild, zmqBuild + '.away');
    try {
      assert.equal(run(nslab, ['--help'], env).status, 0);
      const doctor = run(nslab, ['doctor', '--python', PYTHON], env);
      assert.equal(doctor.status, 1);
      assert.match(unwrap(doctor.stdout), /^ok +node-pty +loads$/m);
      assert.match(unwrap(doctor.stdout), /^NO +zeromq +\S.*\n +→ reinstall nslab \(`npm install -g` it\) with the Node above/m);
    } finally {
      renameSync(zmqBuild + '.away', zmqBuild);
    }
  });

  it('nslab install on macOS or Windows says it is not supported and points to the Docker image, writing nothing', function () {
    for (const [platform, name] of [['darwin', 'macOS'], ['win32', 'Windows']]) {
      const r = run(nslab, ['install', '--user'], { ...env, NSLAB_PLATFORM: `${platform}/arm64` });
      assert.equal(r.status, 1, r.stdout + r.stderr);
      assert.match(r.stderr, new RegExp(`^nslab: ${name} \\(${platform} arm64\\) is not supported: the nslab kernel makes its lab with Linux namespaces .*Nothing was installed\\.\\n.*docker run --rm -it --init --privileged`));
      assert.ok(!existsSync(join(home, 'jupyter-data', 'kernels', 'nslab')));
    }
  });

  it('npm uninstall -g takes the package out of the prefix', function () {
    ok(run('npm', ['uninstall', '-g', '--prefix', prefix, 'nslab'], userEnv(), 2 * 60_000, tmp), 'npm uninstall -g');
    assert.ok(!existsSync(nslab));
    assert.ok(!existsSync(join(prefix, 'lib', 'node_modules', 'nslab')));
    assert.ok(statSync(tmp).isDirectory());
  });
});
