/**
 * Contextual help sends man text unwrapped (issue 22): one line per paragraph, so the help
 * panel wraps it to its own width instead of showing lines hard-wrapped at 80 columns.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { MAN_WIDTH } from '../../src/introspect/documentation.js';
import { inspect } from '../../src/introspect/index.js';
import { kernelView } from '../../src/introspect/terminal-view.js';

const hasMan = spawnSync('man', ['-w', 'unshare'], { encoding: 'utf8' }).status === 0;

describe('introspect: man text for a panel of any width', function () {
  this.timeout(30000);

  it('gives each paragraph of a command summary and of an option as one line', async function () {
    if (!hasMan) this.skip();
    const summary = (await inspect('unshare --pid', 3, { ...kernelView(), cwd: '/tmp' }))!;
    const first = summary.split('\n').find((l) => l.includes('The unshare command creates new namespaces'))!;
    // At 80 columns this sentence broke after "command-line"; unwrapped, the paragraph goes on to its end.
    assert.match(first, /^ {2}The unshare command creates new namespaces \(as specified by the command-line options described below\) and then executes the specified program\. If program is not given, then "\$\{SHELL\}" is run \(default: \/bin\/sh\)\.$/);
    const option = (await inspect('unshare --mount-proc bash', 12, { ...kernelView(), cwd: '/tmp' }))!;
    const lines = option.split('\n');
    assert.equal(lines[2], '--mount-proc[=mountpoint]');
    assert.match(lines[3], /^ {4}Just before running the program, mount the proc filesystem at mountpoint \(default is \/proc\)\. .* \(with MS_PRIVATE\|MS_REC\)\.$/);
    for (const l of [...summary.split('\n'), ...lines]) assert.equal(l, l.trimEnd(), 'no padding to the formatting width is left');
    assert.ok(Math.max(...summary.split('\n').map((l) => l.length)) < MAN_WIDTH);
  });

  it('keeps lines that are lines: the synopsis and ps -ef, each option its own entry', async function () {
    if (!hasMan) this.skip();
    assert.match((await inspect('unshare', 3, { ...kernelView(), cwd: '/tmp' }))!, /\nSYNOPSIS\n {2}unshare \[options\] \[program \[arguments\]\]\n\n/);
    assert.match((await inspect('ps -ef', 4, { ...kernelView(), cwd: '/tmp' }))!, /^ps -ef\n\n-e +Select all processes\. +Identical to -A\.\n\n-f +Do full-format listing\. [^\n]+\n\n\(man ps\)$/);
  });
});
