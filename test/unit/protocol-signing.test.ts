import assert from 'node:assert/strict';
import { UnsupportedSignatureScheme } from '../../src/protocol/errors.js';
import { Signer } from '../../src/protocol/signing.js';

/*
 * Known-answer vector, computed once outside Node:
 *   printf '%s' '{"msg_id":"a","msg_type":"kernel_info_request","session":"s"}{}{}{}' \
 *     | openssl dgst -sha256 -hmac 'nslab-test-key'
 * and cross-checked with Python, updating hmac.new(b'nslab-test-key', digestmod=sha256)
 * frame by frame as jupyter_client's Session.sign does.
 */
const KEY = 'nslab-test-key';
const FRAMES = ['{"msg_id":"a","msg_type":"kernel_info_request","session":"s"}', '{}', '{}', '{}'].map((s) =>
  Buffer.from(s),
);
const EXPECTED = '51752bf13c47f1239ebdd45c518b488a4f16f6eb398aaf1ba7940ea127891b16';

describe('protocol/signing', () => {
  const signer = new Signer('hmac-sha256', KEY);

  it('signs header, parent_header, metadata and content as jupyter_client does', () => {
    assert.equal(signer.sign(FRAMES), EXPECTED);
  });

  it('accepts the key as a Buffer', () => {
    assert.equal(new Signer('hmac-sha256', Buffer.from(KEY)).sign(FRAMES), EXPECTED);
  });

  it('verifies a correct signature', () => {
    assert.equal(signer.verify(Buffer.from(EXPECTED), FRAMES), true);
  });

  it('rejects a signature with one character changed', () => {
    const tampered = EXPECTED.slice(0, -1) + (EXPECTED.endsWith('6') ? '7' : '6');
    assert.equal(signer.verify(Buffer.from(tampered), FRAMES), false);
  });

  it('rejects the right signature for altered frames', () => {
    const altered = [...FRAMES.slice(0, 3), Buffer.from('{"x":1}')];
    assert.equal(signer.verify(Buffer.from(EXPECTED), altered), false);
  });

  it('rejects a signature under another key', () => {
    const other = new Signer('hmac-sha256', 'another-key');
    assert.equal(signer.verify(Buffer.from(other.sign(FRAMES)), FRAMES), false);
  });

  it('rejects, without throwing, signatures of the wrong length', () => {
    for (const wrong of ['', EXPECTED.slice(0, 10), EXPECTED.slice(0, -1), EXPECTED + '0', EXPECTED + EXPECTED]) {
      assert.equal(signer.verify(Buffer.from(wrong), FRAMES), false, `length ${wrong.length}`);
    }
  });

  it('compares hex digits exactly (an uppercase digest is not the signature)', () => {
    assert.equal(signer.verify(Buffer.from(EXPECTED.toUpperCase()), FRAMES), false);
  });

  describe('with an empty key', () => {
    const unsigned = new Signer('hmac-sha256', '');

    it('is disabled and signs with the empty string', () => {
      assert.equal(unsigned.enabled, false);
      assert.equal(unsigned.sign(FRAMES), '');
    });

    it('accepts any signature, as the spec allows', () => {
      for (const signature of ['', EXPECTED, 'garbage']) {
        assert.equal(unsigned.verify(Buffer.from(signature), FRAMES), true);
      }
    });
  });

  describe('signature schemes', () => {
    it('rejects hmac-md5 with a message naming it and the supported scheme', () => {
      assert.throws(
        () => new Signer('hmac-md5', KEY),
        (err: unknown) =>
          err instanceof UnsupportedSignatureScheme &&
          err.code === 'UNSUPPORTED_SIGNATURE_SCHEME' &&
          err.scheme === 'hmac-md5' &&
          /"hmac-md5"/.test(err.message) &&
          /hmac-sha256/.test(err.message),
      );
    });

    it('checks the scheme even when the key is empty', () => {
      assert.throws(() => new Signer('sha256', ''), UnsupportedSignatureScheme);
    });
  });
});
