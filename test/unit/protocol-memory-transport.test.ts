import assert from 'node:assert/strict';
import { InvalidShape } from '../../src/protocol/errors.js';
import { DEFAULT_CLIENT_IDENTITY, MemoryTransport } from '../../src/protocol/memory-transport.js';
import { MessageFactory, type UntypedMessage } from '../../src/protocol/messages.js';
import type { InboundChannel } from '../../src/protocol/transport.js';

const client = new MessageFactory('client-session');
const kernel = new MessageFactory('kernel-session');

describe('protocol/memory-transport', () => {
  it('delivers synchronously, with a default client identity, as a decoded copy', () => {
    const transport = new MemoryTransport();
    const received: [InboundChannel, UntypedMessage][] = [];
    transport.onMessage((channel, msg) => received.push([channel, msg]));
    const request = client.orphan('is_complete_request', { code: 'echo' });

    transport.deliver('shell', request);

    assert.equal(received.length, 1);
    const [channel, msg] = received[0];
    assert.equal(channel, 'shell');
    assert.deepEqual(msg.identities, [DEFAULT_CLIENT_IDENTITY]);
    assert.deepEqual(msg.header, request.header);
    assert.notEqual(msg.content, request.content, 'the listener must get its own copy');
  });

  it('keeps identities the message already has', () => {
    const transport = new MemoryTransport();
    let identities: Buffer[] = [];
    transport.onMessage((_, msg) => (identities = msg.identities));
    transport.deliver('control', { ...client.orphan('interrupt_request', {}), identities: [Buffer.from('frontend')] });
    assert.deepEqual(identities, [Buffer.from('frontend')]);
  });

  it('refuses to deliver what the wire would refuse, or with no listener', () => {
    const transport = new MemoryTransport();
    assert.throws(() => transport.deliver('shell', client.orphan('kernel_info_request', {})), /no listener/);
    transport.onMessage(() => undefined);
    const broken = { ...client.orphan('kernel_info_request', {}), content: [] as unknown as Record<string, never> };
    assert.throws(() => transport.deliver('shell', broken), InvalidShape);
  });

  it('records sends in order', async () => {
    const transport = new MemoryTransport();
    const parent = kernel.childOf(client.orphan('kernel_info_request', {}));
    await transport.send('iopub', parent.status('busy'));
    await transport.send('iopub', parent.status('idle'));
    assert.deepEqual(
      transport.sent.map((s) => `${s.channel}:${(s.msg.content as { execution_state: string }).execution_state}`),
      ['iopub:busy', 'iopub:idle'],
    );
  });

  it('rejects a send that could not be encoded, as the wire transport would', async () => {
    const transport = new MemoryTransport();
    const msg = kernel.orphan('stream', { name: 'stdout', text: 'x' });
    (msg.content as unknown as { n: bigint }).n = 1n;
    await assert.rejects(transport.send('iopub', msg), TypeError);
    assert.equal(transport.sent.length, 0);
  });

  describe('waitFor', () => {
    it('resolves with a matching message already sent', async () => {
      const transport = new MemoryTransport();
      await transport.send('iopub', kernel.orphan('status', { execution_state: 'starting' }));
      const found = await transport.waitFor((s) => s.msg.header.msg_type === 'status');
      assert.equal(found.channel, 'iopub');
    });

    it('resolves when a matching message is sent later, ignoring others', async () => {
      const transport = new MemoryTransport();
      const waiting = transport.waitFor((s) => s.msg.header.msg_type === 'stream');
      await transport.send('iopub', kernel.orphan('status', { execution_state: 'busy' }));
      await transport.send('iopub', kernel.orphan('stream', { name: 'stdout', text: 'hi' }));
      assert.deepEqual((await waiting).msg.content, { name: 'stdout', text: 'hi' });
    });

    it('rejects on timeout, listing what was sent', async () => {
      const transport = new MemoryTransport();
      await transport.send('iopub', kernel.orphan('status', { execution_state: 'idle' }));
      await assert.rejects(
        transport.waitFor((s) => s.channel === 'shell', 20),
        /no matching message within 20 ms; sent: iopub:status/,
      );
    });
  });

  it('refuses to send or deliver after close', async () => {
    const transport = new MemoryTransport();
    transport.onMessage(() => undefined);
    await transport.close();
    await assert.rejects(transport.send('iopub', kernel.orphan('status', { execution_state: 'idle' })), /closed/);
    assert.throws(() => transport.deliver('shell', client.orphan('kernel_info_request', {})), /closed/);
  });
});
