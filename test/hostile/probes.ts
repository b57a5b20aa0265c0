/**
 * The fuzzer's probe generators: each makes one multipart message for one channel, and says what
 * the kernel must do with it:
 *
 *   drop    the transport must refuse it (bad frames, signature, UTF-8, JSON shape): no reply, no
 *           iopub message parented to it, one "dropped a message" line in the kernel's log;
 *   reply   a valid request (however odd its content): it must get its reply;
 *   idle    valid, but nothing answers it (unknown type, comm, wrong channel): busy/idle only;
 *   silent  valid on stdin with no input pending: nothing at all.
 *
 * `pwn` names a file that a message would create if the kernel ran it (`touch`); every such
 * message has a wrong signature or is sent where nothing executes.
 */
import type { Client, RequestChannel } from './client.js';
import { DELIM, hmacHex } from './client.js';
import type { Rng } from '../helpers/rng.js';

export type Expect = 'drop' | 'reply' | 'idle' | 'silent';

export interface Probe {
  kind: string;
  channel: RequestChannel;
  frames: Buffer[];
  expect: Expect;
  /** msg_id of the request (for drops: must never be seen as a parent). */
  msgId?: string;
  /** A file that would exist if the message had run. */
  pwn?: string;
  /**
   * Sent through a throwaway socket: a message this big may be refused by ZeroMQ itself (a
   * `maxMessageSize` on the kernel's sockets disconnects the peer), which is as good as a drop.
   */
  ownSocket?: boolean;
  /** An execute_request that, when run, advances the execution count. */
  counts?: boolean;
  timeoutMs?: number;
}

export interface ProbeContext {
  rng: Rng;
  client: Client;
  /** A fresh /tmp/nslab-pwned-… path. */
  pwnPath(): string;
}

const J = (v: unknown) => Buffer.from(JSON.stringify(v), 'utf8');

function executeContent(code: unknown, over: Record<string, unknown> = {}): Record<string, unknown> {
  return { code, silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true, ...over };
}

/** A benign, valid request for `channel` (what mutations start from). */
function benign(x: ProbeContext, channel: RequestChannel): { header: ReturnType<Client['header']>; json: Buffer[] } {
  const type =
    channel === 'control'
      ? x.rng.pick(['kernel_info_request', 'interrupt_request'])
      : channel === 'stdin'
        ? 'input_reply'
        : x.rng.pick(['kernel_info_request', 'comm_info_request', 'is_complete_request', 'history_request']);
  const content =
    type === 'is_complete_request' ? { code: 'echo hi' } : type === 'history_request' ? { hist_access_type: 'tail', n: 1, output: false, raw: true } : type === 'input_reply' ? { value: 'x' } : {};
  const header = x.client.header(type);
  return { header, json: x.client.jsonFrames(header, content) };
}

/** A message that would run `touch PATH`, as four JSON frames (not signed). */
function pwnMessage(x: ProbeContext): { header: ReturnType<Client['header']>; json: Buffer[]; path: string } {
  const path = x.pwnPath();
  const header = x.client.header('execute_request');
  return { header, json: x.client.jsonFrames(header, executeContent(`touch ${path}`)), path };
}

// ---- drop ---------------------------------------------------------------------------------------

function randomFrames(x: ProbeContext, channel: RequestChannel): Probe {
  const { rng } = x;
  const frames = Array.from({ length: rng.int(1, 8) }, () =>
    rng.weighted<() => Buffer>([
      [5, () => rng.bytes(rng.int(0, 300))],
      [1, () => rng.bytes(rng.int(300, 70_000))],
      [2, () => Buffer.from(rng.text(60), 'utf8')],
      [1, () => Buffer.alloc(0)],
      [1, () => DELIM],
      [1, () => J(rng.json(3))],
    ])(),
  );
  return { kind: 'random-frames', channel, frames, expect: 'drop' };
}

function cut(x: ProbeContext, channel: RequestChannel): Probe {
  const { rng, client } = x;
  const b = benign(x, channel);
  const full = client.signed(b.json);
  const variant = rng.int(0, 3);
  let frames: Buffer[];
  if (variant === 0) frames = full.slice(0, rng.int(1, 5)); // the multipart message cut short
  else if (variant === 1) {
    // One frame missing from the middle.
    const drop = rng.int(1, 5);
    frames = full.filter((_, i) => i !== drop);
  } else if (variant === 2) {
    // A JSON frame cut in the middle; the signature still the one of the whole.
    const i = rng.int(2, 5);
    frames = full.map((f, j) => (j === i ? f.subarray(0, rng.int(0, Math.max(0, f.length - 1))) : f));
  } else {
    // Cut, then re-signed: the signature is right, the JSON is not.
    const i = rng.int(0, 3);
    const json = b.json.map((f, j) => (j === i ? f.subarray(0, rng.int(0, Math.max(0, f.length - 1))) : f));
    frames = client.signed(json);
  }
  return { kind: 'cut', channel, frames, expect: 'drop', msgId: b.header.msg_id };
}

const DELIMITER_LOOKALIKES = ['<IDS|MSG', '<ids|msg>', ' <IDS|MSG>', '<IDS|MSG>\0', '<IDS|MSG>\n', '<IDS｜MSG>', 'IDS|MSG', ''].map((s) => Buffer.from(s, 'utf8'));

function delimiter(x: ProbeContext, channel: RequestChannel): Probe {
  const { rng, client } = x;
  // A correctly signed message that runs `touch` if it were accepted: framing must come first.
  const p = pwnMessage(x);
  const sig = client.sign(p.json);
  const variant = rng.int(0, 4);
  const frames =
    variant === 0
      ? [sig, ...p.json] // no delimiter at all
      : variant === 1
        ? [rng.pick(DELIMITER_LOOKALIKES), sig, ...p.json] // something that is not quite it
        : variant === 2
          ? [DELIM, DELIM, sig, ...p.json] // two delimiters: the second is taken as the signature
          : variant === 3
            ? [sig, DELIM, ...p.json] // signature before the delimiter
            : [DELIM, sig, p.json[0], DELIM, ...p.json.slice(1)]; // a delimiter among the JSON frames
  // Whatever the channel, this must not run: it is malformed.
  return { kind: 'delimiter', channel, frames, expect: 'drop', msgId: p.header.msg_id, pwn: p.path };
}

const BAD_UTF8 = [
  [0xff],
  [0xfe, 0xff],
  [0xc0, 0xaf], // overlong '/'
  [0xe0, 0x80, 0xaf], // overlong
  [0xed, 0xa0, 0x80], // UTF-16 surrogate encoded in UTF-8
  [0xe2, 0x82], // cut multibyte character
  [0xf8, 0x88, 0x80, 0x80, 0x80], // 5-byte form
  [0xf4, 0x90, 0x80, 0x80], // above U+10FFFF
  [0x80], // lone continuation byte
].map((b) => Buffer.from(b));

function badUtf8(x: ProbeContext, channel: RequestChannel): Probe {
  const { rng, client } = x;
  const b = benign(x, channel);
  const i = rng.int(0, 3);
  const text = b.json[i].toString('utf8');
  // Into a string value where there is one, else right after the opening brace.
  const at = text.indexOf('"', 1) >= 0 ? text.indexOf('"', 1) + 1 : 1;
  const bad = rng.pick(BAD_UTF8);
  const spliced = Buffer.concat([Buffer.from(text.slice(0, at), 'utf8'), bad, Buffer.from(text.slice(at), 'utf8')]);
  const json = b.json.map((f, j) => (j === i ? spliced : f));
  // Signed (so it reaches the parser) or not.
  const frames = rng.bool(0.8) ? client.signed(json) : [DELIM, rng.bytes(32), ...json];
  return { kind: 'invalid-utf8', channel, frames, expect: 'drop', msgId: b.header.msg_id };
}

const WRONG_SHAPES: string[] = ['[]', '1', 'null', '"header"', 'true', '1e999', '[{}]', '""', '-0'];
const NOT_JSON: string[] = ['', '{', '}', 'NaN', 'undefined', "{'a':1}", '{"a":1,}', '{"a":}', '{a:1}', '{"a":1}{}', '\u0000{}', '{"a":"\u0001"}'];

function shape(x: ProbeContext, channel: RequestChannel): Probe {
  const { rng, client } = x;
  const b = benign(x, channel);
  const i = rng.int(0, 3);
  const json = [...b.json];
  json[i] = Buffer.from(
    rng.weighted<() => string>([
      [4, () => rng.pick(WRONG_SHAPES)],
      [3, () => rng.pick(NOT_JSON)],
      [1, () => '['.repeat(rng.int(1000, 100_000)) + ']'.repeat(0)], // unterminated, deep
      [1, () => { const d = rng.int(1000, 100_000); return '['.repeat(d) + ']'.repeat(d); }], // deep, but an array
    ])(),
    'utf8',
  );
  return { kind: 'json-shape', channel, frames: client.signed(json), expect: 'drop', msgId: b.header.msg_id };
}

const WRONG_TYPES: unknown[] = [1, null, [], {}, true, 1.5, ['a']];

function headerFields(x: ProbeContext, channel: RequestChannel): Probe {
  const { rng, client } = x;
  const b = benign(x, channel);
  const header: Record<string, unknown> = { ...b.header };
  const field = rng.pick(['msg_id', 'msg_type', 'session', 'username', 'date', 'version', 'subshell_id']);
  const required = ['msg_id', 'msg_type', 'session'].includes(field);
  if (required && rng.bool(0.4)) delete header[field];
  else header[field] = rng.pick(field === 'subshell_id' ? WRONG_TYPES.filter((v) => v !== null) : WRONG_TYPES);
  const json = [J(header), ...b.json.slice(1)];
  return { kind: 'header-fields', channel, frames: client.signed(json), expect: 'drop', msgId: typeof header.msg_id === 'string' ? header.msg_id : undefined };
}

function badSignature(x: ProbeContext, channel: RequestChannel): Probe {
  const { rng, client } = x;
  const p = pwnMessage(x);
  const right = client.sign(p.json).toString('ascii');
  const variants: (() => Buffer)[] = [
    () => Buffer.from(hmacHex(rng.bytes(32), p.json), 'ascii'), // another key
    () => Buffer.alloc(0), // missing
    () => Buffer.from(right.toUpperCase(), 'ascii'), // same digest, other case
    () => Buffer.from(right.slice(0, -1), 'ascii'), // one character short
    () => Buffer.from(right + '0', 'ascii'), // one character long
    () => Buffer.from(right + '\n', 'ascii'),
    () => Buffer.from(' ' + right, 'ascii'),
    () => Buffer.from(right.slice(0, 32), 'ascii'), // half
    () => Buffer.from(right, 'hex'), // raw bytes, not hex
    () => Buffer.from(Buffer.from(right, 'hex').toString('base64'), 'ascii'),
    () => Buffer.from(hmacHex(client.info.key, p.json.slice(0, 3)), 'ascii'), // content not signed
    () => Buffer.from(hmacHex(client.info.key, [DELIM, ...p.json]), 'ascii'), // delimiter signed too
    () => Buffer.from(hmacHex(client.info.key, [p.json[3], p.json[0], p.json[1], p.json[2]]), 'ascii'), // frames reordered
    () => Buffer.from(hmacHex('', p.json), 'ascii'), // empty key
    () => Buffer.from(hmacHex(client.info.key.toUpperCase(), p.json), 'ascii'), // key in other case
    () => Buffer.from(right.replace(/[0-9a-f]$/, (c) => (c === '0' ? '1' : '0')), 'ascii'), // last digit changed
    () => Buffer.from('0'.repeat(64), 'ascii'),
    () => Buffer.from(right.split('').reverse().join(''), 'ascii'),
    () => rng.bytes(64),
  ];
  const sig = rng.pick(variants)();
  return { kind: 'bad-signature', channel, frames: [DELIM, sig, ...p.json], expect: 'drop', msgId: p.header.msg_id, pwn: p.path };
}

function replayChanged(x: ProbeContext, channel: RequestChannel): Probe {
  const { rng, client } = x;
  const p = pwnMessage(x);
  const variant = rng.int(0, 6);
  let frames: Buffer[];
  if (variant <= 2) {
    // A signed harmless message, its content (and maybe type) replaced by the touch.
    const type = rng.pick(['kernel_info_request', 'execute_request', 'is_complete_request']);
    const header = { ...p.header, msg_type: variant === 0 ? 'execute_request' : type };
    const harmless = [J(header), J({}), J({}), J(type === 'execute_request' ? executeContent('true') : {})];
    const sig = client.sign(harmless);
    const changed = [J({ ...header, msg_type: 'execute_request' }), harmless[1], harmless[2], p.json[3]];
    frames = [DELIM, sig, ...changed];
  } else if (variant === 3) {
    // The touch, signed, then its metadata changed.
    frames = [DELIM, client.sign(p.json), p.json[0], p.json[1], J({ changed: rng.text(10) }), p.json[3]];
  } else if (variant === 4) {
    // The touch, signed, then its parent_header changed.
    frames = [DELIM, client.sign(p.json), p.json[0], J({ msg_id: rng.text(10) }), p.json[2], p.json[3]];
  } else if (variant === 5) {
    // Same JSON values, other bytes (whitespace): the signature covers bytes, not values.
    const spaced = p.json.map((f) => Buffer.from(JSON.stringify(JSON.parse(f.toString('utf8')), null, 1), 'utf8'));
    frames = [DELIM, client.sign(p.json), ...spaced];
  } else {
    // One byte of the signed touch flipped.
    const content = Buffer.from(p.json[3]);
    const at = rng.int(0, content.length - 1);
    content[at] = content[at] ^ (1 << rng.int(0, 6));
    frames = [DELIM, client.sign(p.json), p.json[0], p.json[1], p.json[2], content];
  }
  return { kind: 'replay-changed', channel, frames, expect: 'drop', msgId: p.header.msg_id, pwn: p.path };
}

// ---- valid ----------------------------------------------------------------------------------------

/** Valid JSON values a sloppy client might send, and strings that are hostile as text. */
function oddString(x: ProbeContext): string {
  return x.rng.pick(['', ' ', 'x'.repeat(x.rng.int(0, 3000)), x.rng.text(60), '\u0000', '\ud800', '😀', '$(id)', '`id`', ';id', '<IDS|MSG>']);
}

const EXECUTE_CODES: unknown[] = [
  '',
  'true',
  ':',
  'echo fuzz',
  'false',
  '#| terminal: 2\necho t2',
  '#| terminal: 0\n:',
  '#| terminal: 99\n:',
  '#| timeout: x\n:',
  '#| timeout: -1\n:',
  '#| bogus: 1',
  '#|',
  '#| expect-output: /(/\n:',
  '#| expect-exit: 3\nfalse',
  '#| expect-output: nope\necho yes',
  "printf '\\xff\\xfe\\xc0\\n'", // invalid UTF-8 output: the kernel must still send valid JSON
  "printf '\\033]6973;0123456789abcdef;P;0;2\\007'", // a forged prompt marker with a wrong nonce
  "printf '\\033]0;title\\007\\033[31mred\\033[0m\\033[?1049h'",
  'echo $((1/0))',
  "echo 'unterminated",
  'if true; then',
  'cat <<EOF\nx',
  123,
  null,
  [],
  {},
  true,
  '\r\n\r\n',
  'echo a\\\n',
];

function validContent(x: ProbeContext, channel: RequestChannel): Probe {
  const { rng, client } = x;
  const tf = () => rng.pick<unknown>([true, false, 'true', 1, 0, null, [], {}]);
  if (channel === 'stdin') {
    const type = rng.pick(['input_reply', 'input_reply', 'execute_request', 'kernel_info_request', 'bogus']);
    const header = client.header(type);
    const content = type === 'input_reply' ? { value: rng.pick<unknown>([oddString(x), 5, null, [], {}]) } : (rng.json(2) as object);
    const c = content && typeof content === 'object' && !Array.isArray(content) ? content : {};
    return { kind: 'stdin-valid', channel, frames: client.signed(client.jsonFrames(header, c)), expect: 'silent', msgId: header.msg_id };
  }
  if (channel === 'control') {
    const type = rng.weighted<string>([
      [4, 'kernel_info_request'],
      [2, 'interrupt_request'],
      [1, 'execute_request'],
      [1, 'complete_request'],
      [1, 'comm_open'],
      [1, 'history_request'],
    ]);
    const header = client.header(type);
    const content = type === 'execute_request' ? executeContent('echo control') : { junk: rng.json(2) };
    const served = type === 'kernel_info_request' || type === 'interrupt_request';
    return { kind: 'control-valid', channel, frames: client.signed(client.jsonFrames(header, content)), expect: served ? 'reply' : 'idle', msgId: header.msg_id };
  }
  const type = rng.weighted<string>([
    [5, 'execute_request'],
    [3, 'complete_request'],
    [1, 'inspect_request'],
    [3, 'is_complete_request'],
    [3, 'history_request'],
    [2, 'kernel_info_request'],
    [2, 'comm_info_request'],
    [1, 'comm_open'],
    [1, 'comm_msg'],
    [1, 'comm_close'],
  ]);
  const header = client.header(type);
  let content: Record<string, unknown>;
  let counts = false;
  let timeoutMs: number | undefined;
  switch (type) {
    case 'execute_request': {
      const silent = rng.pick<unknown>([false, false, false, true, 'true', 1, null]);
      const store = rng.pick<unknown>([true, true, false, 'no', 0, null]);
      content = executeContent(rng.pick(EXECUTE_CODES), {
        silent,
        store_history: store,
        user_expressions: rng.pick<unknown>([{}, null, [], 'x', { a: 'b' }, { a: 1 }, { __proto__: 1 }]),
        allow_stdin: rng.pick<unknown>([false, 'true', 1, null]),
        stop_on_error: tf(),
      });
      if (rng.bool(0.15)) delete content[rng.pick(Object.keys(content))];
      // As the kernel counts: only `silent: true` is silent; only `store_history: false` opts out.
      counts = content.silent !== true && content.store_history !== false;
      timeoutMs = 30_000;
      break;
    }
    case 'complete_request':
    case 'inspect_request': {
      const code = rng.pick<unknown>(['ec', '$HO', 'ls -', 'ls /tm', 'unshare --p', '', 'echo 😀 $P', '\ud800', 'ls $(ec', 'x`ec', null, 5, [], oddString(x)]);
      const len = typeof code === 'string' ? code.length : 0;
      content = {
        code,
        cursor_pos: rng.pick<unknown>([len, 0, -1, len + 5, 1e300, -1e300, '3', null, [], 2.5, rng.int(0, len)]),
        ...(type === 'inspect_request' ? { detail_level: rng.pick<unknown>([0, 1, 2, 'x', null]) } : {}),
      };
      if (rng.bool(0.1)) content = {};
      timeoutMs = 30_000;
      break;
    }
    case 'is_complete_request':
      content = { code: rng.pick<unknown>(['if true; then', 'echo "', 'echo ok', 'cat <<EOF', '\\', 'for i in 1; do', '(((', '$(', '`', null, 3, [], oddString(x)]) };
      break;
    case 'history_request':
      content = {
        hist_access_type: rng.pick<unknown>(['tail', 'range', 'search', 'bogus', null, 5]),
        n: rng.pick<unknown>([null, -1, 'x', 1e9, 0, 3, 1.5, [], '2']),
        // Few stars: the backtracking blow-up of `*a*a*a*…` has its own test (findings).
        pattern: rng.pick<unknown>(['*', '?', null, 5, '[', '(', '\\', '*fuzz*', 'echo*', '$', '^', rng.text(10).replace(/[*?]/g, '')]),
        output: tf(),
        raw: tf(),
        unique: tf(),
        session: rng.pick<unknown>([0, -1, 'x', null]),
        start: rng.pick<unknown>([0, -5, 'x', null]),
        stop: rng.pick<unknown>([0, 1e9, null]),
      };
      break;
    default:
      content = rng.bool(0.5) ? {} : ({ target_name: rng.pick<unknown>([null, 5, 'x', []]), junk: rng.json(2) } as Record<string, unknown>);
  }
  const served = !type.startsWith('comm_') || type === 'comm_info_request';
  return { kind: `shell-${type}`, channel, frames: client.signed(client.jsonFrames(header, content)), expect: served ? 'reply' : 'idle', msgId: header.msg_id, counts, timeoutMs };
}

const UNKNOWN_TYPES = ['bogus_request', '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'execute_reply', 'status', 'stream', 'input_request', 'shutdown_reply', '', 'x'.repeat(10_000), 'debug_request', 'create_subshell_request', 'usage_request'];

function unknownType(x: ProbeContext, channel: RequestChannel): Probe {
  const { rng, client } = x;
  // shutdown_request on shell and interrupt_request on shell have no handler there: ignored.
  const extra = channel === 'shell' ? ['shutdown_request', 'interrupt_request'] : [];
  const type = rng.pick([...UNKNOWN_TYPES, ...extra]);
  const header = client.header(type);
  const frames = client.signed(client.jsonFrames(header, rng.bool(0.5) ? {} : { restart: true, code: 'touch /dev/null' }));
  return { kind: 'unknown-type', channel, frames, expect: channel === 'stdin' ? 'silent' : 'idle', msgId: header.msg_id };
}

function escapes(x: ProbeContext, channel: RequestChannel): Probe {
  const { rng, client } = x;
  // Valid JSON with every awkward string: NUL, lone surrogates, U+2028, RTL override, BOM…
  const header = client.header(channel === 'stdin' ? 'input_reply' : 'kernel_info_request', {
    username: rng.text(40),
    [rng.text(5)]: rng.json(2),
    ...(rng.bool(0.3) ? { subshell_id: null } : {}),
    ...(rng.bool(0.2) ? { subshell_id: rng.text(5) } : {}),
  });
  const frames = client.signed(client.jsonFrames(header, { value: rng.text(30) }, rng.bool(0.5) ? {} : { msg_id: rng.text(10) }, { [rng.text(5)]: rng.json(2) }));
  return { kind: 'odd-strings', channel, frames, expect: channel === 'stdin' ? 'silent' : 'reply', msgId: header.msg_id };
}

function identities(x: ProbeContext, channel: RequestChannel): Probe {
  const { rng, client } = x;
  const b = benign(x, channel);
  const ids = Array.from({ length: rng.int(1, 5) }, () => rng.pick([Buffer.alloc(0), rng.bytes(rng.int(1, 255)), Buffer.from('kernel'), Buffer.from(client.session)]));
  return { kind: 'extra-identities', channel, frames: [...ids, ...client.signed(b.json)], expect: channel === 'stdin' ? 'silent' : 'reply', msgId: b.header.msg_id };
}

function buffers(x: ProbeContext, channel: RequestChannel): Probe {
  const { rng, client } = x;
  const b = benign(x, channel);
  // Extra frames after content are binary buffers: not signed, not parsed.
  const bufs = Array.from({ length: rng.int(1, 20) }, () => rng.pick([Buffer.alloc(0), rng.bytes(rng.int(1, 2000)), DELIM]));
  return { kind: 'buffers', channel, frames: client.signed(b.json, bufs), expect: channel === 'stdin' ? 'silent' : 'reply', msgId: b.header.msg_id };
}

function wrongChannel(x: ProbeContext, channel: RequestChannel): Probe {
  // A correctly signed execute_request where nothing executes: control and stdin.
  const p = pwnMessage(x);
  const ch: RequestChannel = channel === 'shell' ? 'control' : channel;
  return { kind: 'execute-wrong-channel', channel: ch, frames: x.client.signed(p.json), expect: ch === 'control' ? 'idle' : 'silent', msgId: p.header.msg_id, pwn: p.path };
}

type Generator = (x: ProbeContext, channel: RequestChannel) => Probe;

export const GENERATORS: readonly (readonly [number, Generator])[] = [
  [8, randomFrames],
  [6, cut],
  [5, delimiter],
  [6, badUtf8],
  [7, shape],
  [7, headerFields],
  [10, badSignature],
  [8, replayChanged],
  [14, validContent],
  [4, unknownType],
  [4, escapes],
  [3, identities],
  [3, buffers],
  [3, wrongChannel],
];

export function nextProbe(x: ProbeContext, channel: RequestChannel): Probe {
  return x.rng.weighted(GENERATORS)(x, channel);
}

/** A handful of huge messages, each tried once. */
export function hugeProbes(x: ProbeContext): Probe[] {
  const { client } = x;
  const MB = 1024 * 1024;
  const probes: Probe[] = [];
  const ten = 'x'.repeat(10 * MB);
  {
    const h = client.header('kernel_info_request');
    probes.push({ kind: 'huge-content-10MB', channel: 'shell', frames: client.signed(client.jsonFrames(h, { pad: ten })), expect: 'reply', msgId: h.msg_id, timeoutMs: 30_000 });
  }
  {
    const h = client.header('kernel_info_request', { pad: ten });
    // The header comes back as parent_header of busy, reply and idle: 30 MB out.
    probes.push({ kind: 'huge-header-10MB', channel: 'control', frames: client.signed(client.jsonFrames(h, {})), expect: 'reply', msgId: h.msg_id, timeoutMs: 30_000 });
  }
  {
    const h = client.header('complete_request');
    const code = 'echo '.repeat(2 * MB) + 'ec';
    probes.push({ kind: 'huge-complete-10MB', channel: 'shell', frames: client.signed(client.jsonFrames(h, { code, cursor_pos: code.length })), expect: 'reply', msgId: h.msg_id, timeoutMs: 30_000 });
  }
  {
    const h = client.header('is_complete_request');
    probes.push({ kind: 'huge-is-complete-1MB', channel: 'shell', frames: client.signed(client.jsonFrames(h, { code: 'echo hi\n'.repeat(MB / 8) })), expect: 'reply', msgId: h.msg_id, timeoutMs: 30_000 });
  }
  for (const ch of ['shell', 'control', 'stdin'] as const) {
    // 10 MB of code that would create a file, with a wrong signature.
    const path = x.pwnPath();
    const h = client.header('execute_request');
    const json = client.jsonFrames(h, executeContent(`touch ${path}\n` + '#'.repeat(10 * MB)));
    probes.push({ kind: 'huge-bad-signature-10MB', channel: ch, frames: [DELIM, x.rng.bytes(64), ...json], expect: 'drop', msgId: h.msg_id, pwn: path, timeoutMs: 30_000 });
  }
  {
    const h = client.header('kernel_info_request');
    probes.push({ kind: 'huge-buffers-10MB', channel: 'shell', frames: client.signed(client.jsonFrames(h, {}), [Buffer.alloc(10 * MB, 1), ...Array.from({ length: 10_000 }, () => Buffer.alloc(0))]), expect: 'reply', msgId: h.msg_id, timeoutMs: 30_000 });
  }
  {
    // Above the kernel's 64 MB limit: dropped, correctly signed or not.
    const h = client.header('kernel_info_request');
    probes.push({ kind: 'huge-over-limit-70MB', channel: 'shell', frames: client.signed(client.jsonFrames(h, { pad: 'y'.repeat(70 * MB) })), expect: 'drop', msgId: h.msg_id, timeoutMs: 30_000, ownSocket: true });
  }
  probes.push({ kind: 'huge-random-frames', channel: 'stdin', frames: [x.rng.bytes(MB), Buffer.alloc(10 * MB, 0xff), DELIM, Buffer.alloc(5 * MB)], expect: 'drop', timeoutMs: 30_000 });
  return probes;
}
