import { seededRandom } from '../helpers/rng.js';
import assert from 'node:assert/strict';
import {
  BadSignature,
  InsufficientFrames,
  InvalidJson,
  InvalidShape,
  MessageTooLarge,
  MissingDelimiter,
  ProtocolError,
  type JsonFrame,
} from '../../src/protocol/errors.js';
import { MessageFactory, type Message, type UntypedMessage } from '../../src/protocol/messages.js';
import { Signer } from '../../src/protocol/signing.js';
import { DELIMITER, MAX_MESSAGE_BYTES, decode, encode, splitFrames } from '../../src/protocol/wire.js';

const signer = new Signer('hmac-sha256', 'wire-test-key');
const unsigned = new Signer('hmac-sha256', '');
const factory = new MessageFactory('session-1', 'tester');

const JSON_FRAMES: readonly JsonFrame[] = ['header', 'parent_header', 'metadata', 'content'];
/** Index of each JSON frame in an encoded message without identities. */
const FRAME_INDEX = { header: 2, parent_header: 3, metadata: 4, content: 5 } as const;

/** An execute_request with two routing identities, a parent, metadata and one buffer. */
function sampleMessage(): Message<'execute_request'> {
  const parent = factory.orphan('kernel_info_request', {});
  return {
    ...factory.childOf(parent).make(
      'execute_request',
      {
        code: 'echo "héllo ✓"',
        silent: false,
        store_history: true,
        user_expressions: {},
        allow_stdin: true,
        stop_on_error: true,
      },
      { cellId: 'c1' },
    ),
    identities: [Buffer.from('router-id'), Buffer.from([0, 1, 2, 3])],
    buffers: [Buffer.from([0xf0, 0x9f, 0x90, 0xb1])],
  };
}

function roundTrip(frames: Buffer[], by: Signer = signer): UntypedMessage {
  return decode(splitFrames(frames), by);
}

/** Frames with the JSON frame `frame` replaced by `bytes`, re-signed so the HMAC is valid. */
function withFrame(frame: JsonFrame, bytes: Buffer): Buffer[] {
  const frames = encode({ ...sampleMessage(), identities: [] }, signer);
  frames[FRAME_INDEX[frame]] = bytes;
  frames[1] = Buffer.from(signer.sign(frames.slice(2, 6)));
  return frames;
}

/** Frames whose JSON frame `frame` holds `value`, validly signed. */
function withJson(frame: JsonFrame, value: unknown): Buffer[] {
  return withFrame(frame, Buffer.from(JSON.stringify(value)));
}

function assertShapeError(frames: Buffer[], field: string): void {
  assert.throws(() => roundTrip(frames), (err: unknown) => err instanceof InvalidShape && err.field === field);
}

describe('protocol/wire', () => {
  describe('encode / decode', () => {
    it('round-trips every part of a message', () => {
      const msg = sampleMessage();
      const decoded = roundTrip(encode(msg, signer));
      assert.deepEqual(decoded.identities, msg.identities);
      assert.deepEqual(decoded.header, msg.header);
      assert.deepEqual(decoded.parent_header, msg.parent_header);
      assert.deepEqual(decoded.metadata, msg.metadata);
      assert.deepEqual(decoded.content, msg.content);
      assert.deepEqual(decoded.buffers, msg.buffers);
    });

    it('lays frames out as the spec does: identities, delimiter, signature, JSON, buffers', () => {
      const msg = sampleMessage();
      const frames = encode(msg, signer);
      assert.equal(frames.length, 2 + 1 + 1 + 4 + 1);
      assert.deepEqual(frames.slice(0, 2), msg.identities);
      assert.deepEqual(frames[2], DELIMITER);
      assert.equal(frames[3].toString(), signer.sign(frames.slice(4, 8)));
      assert.deepEqual(JSON.parse(frames[4].toString()), msg.header);
      assert.deepEqual(frames[8], msg.buffers[0]);
    });

    it('encodes a message without identities starting at the delimiter', () => {
      const frames = encode({ ...sampleMessage(), identities: [] }, signer);
      assert.deepEqual(frames[0], DELIMITER);
      assert.deepEqual(roundTrip(frames).identities, []);
    });

    it('with an empty key, sends an empty signature and accepts any', () => {
      const frames = encode(sampleMessage(), unsigned);
      assert.equal(frames[3].length, 0);
      frames[3] = Buffer.from('not-a-signature');
      assert.equal(roundTrip(frames, unsigned).header.msg_type, 'execute_request');
    });

    it('accepts a header with only msg_id, msg_type and session, and a null subshell_id', () => {
      const minimal = { msg_id: 'm', msg_type: 'kernel_info_request', session: 's', subshell_id: null };
      assert.deepEqual(roundTrip(withJson('header', minimal)).header, minimal);
    });

    it('accepts a 10 MB message', () => {
      const code = 'x'.repeat(10 * 1024 * 1024);
      const msg = { ...sampleMessage(), content: { ...sampleMessage().content, code } };
      assert.equal((roundTrip(encode(msg, signer)).content as { code: string }).code.length, code.length);
    });
  });

  describe('framing', () => {
    it('rejects every truncation of a valid message with a typed error', () => {
      const frames = encode(sampleMessage(), signer);
      const identities = 2;
      for (let k = 0; k < frames.length; k++) {
        const truncated = frames.slice(0, k);
        if (k <= identities) {
          assert.throws(() => roundTrip(truncated), MissingDelimiter, `${k} frames`);
        } else if (k < identities + 6) {
          assert.throws(
            () => roundTrip(truncated),
            (err: unknown) => err instanceof InsufficientFrames && err.found === k - identities - 1 && err.required === 5,
            `${k} frames`,
          );
        } else {
          // Only the unsigned buffer is cut: still a valid message, with no buffers.
          assert.deepEqual(roundTrip(truncated).buffers, [], `${k} frames`);
        }
      }
    });

    it('rejects the message with any one of its frames removed (never a crash)', () => {
      const frames = encode(sampleMessage(), signer);
      for (let i = 0; i < frames.length; i++) {
        const without = frames.filter((_, j) => j !== i);
        const isBuffer = i === frames.length - 1;
        const isIdentity = i < 2;
        if (isBuffer || isIdentity) assert.doesNotThrow(() => roundTrip(without), `without frame ${i}`);
        else assert.throws(() => roundTrip(without), ProtocolError, `without frame ${i}`);
      }
    });

    it('rejects frames with no delimiter, and no frames at all', () => {
      const frames = encode(sampleMessage(), signer).filter((f) => !f.equals(DELIMITER));
      assert.throws(() => splitFrames(frames), MissingDelimiter);
      assert.throws(() => splitFrames([]), MissingDelimiter);
    });

    it('splits at the delimiter without looking at the JSON', () => {
      const raw = splitFrames([Buffer.from('id'), DELIMITER, ...['sig', 'h', 'p', 'm', 'c', 'b1', 'b2'].map((s) => Buffer.from(s))]);
      assert.deepEqual(
        {
          identities: raw.identities.map(String),
          signature: String(raw.signature),
          json: [raw.header, raw.parentHeader, raw.metadata, raw.content].map(String),
          buffers: raw.buffers.map(String),
        },
        { identities: ['id'], signature: 'sig', json: ['h', 'p', 'm', 'c'], buffers: ['b1', 'b2'] },
      );
    });
  });

  describe('authentication comes before parsing', () => {
    it('rejects a message signed with another key', () => {
      const frames = encode(sampleMessage(), new Signer('hmac-sha256', 'intruder'));
      assert.throws(() => roundTrip(frames), BadSignature);
    });

    it('rejects a frame altered after signing', () => {
      const frames = encode(sampleMessage(), signer);
      frames[7] = Buffer.from('{"code":"rm -rf /"}');
      assert.throws(() => roundTrip(frames), BadSignature);
    });

    for (const frame of JSON_FRAMES) {
      it(`reports BadSignature, not InvalidJson, for unparsable ${frame} with a wrong signature`, () => {
        const frames = withFrame(frame, Buffer.from('{not json'));
        frames[1] = Buffer.from('0'.repeat(64));
        assert.throws(() => roundTrip(frames), BadSignature);
      });
    }
  });

  describe('JSON', () => {
    for (const frame of JSON_FRAMES) {
      it(`names the ${frame} frame when it is not JSON`, () => {
        assert.throws(
          () => roundTrip(withFrame(frame, Buffer.from('{"unterminated": '))),
          (err: unknown) => err instanceof InvalidJson && err.frame === frame && err.message.includes(frame),
        );
      });
    }

    it('rejects invalid UTF-8 instead of decoding it to U+FFFD', () => {
      const frames = withFrame('content', Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d])); // {"a":"\xff"}
      assert.throws(() => roundTrip(frames), (err: unknown) => err instanceof InvalidJson && err.frame === 'content');
    });

    it('rejects an empty JSON frame', () => {
      assert.throws(() => roundTrip(withFrame('metadata', Buffer.alloc(0))), InvalidJson);
    });
  });

  describe('shape', () => {
    const header = sampleMessage().header;

    it('requires content to be an object', () => {
      for (const content of [[], null, 'text', 42, true]) assertShapeError(withJson('content', content), 'content');
    });

    it('requires parent_header and metadata to be objects', () => {
      assertShapeError(withJson('parent_header', []), 'parent_header');
      assertShapeError(withJson('parent_header', null), 'parent_header');
      assertShapeError(withJson('metadata', 'x'), 'metadata');
    });

    it('requires the header to be an object', () => {
      assertShapeError(withJson('header', [header]), 'header');
    });

    for (const field of ['msg_id', 'msg_type', 'session'] as const) {
      it(`requires header.${field} to be a string`, () => {
        const { [field]: _dropped, ...missing } = header;
        assertShapeError(withJson('header', missing), `header.${field}`);
        assertShapeError(withJson('header', { ...header, [field]: 7 }), `header.${field}`);
        assertShapeError(withJson('header', { ...header, [field]: null }), `header.${field}`);
      });
    }

    it('requires the optional header fields to have the right type when present', () => {
      assertShapeError(withJson('header', { ...header, version: 5.3 }), 'header.version');
      assertShapeError(withJson('header', { ...header, date: null }), 'header.date');
      assertShapeError(withJson('header', { ...header, subshell_id: 1 }), 'header.subshell_id');
    });
  });

  describe('size limit', () => {
    /**
     * A valid message padded with buffers to exactly `total` bytes. The same 1 MiB buffer is
     * repeated, so reaching 64 MiB costs 1 MiB of memory.
     */
    function paddedTo(total: number): Buffer[] {
      const frames = encode(sampleMessage(), signer);
      const chunk = Buffer.alloc(1024 * 1024);
      let remaining = total - frames.reduce((n, f) => n + f.length, 0);
      while (remaining > 0) {
        const piece = remaining >= chunk.length ? chunk : chunk.subarray(0, remaining);
        frames.push(piece);
        remaining -= piece.length;
      }
      return frames;
    }

    it('is 64 MiB', () => {
      assert.equal(MAX_MESSAGE_BYTES, 64 * 1024 * 1024);
    });

    it('accepts a message of exactly MAX_MESSAGE_BYTES', () => {
      assert.equal(roundTrip(paddedTo(MAX_MESSAGE_BYTES)).header.msg_type, 'execute_request');
    });

    it('rejects one byte more, counting every frame', () => {
      assert.throws(
        () => splitFrames(paddedTo(MAX_MESSAGE_BYTES + 1)),
        (err: unknown) => err instanceof MessageTooLarge && err.size === MAX_MESSAGE_BYTES + 1 && err.limit === MAX_MESSAGE_BYTES,
      );
    });

    it('checks the size before anything else', () => {
      const chunk = Buffer.alloc(1024 * 1024, '{');
      assert.throws(() => splitFrames(Array.from({ length: 65 }, () => chunk)), MessageTooLarge);
    });
  });

  describe('fuzzing (seeded)', () => {
    it('turns a few hundred random frame lists into messages or ProtocolErrors, nothing else', () => {
      const random = seededRandom(0x5eed);
      const seen = new Set<string>();
      for (let i = 0; i < 600; i++) {
        const frames = randomFrames(random);
        for (const by of [signer, unsigned]) {
          try {
            roundTrip(frames, by);
            seen.add('ok');
          } catch (err) {
            if (!(err instanceof ProtocolError)) throw new Error(`case ${i}: ${String(err)}`, { cause: err });
            seen.add(err.code);
          }
        }
      }
      // The generator must reach every stage, or this test proves little.
      for (const outcome of ['ok', 'MISSING_DELIMITER', 'INSUFFICIENT_FRAMES', 'BAD_SIGNATURE', 'INVALID_JSON', 'INVALID_SHAPE']) {
        assert.ok(seen.has(outcome), `no case ended in ${outcome}`);
      }
    });

    it('decodes random JSON values only when they have the required shape', () => {
      const random = seededRandom(42);
      let accepted = 0;
      for (let i = 0; i < 400; i++) {
        const values = JSON_FRAMES.map(() => (random() < 0.6 ? randomObject(random, 2) : randomJson(random, 3)));
        const frames = [DELIMITER, Buffer.alloc(0), ...values.map((v) => Buffer.from(JSON.stringify(v)))];
        let msg: UntypedMessage;
        try {
          msg = roundTrip(frames, unsigned);
        } catch (err) {
          if (!(err instanceof InvalidShape)) throw new Error(`case ${i}: ${String(err)}`, { cause: err });
          continue;
        }
        accepted++;
        assert.equal(typeof msg.header.msg_id, 'string');
        assert.equal(typeof msg.header.msg_type, 'string');
        assert.equal(typeof msg.header.session, 'string');
        for (const part of [msg.parent_header, msg.metadata, msg.content]) {
          assert.ok(typeof part === 'object' && part !== null && !Array.isArray(part));
        }
      }
      // Both outcomes must occur, or the generator is not testing the shape checks.
      assert.ok(accepted > 0 && accepted < 400, `${accepted} of 400 accepted`);
    });
  });
});


const pick = <T>(random: () => number, items: readonly T[]): T => items[Math.floor(random() * items.length)];

/** Frame lists mixing bytes, delimiters, JSON and pieces of a real message, to reach every stage. */
function randomFrames(random: () => number): Buffer[] {
  const valid = encode(sampleMessage(), unsigned);
  const frameKinds: (() => Buffer)[] = [
    () => Buffer.from(Array.from({ length: Math.floor(random() * 40) }, () => Math.floor(random() * 256))),
    () => DELIMITER,
    () => Buffer.from(JSON.stringify(randomJson(random, 2))),
    () => pick(random, valid),
    () => Buffer.from(signer.sign(valid.slice(4, 8))),
  ];
  switch (Math.floor(random() * 3)) {
    case 0: // anything at all
      return Array.from({ length: Math.floor(random() * 10) }, () => pick(random, frameKinds)());
    case 1: // a real message with a few frames replaced
      return valid.map((frame) => (random() < 0.2 ? pick(random, frameKinds)() : frame));
    default: // a well-framed message of random JSON values
      return [DELIMITER, Buffer.alloc(0), ...Array.from({ length: 4 }, () => Buffer.from(JSON.stringify(randomJson(random, 2))))];
  }
}

function randomJson(random: () => number, depth: number): unknown {
  const kinds = depth > 0 ? 7 : 4;
  switch (Math.floor(random() * kinds)) {
    case 0: return null;
    case 1: return random() < 0.5;
    case 2: return Math.floor(random() * 1000) - 500;
    case 3: return pick(random, ['', 'kernel_info_request', 'ü', 's']);
    case 4: return Array.from({ length: Math.floor(random() * 3) }, () => randomJson(random, depth - 1));
    default: return randomObject(random, depth - 1);
  }
}

/** Objects favour header field names, mostly with string values, so some are well-shaped headers. */
function randomObject(random: () => number, depth: number): Record<string, unknown> {
  const object: Record<string, unknown> = {};
  for (const key of ['msg_id', 'msg_type', 'session', 'username', 'version', 'code']) {
    if (random() < 0.85) object[key] = random() < 0.9 ? pick(random, ['a', 'execute_request', 's']) : randomJson(random, depth);
  }
  return object;
}
