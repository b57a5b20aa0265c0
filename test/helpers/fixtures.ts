/**
 * The recorded PTY sessions of test/fixtures/ and how tests replay them: loading, the raw bytes,
 * and the split points at which a replay cuts the stream (test/unit/fixtures.test.ts for the
 * stream parser, test/unit/command-tracker.test.ts for parser and command tracker).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SessionFact, TrackerEvent } from '../../src/shell/command-tracker.js';
import type { ParserEvent } from '../../src/shell/types.js';

export type MarkerEvent = Exclude<ParserEvent, { kind: 'output' }>;

export interface Fixture {
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
  /**
   * Recordings made through ShellSession (test/helpers/record-session.ts): what the session told
   * its command tracker besides the bytes, each at the byte offset of the stream where it did.
   */
  facts?: Array<{ at: number; fact: SessionFact }>;
  /** The command tracker's events the scenario expects (adjacent output merged). */
  expectedTracker?: TrackerEvent[];
}

/** Above this size, split points are sampled densely instead of tried exhaustively. */
export const EXHAUSTIVE_SPLIT_LIMIT = 8192;

export function findFixturesDir(): string {
  // Compiled to dist/test/…/, the sources live in test/…/: walk up to the package root.
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return join(dir, 'test', 'fixtures');
  }
  throw new Error('package root not found');
}

/** Every fixture, sorted by file name. */
export function loadFixtures(): Fixture[] {
  const fixturesDir = findFixturesDir();
  return readdirSync(fixturesDir)
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file) => JSON.parse(readFileSync(join(fixturesDir, file), 'utf8')) as Fixture);
}

export function rawBytes(fixture: Fixture): Uint8Array {
  return new Uint8Array(Buffer.from(fixture.rawBase64, 'base64'));
}

/** Every split point of a small stream; for a large one, all points near interesting bytes. */
export function splitPoints(data: Uint8Array): number[] {
  const all = Array.from({ length: data.length + 1 }, (_, index) => index);
  if (data.length <= EXHAUSTIVE_SPLIT_LIMIT) return all;
  const interesting = (byte: number) => byte < 0x20 || byte >= 0x80;
  return all.filter((index) => index % 7 === 0 || data.subarray(Math.max(0, index - 4), index + 4).some(interesting));
}
