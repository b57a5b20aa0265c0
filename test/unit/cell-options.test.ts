/**
 * src/kernel/cell-options.ts: the options that say where and how a cell runs (terminal, wait,
 * timeout) and the errors for malformed or unknown ones — the option lines leave the code, and
 * a bad option stops the cell before anything runs.
 */
import assert from 'node:assert/strict';
import { MAX_TERMINALS, MAX_TIMEOUT_SECONDS, defaultOptions, parseCell } from '../../src/kernel/cell-options.js';

describe('cell options: terminal, wait, timeout', function () {
  it('a cell without options runs as written in terminal 1, waits, and has no timeout', function () {
    const cell = parseCell('echo hi\n#| terminal: 2');
    assert.deepEqual(cell.errors, []);
    assert.equal(cell.code, 'echo hi\n#| terminal: 2', 'options are read only at the top');
    assert.equal(cell.options.terminal, 1);
    assert.equal(cell.options.wait, true);
    assert.equal(cell.options.timeoutSeconds, null);
    assert.deepEqual(defaultOptions(), cell.options);
  });

  it('reads terminal, wait and timeout from the first lines and removes those lines from the code', function () {
    const cell = parseCell('#| terminal: 3\n  #|   wait:   false  \n#| timeout: 2.5\nsleep 60 &\necho started');
    assert.deepEqual(cell.errors, []);
    assert.equal(cell.options.terminal, 3);
    assert.equal(cell.options.wait, false);
    assert.equal(cell.options.timeoutSeconds, 2.5);
    assert.equal(cell.code, 'sleep 60 &\necho started');
    assert.equal(parseCell('#| wait: true\ntrue').options.wait, true);
    assert.equal(parseCell(`#| terminal: ${MAX_TERMINALS}\n:`).options.terminal, MAX_TERMINALS);
  });

  it('caps a very long timeout at what a timer can wait (so it is not fired at once)', function () {
    assert.equal(parseCell('#| timeout: 9999999\n:').options.timeoutSeconds, MAX_TIMEOUT_SECONDS);
    assert.ok(MAX_TIMEOUT_SECONDS * 1000 <= 2 ** 31 - 1);
  });
});

describe('cell options: errors before anything runs', function () {
  const errors = (code: string) => parseCell(code).errors;

  it('names the line and says what is wrong with a malformed value', function () {
    for (const [code, message] of [
      ['#| terminal: 0', /line 1 \(`#\| terminal: 0`\): terminal must be a number from 1 to 9, not `0`/],
      [`#| terminal: ${MAX_TERMINALS + 1}`, /terminal must be a number from 1 to 9/],
      ['#| terminal: two', /not `two`/],
      ['#| terminal: 1.5', /not `1.5`/],
      ['#| terminal:', /not ``/],
      ['#| wait: no', /wait must be true or false, not `no`/],
      ['#| wait: False', /wait must be true or false/],
      ['#| timeout: 0', /timeout must be a number of seconds, not `0`/],
      ['#| timeout: -3', /not `-3`/],
      ['#| timeout: soon', /not `soon`/],
      ['#| timeout: Infinity', /not `Infinity`/],
      ['#| timeout:', /timeout must be a number of seconds, not ``/],
    ] as const) {
      const found = errors(`${code}\necho x`);
      assert.equal(found.length, 1, `${code}: ${JSON.stringify(found)}`);
      assert.match(found[0], message, code);
    }
  });

  it('refuses unknown options and option lines without a name, listing the known ones', function () {
    const [unknown] = errors('#| terminl: 2\nls');
    assert.match(unknown, /^line 1 \(`#\| terminl: 2`\): unknown cell option `terminl` \(known: terminal, wait, .*timeout\)$/);
    assert.match(errors('#| just text\nls')[0], /^line 1 \(`#\| just text`\): a cell option is written `#\| name: value`$/);
    assert.match(errors('#| : 2\nls')[0], /a cell option is written/);
  });

  it('reports every bad line, numbered, and keeps the good ones', function () {
    const cell = parseCell('#| terminal: 2\n#| wait: maybe\n#| colour: red\n#| timeout: 5\necho x');
    assert.equal(cell.errors.length, 2);
    assert.match(cell.errors[0], /^line 2 /);
    assert.match(cell.errors[1], /^line 3 /);
    assert.equal(cell.options.terminal, 2);
    assert.equal(cell.options.timeoutSeconds, 5);
    assert.equal(cell.code, 'echo x');
  });
});
