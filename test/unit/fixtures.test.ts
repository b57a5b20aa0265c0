/**
 * Replays PTY sessions recorded from a real bash (scripts/record-fixture.mjs; the `lab-*` ones
 * in a lab through ShellSession, test/helpers/record-session.ts) through the
 * StreamParser: the exit statuses, the exact program output between prompts, and that nothing of
 * the shell integration leaks into the output, at every split point of the byte stream.
 */
import assert from 'node:assert/strict';
import { StreamParser } from '../../src/shell/stream-parser.js';
import type { ParserEvent } from '../../src/shell/types.js';
import { loadFixtures, rawBytes, splitPoints, type Fixture, type MarkerEvent } from '../helpers/fixtures.js';

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

const fixtures: Fixture[] = loadFixtures();

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
