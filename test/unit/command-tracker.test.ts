/**
 * The command tracker without a PTY: every recording in test/fixtures/ replayed through the
 * stream parser and the tracker, with what the session told the tracker at the byte where it did
 * (recorded by test/helpers/record-session.ts; for the plain bash recordings of
 * scripts/record-fixture.mjs, the line typed after each marker, as the recorder typed it). The
 * tracker's events must be the expected ones, and the same at every split point of the stream
 * and byte by byte.
 */
import assert from 'node:assert/strict';
import { CommandTracker, type SessionFact, type TrackerEvent, type TrackerInput } from '../../src/shell/command-tracker.js';
import { MARKER_OSC } from '../../src/shell/markers.js';
import { StreamParser } from '../../src/shell/stream-parser.js';
import { loadFixtures, rawBytes, splitPoints, type Fixture } from '../helpers/fixtures.js';
import type { TerminalModes } from '../../src/shell/procfs.js';

type Fact = { at: number; fact: SessionFact };

/** The recordings made through ShellSession in a lab, which this test insists on. */
const REQUIRED_SESSION_RECORDINGS = ['lab-nested-shells', 'lab-untracked', 'lab-stdin', 'lab-interrupt'];

const fixtures = loadFixtures();

/**
 * Feeds `data`, cut at `cuts` and at every fact's offset, through a parser and a tracker, the
 * facts in between as the session told them (at the exit, the parser's end first, as the
 * session does). Returns the tracker's events, adjacent output merged.
 */
function replay(data: Uint8Array, facts: Fact[], nonce: string, cuts: number[] = []): TrackerEvent[] {
  const parser = new StreamParser(nonce);
  const tracker = new CommandTracker();
  const events: TrackerEvent[] = [];
  const feed = (input: TrackerInput) => events.push(...tracker.feed(input));
  const bounds = [...new Set([...cuts, ...facts.map((f) => f.at), data.length])].sort((a, b) => a - b);
  let position = 0;
  let next = 0;
  for (const bound of bounds) {
    if (bound > position) {
      for (const e of parser.push(data.subarray(position, bound))) feed(e);
      position = bound;
    }
    for (; next < facts.length && facts[next].at === bound; next++) {
      if (facts[next].fact.kind === 'exit') for (const e of parser.end()) feed(e);
      feed(facts[next].fact);
    }
  }
  return mergeOutput(events);
}

function mergeOutput(events: TrackerEvent[]): TrackerEvent[] {
  const merged: TrackerEvent[] = [];
  for (const event of events) {
    const last = merged.at(-1);
    if (event.kind === 'output' && last?.kind === 'output') merged[merged.length - 1] = { kind: 'output', text: last.text + event.text };
    else merged.push(event);
  }
  return merged;
}

/** Where each marker of `nonce` ends in the stream, found without the parser. */
function markerEnds(data: Uint8Array, nonce: string): number[] {
  const marker = new RegExp(`\\x1b\\]${MARKER_OSC};${nonce};[PC][;0-9]*(?:\\x07|\\x1b\\\\)`, 'g');
  return [...Buffer.from(data).toString('latin1').matchAll(marker)].map((m) => m.index + m[0].length);
}

/** A plain bash recording: each step's line was typed when the marker before it came; the shell was then killed. */
function factsOfPlainRecording(fixture: Fixture, data: Uint8Array): Fact[] {
  const ends = markerEnds(data, fixture.nonce);
  const lines = fixture.steps.slice(1).map((step, index): Fact => ({ at: ends[index], fact: { kind: 'line', text: step.typed ?? '' } }));
  return [...lines, { at: data.length, fact: { kind: 'exit' } }];
}

/** What the tracker should say of a plain recording: its steps' output and markers, then the exit. */
function expectedOfPlainRecording(fixture: Fixture): TrackerEvent[] {
  return [
    ...fixture.steps.flatMap((step): TrackerEvent[] => [
      ...(step.expectedOutput ? [{ kind: 'output' as const, text: step.expectedOutput }] : []),
      step.expectedEvent.kind === 'prompt' ? step.expectedEvent : { kind: 'continuation' },
    ]),
    { kind: 'exited' },
  ];
}

/** "0 C 0 u:line 130 x": readable test titles. */
function summarize(events: TrackerEvent[]): string {
  return events.flatMap((e) => {
    if (e.kind === 'prompt') return [String(e.exitCode)];
    if (e.kind === 'continuation') return ['C'];
    if (e.kind === 'untracked') return [`${e.program.comm}:${e.needs}`];
    if (e.kind === 'exited') return ['exit'];
    return [];
  }).join(' ');
}

describe('CommandTracker on recorded PTY sessions', () => {
  it('has the recordings made through ShellSession in a lab', () => {
    assert.deepEqual(REQUIRED_SESSION_RECORDINGS.filter((name) => !fixtures.some((f) => f.name === name && f.facts)), []);
  });

  for (const fixture of fixtures) {
    const data = rawBytes(fixture);
    const facts = fixture.facts ?? factsOfPlainRecording(fixture, data);
    const expected = fixture.expectedTracker ?? expectedOfPlainRecording(fixture);

    describe(`${fixture.name}: ${fixture.description}`, () => {
      it(`gives the expected events: ${summarize(expected)}`, () => {
        assert.deepEqual(replay(data, facts, fixture.nonce), expected);
      });

      it('gives the same events at every split point and byte by byte', () => {
        const whole = replay(data, facts, fixture.nonce);
        for (const split of splitPoints(data)) {
          assert.deepEqual(replay(data, facts, fixture.nonce, [split]), whole, `split at byte ${split}`);
        }
        const everyByte = Array.from({ length: data.length + 1 }, (_, index) => index);
        assert.deepEqual(replay(data, facts, fixture.nonce, everyByte), whole, 'byte by byte');
      });
    });
  }

  describe('what the recorded facts decide', () => {
    const recording = (name: string) => {
      const fixture = fixtures.find((f) => f.name === name);
      assert.ok(fixture?.facts, `${name} is recorded`);
      return { fixture, data: rawBytes(fixture), facts: fixture.facts };
    };

    it('without the ^C fact, bash\'s line break after the killed job would show', () => {
      const { fixture, data, facts } = recording('lab-interrupt');
      const events = replay(data, facts.filter(({ fact }) => fact.kind !== 'interrupt'), fixture.nonce);
      assert.deepEqual(events.filter((e) => e.kind === 'output').map((e) => e.text), ['started\n\n', 'after\n']);
    });

    it('the shell\'s own `read` is a line to ask for, python3 and a shell without markers are not', () => {
      const needs = (name: string) => {
        const { fixture, data, facts } = recording(name);
        return replay(data, facts, fixture.nonce).flatMap((e) => (e.kind === 'untracked' ? [`${e.program.comm}:${e.needs}`] : []));
      };
      assert.deepEqual(needs('lab-stdin'), ['bash:line', 'bash:line']);
      assert.deepEqual(needs('lab-untracked'), ['python3:terminal', 'python3:terminal', 'bash:markers']);
    });
  });
});

describe('CommandTracker rules', () => {
  const prompt = (exitCode: number, shellPid = 2): TrackerInput => ({ kind: 'prompt', exitCode, shellPid });

  it('follows the phases: starting, prompt, running, continuation, exited', () => {
    const tracker = new CommandTracker();
    const phases = [tracker.phase];
    for (const input of [prompt(0), { kind: 'line', text: 'for i in 1; do' }, { kind: 'continuation' }, { kind: 'line', text: 'done' }, prompt(0), { kind: 'exit' }] as TrackerInput[]) {
      tracker.feed(input);
      phases.push(tracker.phase);
    }
    assert.deepEqual(phases, ['starting', 'prompt', 'running', 'continuation', 'running', 'prompt', 'exited']);
  });

  it('drops what a cancelled command prints until its prompt', () => {
    const tracker = new CommandTracker();
    const events = [prompt(0), { kind: 'cell-start' }, { kind: 'line', text: 'echo "open' }, { kind: 'continuation' }, { kind: 'cancel' },
      { kind: 'output', text: '^C\n' }, prompt(130), { kind: 'output', text: 'next\n' }].flatMap((input) => tracker.feed(input as TrackerInput));
    assert.deepEqual(events, [
      { kind: 'prompt', exitCode: 0, shellPid: 2 }, { kind: 'continuation' },
      { kind: 'prompt', exitCode: 130, shellPid: 2 }, { kind: 'output', text: 'next\n' },
    ]);
  });

  it('after ^C, keeps a held line break when the prompt\'s status is not 130, and at the cell\'s end', () => {
    let tracker = new CommandTracker();
    const run = (inputs: TrackerInput[]) => mergeOutput(inputs.flatMap((input) => tracker.feed(input)));
    assert.deepEqual(run([prompt(0), { kind: 'cell-start' }, { kind: 'line', text: 'cat' }, { kind: 'interrupt' }, { kind: 'output', text: 'x\n' }, prompt(1)]),
      [{ kind: 'prompt', exitCode: 0, shellPid: 2 }, { kind: 'output', text: 'x\n' }, { kind: 'prompt', exitCode: 1, shellPid: 2 }]);
    tracker = new CommandTracker();
    assert.deepEqual(run([prompt(0), { kind: 'cell-start' }, { kind: 'line', text: 'cat' }, { kind: 'interrupt' }, { kind: 'output', text: 'x\n' }, { kind: 'cell-end' }]),
      [{ kind: 'prompt', exitCode: 0, shellPid: 2 }, { kind: 'output', text: 'x\n' }]);
  });

  it('after a job that ignored ^C was killed and its shell got SIGINT, drops the shell\'s line break whatever the status', () => {
    const tracker = new CommandTracker();
    const inputs: TrackerInput[] = [prompt(0), { kind: 'cell-start' }, { kind: 'line', text: 'unshare -pf sleep 100; echo after' }, { kind: 'interrupt' },
      { kind: 'interrupt-killed' }, { kind: 'output', text: 'Killed\n' }, { kind: 'output', text: '\n' }, prompt(137), { kind: 'output', text: 'next\n' }, { kind: 'cell-end' }];
    assert.deepEqual(mergeOutput(inputs.flatMap((input) => tracker.feed(input))), [
      { kind: 'prompt', exitCode: 0, shellPid: 2 }, { kind: 'output', text: 'Killed\n' },
      { kind: 'prompt', exitCode: 137, shellPid: 2 }, { kind: 'output', text: 'next\n' },
    ]);
  });

  it('takes its own shell found waiting at the continuation prompt it reported for no news (a cancel not read yet)', () => {
    const tracker = new CommandTracker();
    const bash = { pid: 4242, comm: 'bash', innerPid: 2, ownTty: false };
    const readline: TerminalModes = { canonical: false, echo: false, echoKill: true, signals: true };
    const inputs: TrackerInput[] = [prompt(0), { kind: 'cell-start' }, { kind: 'line', text: 'for i in 1 2; do' }, { kind: 'continuation' }, { kind: 'cancel' },
      { kind: 'waiting', program: bash, modes: readline }, prompt(130)];
    assert.deepEqual(inputs.flatMap((input) => tracker.feed(input)).map((e) => e.kind), ['prompt', 'continuation', 'prompt']);
    // Another program waiting there is news.
    const python = { pid: 4243, comm: 'python3', innerPid: 7, ownTty: false };
    assert.deepEqual(tracker.feed({ kind: 'waiting', program: python, modes: readline }).map((e) => e.kind), ['untracked']);
  });

  it('is interruptible while something runs or a cell waits, not at an idle prompt nor after the exit', () => {
    const tracker = new CommandTracker();
    const states: boolean[] = [];
    for (const input of [prompt(0), { kind: 'cell-start' }, { kind: 'line', text: 'sleep 1' }, prompt(0), { kind: 'cell-end' }, { kind: 'exit' }] as TrackerInput[]) {
      tracker.feed(input);
      states.push(tracker.interruptible);
    }
    assert.deepEqual(states, [false, true, true, true, false, false]);
  });
});
