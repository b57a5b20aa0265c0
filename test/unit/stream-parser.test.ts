import { seededRandom } from '../helpers/rng.js';
import assert from 'node:assert/strict';
import { displaySequence as labDisplaySequence } from '../../src/lab/display.js';
import { continuationMarker as continuationTemplate, displayPrefix, promptMarkerTemplate } from '../../src/shell/markers.js';
import { CSI_LENGTH_LIMIT, DISPLAY_PAYLOAD_LIMIT, OSC_PAYLOAD_LIMIT, StreamParser } from '../../src/shell/stream-parser.js';
import type { ParserEvent } from '../../src/shell/types.js';

const NONCE = '0123456789abcdef';
const ESC = '\x1b';

// ───────────────────────────── helpers ─────────────────────────────

/** UTF-8 bytes of a string. */
function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** Concatenates strings (as UTF-8) and raw byte arrays (for invalid UTF-8). */
function bytes(...parts: Array<string | number[]>): Uint8Array {
  const arrays = parts.map((part) => (typeof part === 'string' ? utf8(part) : Uint8Array.from(part)));
  const result = new Uint8Array(arrays.reduce((length, array) => length + array.length, 0));
  let offset = 0;
  for (const array of arrays) {
    result.set(array, offset);
    offset += array.length;
  }
  return result;
}

/** How bash prints our prompt marker (readline strips the \x01 … \x02 of the template). */
function bashPrompt(exitCode: number | string, shellPid: number | string, nonce = NONCE): string {
  return `${ESC}]6973;${nonce};P;${exitCode};${shellPid}\x07`;
}

/** How dash prints it: the real template from markers.ts, expanded, \x01 … \x02 verbatim. */
function dashPrompt(exitCode: number, shellPid: number): string {
  return promptMarkerTemplate(NONCE).replace('$?', String(exitCode)).replace('$$', String(shellPid));
}

/** PS2 as the shell prints it: `$$` expanded. */
function continuationMarker(nonce: string, shellPid = 1): string {
  return continuationTemplate(nonce).replace('$$', String(shellPid));
}

const prompt = (exitCode: number | null, shellPid: number | null): ParserEvent => ({ kind: 'prompt', exitCode, shellPid });
const output = (text: string): ParserEvent => ({ kind: 'output', text });
const continuation: ParserEvent = { kind: 'continuation' };

/** Merges adjacent output events, so that results of different chunkings can be compared. */
function normalize(events: ParserEvent[]): ParserEvent[] {
  const merged: ParserEvent[] = [];
  for (const event of events) {
    assert.ok(event.kind !== 'output' || event.text !== '', 'the parser never emits empty output');
    const last = merged.at(-1);
    if (event.kind === 'output' && last?.kind === 'output') {
      merged[merged.length - 1] = output(last.text + event.text);
    } else {
      merged.push(event);
    }
  }
  return merged;
}

function feed(chunks: Uint8Array[], nonce = NONCE): ParserEvent[] {
  const parser = new StreamParser(nonce);
  return normalize([...chunks.flatMap((chunk) => parser.push(chunk)), ...parser.end()]);
}

/**
 * Parses `stream` whole, split in two at every position, and byte by byte; asserts that all give
 * the same (normalized) events and returns them. Every rule test below goes through this.
 */
function parse(stream: string | Uint8Array, nonce = NONCE): ParserEvent[] {
  const data = typeof stream === 'string' ? utf8(stream) : stream;
  const whole = feed([data], nonce);
  for (let split = 0; split <= data.length; split++) {
    const halves = [data.subarray(0, split), data.subarray(split)];
    assert.deepEqual(feed(halves, nonce), whole, `split at byte ${split} changes the result`);
  }
  const singleBytes = Array.from(data, (_, index) => data.subarray(index, index + 1));
  assert.deepEqual(feed(singleBytes, nonce), whole, 'byte-by-byte feeding changes the result');
  return whole;
}


// ───────────────────────────── tests ─────────────────────────────

describe('StreamParser', () => {
  describe('harness self-check', () => {
    it('parse() notices a chunking-dependent result', () => {
      // A parser that forgot to hold a CR at the end of a chunk would pass 'a\r' + '\n' through
      // unchanged; simulate that difference to make sure the comparison can fail at all.
      assert.notDeepEqual(normalize([output('a\r'), output('\n')]), normalize([output('a\n')]));
    });
  });

  describe('plain text and line endings', () => {
    it('passes text through as one output event', () => {
      assert.deepEqual(parse('hello world\n'), [output('hello world\n')]);
    });

    it('emits one output event per run within a chunk, not one per byte or per dropped sequence', () => {
      const parser = new StreamParser(NONCE);
      assert.deepEqual(parser.push(utf8(`a${ESC}[Kb\x07c${ESC}[2Jd\x00e`)), [output('abcde')]);
    });

    it('turns CRLF into LF', () => {
      assert.deepEqual(parse('a\r\nb\r\n'), [output('a\nb\n')]);
    });

    it('turns any run of CR before LF into LF', () => {
      assert.deepEqual(parse('a\r\r\nb\r\r\r\nc'), [output('a\nb\nc')]);
    });

    it('keeps a lone CR (progress bars) and CR runs not followed by LF', () => {
      assert.deepEqual(parse('10%\r50%\r\r100%\n'), [output('10%\r50%\r\r100%\n')]);
    });

    it('holds a CR at the end of a chunk until the next chunk decides', () => {
      const parser = new StreamParser(NONCE);
      assert.deepEqual(parser.push(utf8('a\r')), [output('a')]);
      assert.deepEqual(parser.push(utf8('\nb\r')), [output('\nb')]);
      assert.deepEqual(parser.push(utf8('c')), [output('\rc')]);
    });

    it('emits a held CR at end()', () => {
      const parser = new StreamParser(NONCE);
      assert.deepEqual(parser.push(utf8('50%\r')), [output('50%')]);
      assert.deepEqual(parser.end(), [output('\r')]);
      assert.deepEqual(parse('50%\r'), [output('50%\r')]);
    });

    it('treats dropped sequences between CR and LF as transparent', () => {
      assert.deepEqual(parse(`a\r${ESC}[K\nb`), [output('a\nb')]);
    });

    it('drops BEL and NUL outside sequences and keeps other controls', () => {
      assert.deepEqual(parse('a\x07b\x00c\td\be\x0ff\x7f'), [output('abc\td\be\x0ff\x7f')]);
    });
  });

  describe('UTF-8', () => {
    it('joins 3-byte and 4-byte characters split across chunks', () => {
      assert.deepEqual(parse('あいう 😀 é\n'), [output('あいう 😀 é\n')]);
    });

    it('replaces invalid bytes with U+FFFD and never throws', () => {
      const stream = bytes('a', [0xff], 'b', [0xc0, 0x80], 'c', [0xed, 0xa0, 0x80], 'd', [0xe3, 0x81], 'e');
      assert.deepEqual(parse(stream), [output('a\uFFFDb\uFFFD\uFFFDc\uFFFD\uFFFD\uFFFDd\uFFFDe')]);
    });

    it('turns a character cut off by end() into U+FFFD', () => {
      assert.deepEqual(parse(bytes('x', [0xf0, 0x9f, 0x98])), [output('x\uFFFD')]);
    });

    it('keeps a byte-order mark as text', () => {
      assert.deepEqual(parse('\uFEFFbom'), [output('\uFEFFbom')]);
    });

    it('handles invalid bytes next to a marker', () => {
      assert.deepEqual(parse(bytes([0xe3, 0x81], bashPrompt(0, 1), [0x80])), [
        output('\uFFFD'),
        prompt(0, 1),
        output('\uFFFD'),
      ]);
    });
  });

  describe('CSI sequences', () => {
    it('keeps SGR (colours) verbatim', () => {
      const coloured = `${ESC}[31mred${ESC}[0m ${ESC}[1;38;2;255;0;10mrgb${ESC}[38:5:208mcolon${ESC}[m\n`;
      assert.deepEqual(parse(coloured), [output(coloured)]);
    });

    it('drops every other CSI', () => {
      const stream = `${ESC}[?2004h${ESC}[H${ESC}[2J${ESC}[10;20Ha${ESC}[K${ESC}[?25l${ESC}[3Ab${ESC}[6n${ESC}[ q${ESC}[?2004l\n`;
      assert.deepEqual(parse(stream), [output('ab\n')]);
    });

    it('drops an `m` sequence that is not SGR (xterm modifyOtherKeys `CSI > 4 ; 2 m`)', () => {
      assert.deepEqual(parse(`a${ESC}[>4;2mb${ESC}[?1mc`), [output('abc')]);
    });

    it('drops an over-long CSI whole, even an SGR', () => {
      const longSgr = `${ESC}[${'1;'.repeat(CSI_LENGTH_LIMIT)}1m`;
      assert.deepEqual(parse(`a${longSgr}b`), [output('ab')]);
      const justFits = `${ESC}[${'1'.repeat(CSI_LENGTH_LIMIT)}m`;
      assert.deepEqual(parse(`a${justFits}b`), [output(`a${justFits}b`)]);
    });

    it('abandons a CSI interrupted by a control character and handles that character as text', () => {
      assert.deepEqual(parse(`${ESC}[31\nx`), [output('\nx')]);
    });

    it('abandons a CSI on CAN or SUB', () => {
      assert.deepEqual(parse(`${ESC}[31\x18x${ESC}[1;2\x1ay`), [output('xy')]);
    });

    it('abandons a CSI when a new ESC starts, which is then parsed', () => {
      assert.deepEqual(parse(`${ESC}[12${ESC}[32mgreen`), [output(`${ESC}[32mgreen`)]);
    });
  });

  describe('other escape sequences', () => {
    it('drops two- and three-character escapes', () => {
      const stream = `${ESC}(Ba${ESC}=b${ESC}>c${ESC}7d${ESC}8e${ESC}cf${ESC}#8g${ESC}Mh${ESC}\\i`;
      assert.deepEqual(parse(stream), [output('abcdefghi')]);
    });

    it('drops DCS, SOS, PM and APC through ST (BEL does not end them)', () => {
      const stream = `a${ESC}Ptmux;x\x07y${ESC}\\b${ESC}Xsos${ESC}\\c${ESC}^pm${ESC}\\d${ESC}_apc${ESC}\\e`;
      assert.deepEqual(parse(stream), [output('abcde')]);
    });

    it('ends an ignored string at an ESC that is not ST, and parses that ESC', () => {
      assert.deepEqual(parse(`${ESC}Pdata${ESC}[31mred`), [output(`${ESC}[31mred`)]);
    });

    it('handles a lone ESC followed by a non-ASCII character as text', () => {
      assert.deepEqual(parse(`a${ESC}éb`), [output('aéb')]);
    });

    it('treats ESC ESC as one escape', () => {
      assert.deepEqual(parse(`a${ESC}${ESC}[1mb`), [output(`a${ESC}[1mb`)]);
    });

    it('drops an unterminated sequence at end()', () => {
      assert.deepEqual(parse(`a${ESC}[12;3`), [output('a')]);
      assert.deepEqual(parse(`a${ESC}]0;title`), [output('a')]);
      assert.deepEqual(parse(`a${ESC}`), [output('a')]);
      assert.deepEqual(parse(`a${ESC}Pdcs${ESC}`), [output('a')]);
    });
  });

  describe('OSC sequences', () => {
    it('drops foreign OSCs terminated by BEL or ST', () => {
      const stream = `${ESC}]0;title\x07a${ESC}]8;;https://x.example/${ESC}\\link${ESC}]8;;${ESC}\\${ESC}]133;A\x07b\n`;
      assert.deepEqual(parse(stream), [output('alinkb\n')]);
    });

    it('ignores C0 controls inside an OSC payload', () => {
      assert.deepEqual(parse(`${ESC}]6973;${NONCE};P;\n4;\r42\x07`), [prompt(4, 42)]);
    });

    it('abandons an OSC on CAN', () => {
      assert.deepEqual(parse(`${ESC}]6973;${NONCE};P\x18;0;1\x07x`), [output(';0;1x')]);
    });

    it('abandons an OSC whose ESC is not followed by a backslash, and parses that ESC', () => {
      assert.deepEqual(parse(`${ESC}]6973;${NONCE};C${ESC}[1mx`), [output(`${ESC}[1mx`)]);
    });

    it('abandons an over-long OSC without buffering it, then recovers', () => {
      const longMarker = `${ESC}]6973;${NONCE};P;0;1${'9'.repeat(OSC_PAYLOAD_LIMIT)}\x07`;
      const stream = `a${longMarker}b${bashPrompt(0, 1)}`;
      assert.deepEqual(parse(stream), [output('ab'), prompt(0, 1)]);
    });

    it('does not resume buffering after the cap: a marker at the tail of a long OSC is no marker', () => {
      const junkThenMarker = `${ESC}]${'x'.repeat(OSC_PAYLOAD_LIMIT)}6973;${NONCE};P;0;1\x07`;
      const parser = new StreamParser(NONCE);
      assert.deepEqual([...parser.push(utf8(`a${junkThenMarker}b`)), ...parser.end()], [output('ab')]);
    });

    it('accepts a marker payload of exactly OSC_PAYLOAD_LIMIT characters, not one more', () => {
      const payloadWithoutNonce = '6973;;P;0;1'.length;
      const fitting = 'n'.repeat(OSC_PAYLOAD_LIMIT - payloadWithoutNonce);
      const parser = new StreamParser(fitting);
      assert.deepEqual(parser.push(utf8(bashPrompt(0, 1, fitting))), [prompt(0, 1)]);
      const tooLong = `${fitting}n`;
      const overflowing = new StreamParser(tooLong);
      assert.deepEqual([...overflowing.push(utf8(bashPrompt(0, 1, tooLong))), ...overflowing.end()], []);
    });

    it('is rescued from a program\'s unterminated OSC by the next marker\'s own ESC', () => {
      const stream = `x${ESC}]0;never terminated\nlost output\n${bashPrompt(3, 9)}after\n`;
      assert.deepEqual(parse(stream), [output('x'), prompt(3, 9), output('after\n')]);
    });
  });

  describe('markers', () => {
    it('turns a prompt marker into a prompt event, with BEL or ST as terminator', () => {
      assert.deepEqual(parse(`out\n${bashPrompt(0, 1234)}`), [output('out\n'), prompt(0, 1234)]);
      assert.deepEqual(parse(`${ESC}]6973;${NONCE};P;130;77${ESC}\\`), [prompt(130, 77)]);
    });

    it('turns a continuation marker into a continuation event', () => {
      assert.deepEqual(parse(continuationMarker(NONCE)), [continuation]);
      assert.deepEqual(parse(`${ESC}]6973;${NONCE};C${ESC}\\`), [continuation]);
    });

    it('accepts `C;<pid>` and drops `C;<anything else>` (a PS2 of `C;$$` printed by `env`)', () => {
      assert.deepEqual(parse(`${ESC}]6973;${NONCE};C;321\x07`), [continuation]);
      assert.deepEqual(parse(`PS2=\x01${ESC}]6973;${NONCE};C;$$\x07\x02\n`), [output('PS2=\n')]);
    });

    it('never produces an event for a wrong nonce, and drops that OSC', () => {
      const stream = [
        bashPrompt(0, 1, 'fedcba9876543210'),
        bashPrompt(0, 1, `${NONCE}0`),
        bashPrompt(0, 1, NONCE.slice(1)),
        bashPrompt(0, 1, NONCE.toUpperCase()),
        `${ESC}]6973;;P;0;1\x07`,
        `${ESC}]6973;fedcba9876543210;C\x07`,
        `${ESC}]6974;${NONCE};P;0;1\x07`,
      ].join('x');
      assert.deepEqual(parse(`${stream}\n`), [output('xxxxxx\n')]);
    });

    it('drops the unexpanded PS1 template printed by `env` (our nonce, status `$?`)', () => {
      const envLine = `NSLAB_PS1=${promptMarkerTemplate(NONCE)}\r\n`;
      assert.deepEqual(parse(`${envLine}${bashPrompt(0, 5)}`), [output('NSLAB_PS1=\n'), prompt(0, 5)]);
    });

    it('drops markers whose status is not a plain decimal integer', () => {
      for (const status of ['', '-1', '+1', ' 1', '1 ', '0x1', '1.0', '１']) {
        assert.deepEqual(parse(`a${bashPrompt(status, 1)}b`), [output('ab')], `status ${JSON.stringify(status)}`);
      }
    });

    it('gives shellPid null when only the pid is not decimal', () => {
      assert.deepEqual(parse(bashPrompt(2, '$$')), [prompt(2, null)]);
    });

    it('drops markers with a wrong shape', () => {
      const stream = [
        `${ESC}]6973;${NONCE};P;0\x07`,
        `${ESC}]6973;${NONCE};P;0;1;2\x07`,
        `${ESC}]6973;${NONCE};X;0;1\x07`,
        `${ESC}]6973;${NONCE};p;0;1\x07`,
        `${ESC}]6973;${NONCE}\x07`,
        `${ESC}]6973;${NONCE};C;1;2\x07`,
      ].join('');
      assert.deepEqual(parse(`a${stream}b`), [output('ab')]);
    });

    it('emits events in stream order, with the output between them', () => {
      const stream = `one\r\n${bashPrompt(0, 1)}${continuationMarker(NONCE)}two\n${bashPrompt(1, 1)}\r`;
      assert.deepEqual(parse(stream), [output('one\n'), prompt(0, 1), continuation, output('two\n'), prompt(1, 1), output('\r')]);
    });

    it('writes a CR held before a marker as output before the event', () => {
      assert.deepEqual(parse(`50%\r${bashPrompt(0, 1)}\n`), [output('50%\r'), prompt(0, 1), output('\n')]);
    });

    it('returns from push() exactly the events completed by that chunk', () => {
      const parser = new StreamParser(NONCE);
      const marker = utf8(bashPrompt(7, 99));
      assert.deepEqual(parser.push(marker.subarray(0, 10)), []);
      assert.deepEqual(parser.push(marker.subarray(10, marker.length - 1)), []);
      assert.deepEqual(parser.push(marker.subarray(marker.length - 1)), [prompt(7, 99)]);
      assert.deepEqual(parser.end(), []);
    });
  });

  describe('dash-style \\x01 … \\x02 wrapping', () => {
    it('drops \\x01 right before a marker and \\x02 right after it', () => {
      assert.deepEqual(parse(`a\n${dashPrompt(5, 42)}b\n`), [output('a\n'), prompt(5, 42), output('b\n')]);
      assert.deepEqual(parse(`${continuationMarker(NONCE)}x`), [continuation, output('x')]);
    });

    it('drops them around foreign OSCs too, which have no event', () => {
      assert.deepEqual(parse(`a\x01${ESC}]0;title${ESC}\\\x02b`), [output('ab')]);
    });

    it('keeps \\x01 and \\x02 everywhere else', () => {
      const stream = `\x01a\x02\x01${ESC}[1m\x02${ESC}[K\x02${bashPrompt(0, 1)}x\x02\x01`;
      assert.deepEqual(parse(stream), [output(`\x01a\x02\x01${ESC}[1m\x02\x02`), prompt(0, 1), output('x\x02\x01')]);
    });

    it('keeps the first of two \\x01 before a marker', () => {
      assert.deepEqual(parse(`\x01${dashPrompt(0, 1)}`), [output('\x01'), prompt(0, 1)]);
    });

    it('keeps \\x01 before ESC ESC ] (the introducer is the second ESC)', () => {
      assert.deepEqual(parse(`\x01${ESC}${bashPrompt(0, 1)}`), [output('\x01'), prompt(0, 1)]);
    });

    it('keeps a held \\x01 at end(), in order with a held CR', () => {
      assert.deepEqual(parse('a\r\x01'), [output('a\r\x01')]);
      assert.deepEqual(parse(`a\x01${ESC}`), [output('a\x01')]);
    });
  });

  describe('readline bracketed paste', () => {
    it('drops the paste-off epilogue of a non-echoing tty: ESC[?2004l \\r \\r\\n', () => {
      const stream = `${ESC}[?2004h${bashPrompt(0, 1)}${ESC}[?2004l\r\r\nhello\r\n${ESC}[?2004h${bashPrompt(0, 1)}`;
      assert.deepEqual(parse(stream), [prompt(0, 1), output('hello\n'), prompt(0, 1)]);
    });

    it('drops the epilogue without onlcr (\\r \\n) and with echo on (\\r alone)', () => {
      assert.deepEqual(parse(`${ESC}[?2004l\r\nx`), [output('x')]);
      assert.deepEqual(parse(`echoed\r\n${ESC}[?2004l\rx`), [output('echoed\nx')]);
    });

    it('drops only one line break, and only right after the paste-off \\r', () => {
      assert.deepEqual(parse(`${ESC}[?2004l\r\r\n\r\nx`), [output('\nx')]);
      assert.deepEqual(parse(`${ESC}[?2004l\r\rx`), [output('\rx')]);
      assert.deepEqual(parse(`${ESC}[?2004l\nx`), [output('\nx')]);
      assert.deepEqual(parse(`${ESC}[?2004lx\r\n`), [output('x\n')]);
      assert.deepEqual(parse(`${ESC}[?2004h\rx`), [output('\rx')]);
      assert.deepEqual(parse(`${ESC}[?2004l${ESC}[K\rx`), [output('\rx')]);
    });
  });

  describe('whole sessions', () => {
    it('reports the exit statuses of nested shells (bash → bash → dash) in order', () => {
      const outer = 100;
      const nested = 200;
      const dash = 300;
      const stream = [
        bashPrompt(0, outer), // first prompt
        `${outer}\r\n`, bashPrompt(0, outer), // echo $$
        bashPrompt(0, nested), // bash
        `${nested}\r\n`, bashPrompt(3, nested), // echo $$; (exit 3)
        dashPrompt(0, dash), // sh
        dashPrompt(5, dash), // (exit 5)
        bashPrompt(4, nested), // exit 4 (dash)
        'exit\r\n', bashPrompt(2, outer), // exit 2 (nested bash)
      ].join('');
      const events = parse(stream);
      assert.deepEqual(events, [
        prompt(0, outer),
        output(`${outer}\n`),
        prompt(0, outer),
        prompt(0, nested),
        output(`${nested}\n`),
        prompt(3, nested),
        prompt(0, dash),
        prompt(5, dash),
        prompt(4, nested),
        output('exit\n'),
        prompt(2, outer),
      ]);
    });

    it('gives the same result for random multi-chunk splits of a mixed stream', () => {
      const stream = bytes(
        `${ESC}[?2004h${bashPrompt(0, 1)}${ESC}[?2004l\r\r\nあ😀\r\n${ESC}[1;31mred${ESC}[0m 50%\r100%\r\n`,
        [0xff, 0xe3, 0x81],
        `${ESC}]0;title\x07${continuationMarker(NONCE)}${dashPrompt(1, 2)}${ESC}Pdcs${ESC}\\end\r`,
      );
      const expected = feed([stream]);
      const random = seededRandom(6973);
      for (let round = 0; round < 300; round++) {
        const chunks: Uint8Array[] = [];
        for (let start = 0; start < stream.length; ) {
          const length = 1 + Math.floor(random() * 12);
          chunks.push(stream.subarray(start, start + length));
          start += length;
        }
        assert.deepEqual(feed(chunks), expected, `round ${round}`);
      }
      assert.deepEqual(expected, [
        prompt(0, 1),
        output(`あ😀\n${ESC}[1;31mred${ESC}[0m 50%\r100%\n\uFFFD\uFFFD`),
        continuation,
        prompt(1, 2),
        output('end\r'),
      ]);
    });

    it('can be reused after end()', () => {
      const parser = new StreamParser(NONCE);
      assert.deepEqual(parser.push(bytes(`a${ESC}]6973;`, [0xe3])), [output('a')]);
      assert.deepEqual(parser.end(), [], 'the cut-off character belongs to the abandoned OSC');
      assert.deepEqual(parser.push(utf8(`b${bashPrompt(0, 1)}`)), [output('b'), prompt(0, 1)]);
      assert.deepEqual(parser.end(), []);
    });
  });

  describe('display markers (rich output from a lab program)', () => {
    const bundle = { data: { 'text/plain': 'ns1\n  1 tini', 'image/svg+xml': '<svg xmlns="http://www.w3.org/2000/svg"><text>名前空間</text></svg>' }, metadata: {} };
    const display = (b = bundle): ParserEvent => ({ kind: 'display', bundle: b });
    const displaySequence = (nonce: string, b: typeof bundle) => labDisplaySequence(displayPrefix(nonce), b);
    const raw = (body: string, nonce = NONCE) => `${ESC}]6973;${nonce};D;${body}\x07`;
    const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

    it('a bundle between output, in order, at every split point', () => {
      assert.deepEqual(parse(`before\n${displaySequence(NONCE, bundle)}after\n${bashPrompt(0, 2)}`),
        [output('before\n'), display(), output('after\n'), prompt(0, 2)]);
    });

    it('a bundle larger than the OSC limit of other sequences (split at many points)', () => {
      const big = { data: { 'text/plain': 'x'.repeat(3 * OSC_PAYLOAD_LIMIT), 'image/svg+xml': '<svg/>' }, metadata: { isolated: true } };
      const data = utf8(`a${displaySequence(NONCE, big)}b`);
      const whole = feed([data]);
      assert.deepEqual(whole, [output('a'), display(big), output('b')]);
      const random = seededRandom(7);
      for (let round = 0; round < 200; round++) {
        const split = Math.floor(random() * data.length);
        assert.deepEqual(feed([data.subarray(0, split), data.subarray(split)]), whole, `split at ${split}`);
      }
      const chunks: Uint8Array[] = [];
      for (let i = 0; i < data.length; i += 97) chunks.push(data.subarray(i, i + 97));
      assert.deepEqual(feed(chunks), whole, '97-byte chunks');
    });

    it('another nonce, or a foreign OSC that merely starts like it, is dropped without an event', () => {
      assert.deepEqual(parse(`a${raw(b64(JSON.stringify(bundle)), 'fedcba9876543210')}b`), [output('ab')]);
      assert.deepEqual(parse(`a${ESC}]6973;${NONCE};Dx;${b64('{}')}\x07b`), [output('ab')]);
      const longForeign = `${ESC}]6973;other;D;${'A'.repeat(2 * OSC_PAYLOAD_LIMIT)}\x07`;
      assert.deepEqual(feed([utf8(`a${longForeign}b`)]), [output('ab')]);
    });

    it('a payload that cannot be read gives display-invalid with the reason, and output goes on', () => {
      const cases: [string, RegExp][] = [
        ['not base64!', /not base64/],
        [b64('{"data": '), /not JSON/],
        [Buffer.from([0x7b, 0xff, 0x7d]).toString('base64'), /not UTF-8/],
        [b64('[]'), /no "data" object/],
        [b64('{"data": {}}'), /empty/],
        [b64('{"data": {"text/plain": 42}}'), /not a string/],
        [b64('{"data": {"no mime": "x"}}'), /not a mime type nslab shows/],
        [b64('{"data": {"text/plain": "x", "application/javascript": "alert(1)"}}'), /"application\/javascript" is not a mime type nslab shows/],
        [b64('{"data": {"text/plain": "x"}, "metadata": [1]}'), /metadata/],
      ];
      for (const [body, reason] of cases) {
        const events = parse(`a${raw(body)}b`);
        assert.equal(events.length, 3, body);
        assert.deepEqual(events[0], output('a'));
        assert.deepEqual(events[2], output('b'));
        assert.equal(events[1].kind, 'display-invalid', body);
        assert.match((events[1] as { reason: string }).reason, reason);
      }
    });

    it('a payload over the display limit is swallowed with one display-invalid, memory bounded', () => {
      const parser = new StreamParser(NONCE);
      const events: ParserEvent[] = [...parser.push(utf8(`a${ESC}]6973;${NONCE};D;`))];
      const chunk = utf8('A'.repeat(1024 * 1024));
      for (let i = 0; i < DISPLAY_PAYLOAD_LIMIT / chunk.length + 2; i++) events.push(...parser.push(chunk));
      events.push(...parser.push(utf8(`\x07b${bashPrompt(0, 2)}`)), ...parser.end());
      assert.deepEqual(normalize(events), [output('a'), { kind: 'display-invalid', reason: 'larger than 8 MiB' }, output('b'), prompt(0, 2)]);
    });
  });

  describe('constructor', () => {
    it('rejects a nonce that could not appear in a marker unambiguously', () => {
      assert.throws(() => new StreamParser(''), RangeError);
      assert.throws(() => new StreamParser('ab;cd'), RangeError);
      assert.throws(() => new StreamParser('ab\x07cd'), RangeError);
    });
  });
});
