/**
 * Message authentication (spec: "The Wire Protocol", signature frame).
 *
 * The signature is the hex HMAC digest, under the connection file's `key`, of the header,
 * parent_header, metadata and content frames, in that order; extra buffers are not signed.
 * An empty key disables authentication: the signature frame is then empty and is not checked.
 *
 * Spec: https://jupyter-client.readthedocs.io/en/stable/messaging.html#the-wire-protocol
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { UnsupportedSignatureScheme } from './errors.js';

/** Connection-file `signature_scheme` values nslab implements, with their digest names. */
const DIGESTS: ReadonlyMap<string, string> = new Map([['hmac-sha256', 'sha256']]);

export const SUPPORTED_SIGNATURE_SCHEMES: readonly string[] = [...DIGESTS.keys()];

export class Signer {
  private readonly digest: string;
  private readonly key: Buffer;

  /** @throws UnsupportedSignatureScheme for any scheme but `hmac-sha256`, even with an empty key. */
  constructor(scheme: string, key: string | Buffer) {
    const digest = DIGESTS.get(scheme);
    if (digest === undefined) throw new UnsupportedSignatureScheme(scheme, SUPPORTED_SIGNATURE_SCHEMES);
    this.digest = digest;
    this.key = Buffer.from(key);
  }

  /** False when the key is empty, i.e. messages are neither signed nor checked. */
  get enabled(): boolean {
    return this.key.length > 0;
  }

  /** The lowercase hex HMAC of `frames` (header, parent_header, metadata, content), or `''`. */
  sign(frames: readonly Buffer[]): string {
    if (!this.enabled) return '';
    const hmac = createHmac(this.digest, this.key);
    for (const frame of frames) hmac.update(frame);
    return hmac.digest('hex');
  }

  /**
   * Whether `signature` is the signature of `frames`. Constant-time in the signature's
   * content: a wrong-length signature is compared against a same-length stand-in, so the
   * timing never tells an attacker how many leading characters were right.
   */
  verify(signature: Buffer, frames: readonly Buffer[]): boolean {
    // With no key, the spec says the signature is empty and "should not be checked";
    // jupyter_client accepts any signature then, so do we.
    if (!this.enabled) return true;
    const expected = Buffer.from(this.sign(frames), 'ascii');
    const sameLength = signature.length === expected.length;
    const candidate = sameLength ? signature : Buffer.alloc(expected.length);
    return timingSafeEqual(candidate, expected) && sameLength;
  }
}
