/**
 * Typed errors of the wire-protocol layer. Every failure to turn bytes into a message, or to
 * set the protocol up, is a `ProtocolError` whose `code` says which rule was broken, so
 * callers (and tests) can tell "the peer sent garbage" apart from a bug in nslab.
 *
 * Spec: https://jupyter-client.readthedocs.io/en/stable/messaging.html#the-wire-protocol
 */

export type ProtocolErrorCode =
  | 'MISSING_DELIMITER'
  | 'INSUFFICIENT_FRAMES'
  | 'BAD_SIGNATURE'
  | 'INVALID_JSON'
  | 'INVALID_SHAPE'
  | 'MESSAGE_TOO_LARGE'
  | 'UNSUPPORTED_SIGNATURE_SCHEME'
  | 'CONNECTION_FILE'
  | 'BIND_FAILED';

/** The four JSON frames of a message, named as in the spec. */
export type JsonFrame = 'header' | 'parent_header' | 'metadata' | 'content';

export class ProtocolError extends Error {
  constructor(
    readonly code: ProtocolErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** No frame equals `<IDS|MSG>`, so routing identities cannot be told from the message. */
export class MissingDelimiter extends ProtocolError {
  constructor() {
    super('MISSING_DELIMITER', 'no <IDS|MSG> delimiter frame in the message');
  }
}

/** The delimiter is there, but the signature and the four JSON frames do not all follow it. */
export class InsufficientFrames extends ProtocolError {
  constructor(
    readonly found: number,
    readonly required: number,
  ) {
    super('INSUFFICIENT_FRAMES', `expected at least ${required} frames after <IDS|MSG>, got ${found}`);
  }
}

/** The HMAC does not match the frames: the message was not sent by a holder of the key. */
export class BadSignature extends ProtocolError {
  constructor() {
    super('BAD_SIGNATURE', 'message signature does not match (wrong key, or frames altered)');
  }
}

export class InvalidJson extends ProtocolError {
  constructor(
    readonly frame: JsonFrame,
    cause: unknown,
  ) {
    super('INVALID_JSON', `the ${frame} frame is not valid UTF-8 JSON: ${describe(cause)}`, { cause });
  }
}

/** Valid JSON, but not the structure the spec requires (`field` is a dotted path). */
export class InvalidShape extends ProtocolError {
  constructor(
    readonly field: string,
    expected: string,
  ) {
    super('INVALID_SHAPE', `${field} must be ${expected}`);
  }
}

export class MessageTooLarge extends ProtocolError {
  constructor(
    readonly size: number,
    readonly limit: number,
  ) {
    super('MESSAGE_TOO_LARGE', `message of ${size} bytes exceeds the ${limit}-byte limit`);
  }
}

export class UnsupportedSignatureScheme extends ProtocolError {
  constructor(
    readonly scheme: string,
    supported: readonly string[],
  ) {
    super(
      'UNSUPPORTED_SIGNATURE_SCHEME',
      `unsupported signature_scheme ${JSON.stringify(scheme)}; nslab supports ${supported.join(', ')}`,
    );
  }
}

export class ConnectionFileError extends ProtocolError {
  constructor(
    readonly path: string,
    problem: string,
    options?: ErrorOptions,
  ) {
    super('CONNECTION_FILE', `connection file ${path}: ${problem}`, options);
  }
}

/** A socket could not be bound to the address in the connection file (port taken, bad ip). */
export class BindError extends ProtocolError {
  constructor(
    readonly channel: string,
    readonly port: number,
    readonly address: string,
    cause: unknown,
  ) {
    super('BIND_FAILED', `cannot bind the ${channel} channel to ${address} (port ${port}): ${describe(cause)}`, {
      cause,
    });
  }
}

function describe(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}
