/**
 * The Jupyter wire format: multipart ZeroMQ messages ↔ `UntypedMessage`.
 *
 *     [identity…, '<IDS|MSG>', signature, header, parent_header, metadata, content, buffer…]
 *
 * Decoding happens in three stages, each with its own typed error, and nothing is parsed
 * before it is authenticated ("framing before JSON"):
 *   1. `splitFrames`: size limit, then locate the delimiter and cut the frames apart;
 *   2. `decode`: verify the HMAC over the raw JSON frames, and only then parse them;
 *   3. `decode`: check the parsed values have the shape the spec requires.
 *
 * Spec: https://jupyter-client.readthedocs.io/en/stable/messaging.html#the-wire-protocol
 */
import {
  BadSignature,
  InsufficientFrames,
  InvalidJson,
  InvalidShape,
  MessageTooLarge,
  MissingDelimiter,
  type JsonFrame,
} from './errors.js';
import type { Header, JsonObject, Message, UntypedMessage } from './messages.js';
import type { Signer } from './signing.js';
import { isPlainObject } from '../common/json.js';

/** Separates the routing identities from the message proper. */
export const DELIMITER = Buffer.from('<IDS|MSG>', 'ascii');

/**
 * Largest message accepted, all frames counted. Generous on purpose (cells and outputs of
 * several MB are normal); it only keeps an absurd message from being buffered and parsed.
 */
export const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/** A message cut into its frames, nothing parsed or verified yet. */
export interface RawMessage {
  identities: Buffer[];
  signature: Buffer;
  header: Buffer;
  parentHeader: Buffer;
  metadata: Buffer;
  content: Buffer;
  buffers: Buffer[];
}

/** Signature plus the four JSON frames: what must follow the delimiter. */
const FRAMES_AFTER_DELIMITER = 5;

/** @throws MessageTooLarge, MissingDelimiter, InsufficientFrames */
export function splitFrames(frames: readonly Buffer[]): RawMessage {
  const size = frames.reduce((total, frame) => total + frame.length, 0);
  if (size > MAX_MESSAGE_BYTES) throw new MessageTooLarge(size, MAX_MESSAGE_BYTES);

  const delimiterAt = frames.findIndex((frame) => frame.equals(DELIMITER));
  if (delimiterAt < 0) throw new MissingDelimiter();
  const afterDelimiter = frames.length - delimiterAt - 1;
  if (afterDelimiter < FRAMES_AFTER_DELIMITER) throw new InsufficientFrames(afterDelimiter, FRAMES_AFTER_DELIMITER);

  const [signature, header, parentHeader, metadata, content, ...buffers] = frames.slice(delimiterAt + 1);
  return { identities: frames.slice(0, delimiterAt), signature, header, parentHeader, metadata, content, buffers };
}

/** @throws BadSignature, InvalidJson (naming the frame), InvalidShape (naming the field) */
export function decode(raw: RawMessage, signer: Signer): UntypedMessage {
  if (!signer.verify(raw.signature, [raw.header, raw.parentHeader, raw.metadata, raw.content])) {
    throw new BadSignature();
  }
  const header = parseJson('header', raw.header);
  const parentHeader = parseJson('parent_header', raw.parentHeader);
  const metadata = parseJson('metadata', raw.metadata);
  const content = parseJson('content', raw.content);

  checkHeader('header', header);
  requireObject('parent_header', parentHeader);
  requireObject('metadata', metadata);
  requireObject('content', content);
  return {
    identities: raw.identities,
    header,
    // Either `{}` (no parent) or the header of the request; only its being an object is
    // checked, since the kernel echoes it back untouched.
    parent_header: parentHeader as Header | Record<string, never>,
    metadata,
    content,
    buffers: raw.buffers,
  };
}

/** The frames of `msg`, signed with `signer`, prefixed with its routing identities. */
export function encode(msg: Message | UntypedMessage, signer: Signer): Buffer[] {
  const jsonFrames = [msg.header, msg.parent_header, msg.metadata, msg.content].map((value) =>
    Buffer.from(JSON.stringify(value), 'utf8'),
  );
  const signature = Buffer.from(signer.sign(jsonFrames), 'ascii');
  return [...msg.identities, DELIMITER, signature, ...jsonFrames, ...msg.buffers];
}

// Fatal: invalid UTF-8 is an error rather than silently becoming U+FFFD, as in
// jupyter_client, whose json.loads() of the bytes rejects it too.
const utf8 = new TextDecoder('utf-8', { fatal: true });

function parseJson(frame: JsonFrame, bytes: Buffer): unknown {
  try {
    return JSON.parse(utf8.decode(bytes));
  } catch (err) {
    throw new InvalidJson(frame, err);
  }
}

function requireObject(field: string, value: unknown): asserts value is JsonObject {
  // JSON.parse made it, so every value in a plain object is JSON.
  if (!isPlainObject(value)) throw new InvalidShape(field, 'a JSON object');
}

/**
 * What a header field must hold. The routing-relevant three are required; the rest of the
 * spec's header fields are optional here, for leniency with clients, but typed when present.
 */
const HEADER_FIELDS: { [K in keyof Header]-?: { required: boolean; nullable: boolean } } = {
  msg_id: { required: true, nullable: false },
  msg_type: { required: true, nullable: false },
  session: { required: true, nullable: false },
  username: { required: false, nullable: false },
  date: { required: false, nullable: false },
  version: { required: false, nullable: false },
  // Kernel subshells (JEP 91): null or absent means the parent subshell.
  subshell_id: { required: false, nullable: true },
};

function checkHeader(field: JsonFrame, value: unknown): asserts value is Header {
  requireObject(field, value);
  for (const [name, rule] of Object.entries(HEADER_FIELDS)) {
    const v = value[name];
    if (v === undefined && !rule.required) continue;
    if (v === null && rule.nullable) continue;
    if (typeof v !== 'string') {
      throw new InvalidShape(`${field}.${name}`, rule.nullable ? 'a string or null' : 'a string');
    }
  }
}
