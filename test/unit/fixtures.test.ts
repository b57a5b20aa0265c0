/**
 * Replays PTY sessions recorded from a real bash (scripts/record-fixture.mjs) through the
 * StreamParser: the exit statuses, the exact program output between prompts, and that nothing of
 * the shell integration leaks into the output, at every split point of the byte stream.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StreamParser } from '../../src/shell/stream-parser.js';
import type { ParserEvent } from '../../src/shell/types.js';

type MarkerEvent = Exclude<ParserEvent, { kind: 'output' }>;

interface Fixture {
  name: string;
  description: string;
  recordedWith: { bracketedPaste: boolean; [key: string]: unknown };
  nonce: string;
  steps: Array<{
    /** The line typed before this step's event; null for the shell's first prompt. */
    typed: string | null;
    /** Which shell printed the event (same label ⇔ same pid). */
    shell: string;
    /** The exact output between the previous event and this one. */
    expectedOutput: string;
    expectedEvent: MarkerEvent;
  }>;
  rawBase64: string;
}

/** Fixtures this test insists on, so that a lost file fails instead of silently testing less. */
const REQUIRED_FIXTURES = [
  'basic',
  'basic-bracketed-paste',
  'nested',
  'nested-bracketed-paste',
  'multiline',
  'multiline-bracketed-paste',
  'utf8-colour',
  'env-template',
];

/** Above this size, split points are sampled densely instead of tried exhaustively. */
const EXHAUSTIVE_SPLIT_LIMIT = 8192;

function findFixturesDir(): string {
  // Compiled to dist/test/unit/, the sources live in test/unit/: walk up to the package root.
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return join(dir, 'test', 'fixtures');
  }
  throw new Error('package root not found');
}

const fixturesDir = findFixturesDir();
const fixtures: Fixture[] = readdirSync(fixturesDir)
  .filter((file) => file.endsWith('.json'))
  .sort()
  .map((file) => JSON.parse(readFileSync(join(fixturesDir, file), 'utf8')) as Fixture);

function rawBytes(fixture: Fixture): Uint8Array {
  return new Uint8Array(Buffer.from(fixture.rawBase64, 'base64'));
}

function feed(chunks: Uint8Array[], nonce: string): ParserEvent[] {
  const parser = new StreamParser(nonce);
  const merged: ParserEvent[] = [];
  for (const event of [...chunks.flatMap((chunk) => parser.push(chunk)), ...parser.end()]) {
    const last = merged.at(-1);
    if (event.kind === 'output' && last?.kind === 'output') merged[merged.length - 1] = { kind: 'output', text: last.text + event.text };
    else merged.push(event);
  }
  return merged;
}

/** The output text before each marker event (one entry per event; '' if there was none). */
function outputsBeforeEvents(events: ParserEvent[]): { outputs: string[]; trailing: string } {
  const outputs: string[] = [];
  let pending = '';
  for (const event of events) {
    if (event.kind === 'output') {
      pending += event.text;
    } else {
      outputs.push(pending);
      pending = '';
    }
  }
  return { outputs, trailing: pending };
}

/** Every split point of a small stream; for a large one, all points near interesting bytes. */
function splitPoints(data: Uint8Array): number[] {
  const all = Array.from({ length: data.length + 1 }, (_, index) => index);
  if (data.length <= EXHAUSTIVE_SPLIT_LIMIT) return all;
  const interesting = (byte: number) => byte < 0x20 || byte >= 0x80;
  return all.filter((index) => index % 7 === 0 || data.subarray(Math.max(0, index - 4), index + 4).some(interesting));
}

describe('StreamParser on recorded PTY sessions', () => {
  it('has all the recorded fixtures', () => {
    assert.deepEqual(REQUIRED_FIXTURES.filter((name) => !fixtures.some((f) => f.name === name)), []);
  });

  for (const fixture of fixtures) {
    describe(`${fixture.name}: ${fixture.description}`, () => {
      const data = rawBytes(fixture);
      const events = feed([data], fixture.nonce);
      const markerEvents = events.filter((event): event is MarkerEvent => event.kind !== 'output');
      const allOutput = events.flatMap((event) => (event.kind === 'output' ? [event.text] : [])).join('');

      it(`gives the recorded events: ${summarize(fixture)}`, () => {
        assert.deepEqual(markerEvents, fixture.steps.map((step) => step.expectedEvent));
      });

      it('puts exactly the program output between the events', () => {
        const { outputs, trailing } = outputsBeforeEvents(events);
        const typedLines = fixture.steps.map((step) => step.typed);
        assert.deepEqual(
          outputs.map((text, index) => [typedLines[index], text]),
          fixture.steps.map((step) => [step.typed, step.expectedOutput]),
        );
        assert.equal(trailing, '');
      });

      it('leaks nothing of the shell integration into the output', () => {
        assert.ok(!allOutput.includes('\x1b]'), 'no OSC introducer');
        assert.ok(!allOutput.includes('[?2004'), 'no bracketed-paste mode switch');
        assert.ok(!allOutput.includes(fixture.nonce), 'no nonce');
        assert.ok(!/[\x00\x01\x02\x07]/.test(allOutput), 'no NUL, BEL or marker brackets \\x01/\\x02');
        assert.ok(!allOutput.includes('\uFFFD'), 'no decoding errors');
      });

      it('gives the same result at every split point and byte by byte', () => {
        for (const split of splitPoints(data)) {
          assert.deepEqual(feed([data.subarray(0, split), data.subarray(split)], fixture.nonce), events, `split at byte ${split}`);
        }
        const singleBytes = Array.from(data, (_, index) => data.subarray(index, index + 1));
        assert.deepEqual(feed(singleBytes, fixture.nonce), events, 'byte by byte');
      });

      it('ties each shell to one pid (same label ⇔ same pid)', () => {
        const pidOf = new Map<string, number | null>();
        for (const step of fixture.steps) {
          if (step.expectedEvent.kind !== 'prompt') continue;
          const known = pidOf.get(step.shell);
          if (known === undefined) pidOf.set(step.shell, step.expectedEvent.shellPid);
          else assert.equal(step.expectedEvent.shellPid, known, `${step.shell} after ${JSON.stringify(step.typed)}`);
        }
        const pids = [...pidOf.values()];
        assert.equal(new Set(pids).size, pids.length, 'different shells, different pids');
        assert.ok(pids.every((pid) => Number.isInteger(pid)));
      });

      // What makes the fixture worth having: check it really contains what it is meant to exercise.
      const raw = Buffer.from(data).toString('latin1');
      if (fixture.recordedWith.bracketedPaste) {
        it('was recorded with bracketed paste on, and its output equals the recording without it', () => {
          assert.ok(raw.includes('\x1b[?2004h') && raw.includes('\x1b[?2004l\r\r\n'));
          const plain = fixtures.find((f) => f.name === fixture.name.replace(/-bracketed-paste$/, ''));
          assert.ok(plain, 'the recording without bracketed paste exists');
          const withoutPids = (f: Fixture) => f.steps.map((step) => step.expectedOutput.replace(/^[0-9]+\n$/, '<pid>\n'));
          assert.deepEqual(withoutPids(fixture), withoutPids(plain));
        });
      } else {
        it('was recorded with bracketed paste off', () => {
          assert.ok(!raw.includes('[?2004'));
        });
      }
      if (fixture.name.startsWith('nested')) {
        it('contains dash markers wrapped in \\x01 … \\x02 verbatim', () => {
          assert.match(raw, /\x01\x1b\]6973;[0-9a-f]+;P;5;[0-9]+\x07\x02/);
        });
      }
      if (fixture.name === 'env-template') {
        it('contains the unexpanded PS1 template with the real nonce', () => {
          assert.ok(raw.includes(`\x1b]6973;${fixture.nonce};P;$?;$$\x07`));
        });
      }
    });
  }
});

/** "0 0 1 7 …" for prompts, "C" for continuations: readable test titles. */
function summarize(fixture: Fixture): string {
  return fixture.steps
    .map(({ expectedEvent: event }) => (event.kind === 'prompt' ? String(event.exitCode) : 'C'))
    .join(' ');
}
