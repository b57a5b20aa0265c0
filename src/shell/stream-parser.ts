/**
 * The PTY stream parser: raw bytes from bash's terminal in, clean output and shell events out.
 *
 * bash (and any program it runs) writes a terminal byte stream: text, CR/LF, escape sequences for
 * colours, cursor moves and window titles, and nslab's own prompt markers (see markers.ts). The
 * parser keeps what a notebook can render (text, LF, lone CR, SGR colours), drops the rest, and
 * turns the markers into `prompt` / `continuation` events, in stream order.
 *
 * It is a pure, synchronous state machine in the style of xterm.js' EscapeSequenceParser /
 * OscParser: no timers, no I/O, all state in the instance. Every decision that depends on the next
 * character (a CR that may be half of CRLF, a \x01 that may precede a marker, a UTF-8 character cut
 * in half) is carried across `push` calls, so any chunking of the same bytes gives the same output
 * text and the same events.
 *
 * States (ESC = \x1b, ST = ESC \):
 *
 *   Ground ──ESC──▶ Escape ──[──▶ Csi ───final 0x40–0x7E──▶ Ground   (SGR `m` kept, others dropped)
 *                     │  └──]──▶ OscString ──BEL──────────▶ Ground   (marker → event, others dropped)
 *                     │              └──ESC──▶ OscStringEscape ──\──▶ Ground
 *                     ├─P X ^ _─▶ IgnoredString ──ESC──▶ IgnoredStringEscape ──\──▶ Ground
 *                     ├─0x20–0x2F─▶ EscapeIntermediate ──0x30–0x7E──▶ Ground   (e.g. ESC ( B)
 *                     └─0x30–0x7E──────────────────────────────────▶ Ground   (e.g. ESC =, ESC 7)
 *
 * Like a VT500, CAN (0x18) and SUB (0x1a) cancel any sequence, and an ESC inside a sequence
 * abandons it and starts a new one; that ESC is also what rescues us from a program that prints an
 * unterminated `ESC ]`: the next marker's own ESC starts a fresh, recognisable OSC.
 */
import { displayPrefix, parseMarkerPayload } from './markers.js';
import type { ParserEvent } from './types.js';

/**
 * Longest OSC payload that is buffered, in UTF-16 code units (xterm.js uses the same PAYLOAD_LIMIT).
 * A longer OSC is swallowed up to its terminator without being stored, and produces nothing.
 * Markers are far shorter (≈ 40 characters).
 */
export const OSC_PAYLOAD_LIMIT = 4096;

/**
 * Longest payload of our display marker (`6973;<nonce>;D;<base64>`), in characters: a picture of
 * a few hundred processes is well below 1 MB. Past it the display is refused with a notice.
 */
export const DISPLAY_PAYLOAD_LIMIT = 8 * 1024 * 1024;

/**
 * Longest CSI parameter/intermediate string that is buffered. Real SGR sequences stay well below;
 * a longer CSI is swallowed up to its final byte and dropped, even if it is an SGR.
 */
export const CSI_LENGTH_LIMIT = 256;

const NUL = '\x00';
const SOH = '\x01';
const STX = '\x02';
const BEL = '\x07';
const LF = '\n';
const CR = '\r';
const CAN = '\x18';
const SUB = '\x1a';
const ESC = '\x1b';

/** "Bracketed paste off" (parameters + final), the start of readline's deprep epilogue. */
const BRACKETED_PASTE_OFF = '?2004l';

/** An SGR body: only digits and `;`/`:` separators (`ESC [ > 4 ; 2 m` is XTMODKEYS, not a colour). */
const SGR_PARAMETERS = /^[0-9;:]*$/;

const enum State {
  /** Plain text. */
  Ground,
  /** After ESC: the next character says which kind of sequence this is. */
  Escape,
  /** After ESC and one or more intermediates (0x20–0x2F), e.g. `ESC (`: waiting for the final. */
  EscapeIntermediate,
  /** After `ESC [`: parameters and intermediates until a final character 0x40–0x7E. */
  Csi,
  /** After `ESC ]`: the payload, until BEL or ST. */
  OscString,
  /** An ESC inside an OSC payload: `\` completes ST, anything else abandons the OSC. */
  OscStringEscape,
  /** Inside DCS, SOS, PM or APC (`ESC P`, `ESC X`, `ESC ^`, `ESC _`): swallowed up to ST. */
  IgnoredString,
  /** An ESC inside an ignored string: `\` completes ST, anything else starts a new sequence. */
  IgnoredStringEscape,
}

/**
 * Characters that belong to a sequence we just dropped and are dropped with it if they come next.
 */
const enum Companion {
  None,
  /** `\x02` after an OSC terminator: the end of dash's verbatim `\x01 … \x02` around a marker. */
  Stx,
  /** The `\r` of readline's `ESC [ ? 2004 l \r` (BRACK_PASTE_FINI). */
  PasteOffReturn,
  /** The line break readline writes after BRACK_PASTE_FINI when the tty does not echo. */
  PasteOffLineBreak,
}

/** What a state handler did with the character it was given. */
const enum Step {
  /** The character was consumed. */
  Consumed,
  /** The handler changed state without consuming it: feed the same character again. */
  Reprocess,
}

/**
 * Parses the byte stream of a shell running in a PTY into {@link ParserEvent}s.
 *
 * Output rules (what ends up in `output` events):
 * - UTF-8 is decoded incrementally; invalid bytes become U+FFFD. A BOM is kept as text.
 * - `\r\n`, and any run of `\r` followed by `\n`, becomes `\n`; a lone `\r` (progress bars) stays.
 * - SGR sequences (`ESC [ … m`, colours) stay verbatim; every other escape sequence is dropped,
 *   as are BEL and NUL outside sequences. Other control characters (\t, \b, …) stay.
 * - `\x01` right before `ESC ]` and `\x02` right after an OSC terminator are dropped: dash prints
 *   the readline "invisible" brackets of our PS1 verbatim. Elsewhere they stay.
 * - readline's epilogue to "bracketed paste off" is dropped with it: when Enter is pressed it
 *   writes `ESC [ ? 2004 l \r` and, if the tty does not echo (always, under nslab) a `\n` that
 *   stands in for the unechoed line's end (readline ≥ 8.1, `rl_deprep_terminal`), which the tty
 *   turns into `\r\n`. So `ESC[?2004l` + `\r` + one line break (`\n`, `\r…\r\n`) goes. Kept, they
 *   would put "\r\n" before every command's output whenever bracketed paste is on (e.g. after
 *   `su -`, which loses INPUTRC). The price: with echo *on*, a program output that starts with
 *   a blank line loses it; but then the output is already cluttered by the echoed command.
 *
 * Marker rules (see markers.ts for the format):
 * - `OSC 6973;<nonce>;P;<status>;<pid>` → `{kind:'prompt', exitCode, shellPid}`.
 *   The status must be a decimal integer, otherwise the marker is dropped silently: that is what
 *   a program printing the *unexpanded* PS1 template (`env`, `printf %s "$PS1"`) looks like, and it must
 *   not end a command. So this parser never emits `exitCode: null`. A non-decimal pid gives
 *   `shellPid: null`; the status alone is what ends a command.
 * - `OSC 6973;<nonce>;C` → `{kind:'continuation'}`. `C;<pid>` is accepted too and `C;<anything
 *   else>` dropped, by the same reasoning as for `P`: a PS2 of `C;$$` would keep programs that print
 *   the environment (`env` shows PS2 verbatim, nonce included) from faking a continuation.
 * - `OSC 6973;<nonce>;D;<base64 JSON>` → `{kind:'display', bundle}` when the JSON is a mime bundle
 *   (`data`: mime type → string, optional `metadata` object), else `{kind:'display-invalid',
 *   reason}`; it may be up to {@link DISPLAY_PAYLOAD_LIMIT} long (other OSCs: 4096).
 * - Any other OSC, including ours with another nonce or a malformed body, is dropped without an
 *   event: notebooks cannot render OSC, and only the shell knows the nonce.
 *
 * Output between two events is merged into a single `output` event per `push`; consumers that
 * want one event per run across chunks can merge adjacent `output` events.
 */
export class StreamParser {
  private readonly nonce: string;
  private decoder = StreamParser.newDecoder();
  private state = State.Ground;

  /** Events completed during the current push/end call, in stream order. */
  private events: ParserEvent[] = [];
  /** Output text not yet wrapped in an `output` event. */
  private output = '';

  /** `\r`s seen but not yet written: a following `\n` swallows them, anything else releases them. */
  private heldCarriageReturns = 0;
  /** A `\x01` that is dropped if `ESC ]` follows and written as text otherwise. */
  private heldSoh = false;
  /** What may follow a sequence we just dropped, and is then dropped too. */
  private companion = Companion.None;

  /** Parameters and intermediates of the current CSI (without `ESC [` and final). */
  private csiBody = '';
  private csiOverflowed = false;
  /** Payload of the current OSC (without `ESC ]` and terminator). */
  private oscPayload = '';
  private oscOverflowed = false;
  /** How long the current OSC may grow: raised for our display marker once its prefix is seen. */
  private oscLimit = OSC_PAYLOAD_LIMIT;
  /** `6973;<nonce>;D;`: the start of a display marker's payload. */
  private readonly displayPrefix: string;

  /**
   * @param nonce the per-kernel secret in our markers (see `newNonce()` in markers.ts). Markers
   *   carrying any other nonce are treated as foreign OSC sequences and produce no event.
   */
  constructor(nonce: string) {
    if (nonce === '' || /[;\x00-\x1f\x7f]/.test(nonce)) {
      throw new RangeError(`StreamParser: the nonce must be non-empty, without ';' or control characters`);
    }
    this.nonce = nonce;
    this.displayPrefix = `${displayPrefix(nonce)};`;
  }

  /**
   * Feeds the next chunk of PTY bytes. Returns the events completed by it, in stream order.
   * Never throws; input that ends in the middle of a character, CRLF or escape sequence is kept
   * until the next call.
   */
  push(chunk: Uint8Array): ParserEvent[] {
    this.consume(this.decoder.decode(chunk, { stream: true }));
    return this.takeEvents();
  }

  /**
   * Signals the end of the stream (the PTY closed). Flushes what is held: a partial UTF-8 character
   * becomes U+FFFD, held `\r` and `\x01` are written as text, and an unterminated escape sequence
   * is dropped. The parser is then back in its initial state and may be fed a new stream.
   */
  end(): ParserEvent[] {
    this.consume(this.decoder.decode());
    this.abandonSequence();
    this.releaseHeldSoh();
    this.releaseHeldCarriageReturns();
    this.companion = Companion.None;
    this.decoder = StreamParser.newDecoder();
    return this.takeEvents();
  }

  private static newDecoder(): TextDecoder {
    // fatal: false → U+FFFD instead of exceptions; ignoreBOM → a leading U+FEFF is program output.
    return new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
  }

  // ───────────────────────────── the state machine ─────────────────────────────

  private consume(text: string): void {
    let index = 0;
    while (index < text.length) {
      const char = text[index];
      if (this.dropsAsCompanion(char)) {
        index++;
      } else if (this.state === State.Ground) {
        index += this.consumeGround(text, index);
      } else if (this.state === State.OscString && text.charCodeAt(index) >= 0x20) {
        index += this.consumeOscRun(text, index);
      } else if (this.handleSequenceChar(char) === Step.Consumed) {
        index++;
      }
    }
  }

  /**
   * Whether `char` is the expected companion of the sequence just dropped (and so is dropped too).
   * Companions must follow immediately: any other character ends the expectation. Companions are
   * only ever expected in Ground, since the sequence that announces them returns to Ground.
   */
  private dropsAsCompanion(char: string): boolean {
    const companion = this.companion;
    this.companion = Companion.None;
    switch (companion) {
      case Companion.None:
        return false;
      case Companion.Stx:
        return char === STX;
      case Companion.PasteOffReturn:
        if (char !== CR) return false;
        this.companion = Companion.PasteOffLineBreak;
        return true;
      case Companion.PasteOffLineBreak:
        if (char === CR) {
          // Held by consumeGround like any CR (the tty's onlcr wrote it): if LF follows, the whole
          // CR…CR LF line break is dropped; otherwise the CRs are released as usual.
          this.companion = Companion.PasteOffLineBreak;
          return false;
        }
        if (char !== LF) return false;
        this.heldCarriageReturns = 0;
        return true;
    }
  }

  /** Handles text starting at `start` in Ground. Returns how many code units it consumed. */
  private consumeGround(text: string, start: number): number {
    const char = text[start];
    if (this.heldSoh && char !== ESC) this.releaseHeldSoh();
    switch (char) {
      case CR:
        this.heldCarriageReturns++;
        return 1;
      case LF:
        this.heldCarriageReturns = 0; // CR…CR LF → LF
        this.output += LF;
        return 1;
      case BEL:
      case NUL:
        return 1; // terminal noise; transparent for a held CR
      case SOH:
        this.heldSoh = true;
        return 1;
      case ESC:
        this.state = State.Escape;
        return 1;
    }
    // A run of ordinary characters (the common case) is appended in one go.
    let end = start + 1;
    while (end < text.length && !isGroundControl(text.charCodeAt(end))) end++;
    this.appendText(text.slice(start, end));
    return end - start;
  }

  private handleSequenceChar(char: string): Step {
    if (char === CAN || char === SUB) {
      this.abandonSequence(); // VT500: CAN and SUB cancel any sequence
      return Step.Consumed;
    }
    switch (this.state) {
      case State.Escape:
        return this.handleEscape(char);
      case State.EscapeIntermediate:
        return this.handleEscapeIntermediate(char);
      case State.Csi:
        return this.handleCsi(char);
      case State.OscString:
        return this.handleOscString(char);
      case State.OscStringEscape:
        return this.handleOscStringEscape(char);
      case State.IgnoredString:
        if (char === ESC) this.state = State.IgnoredStringEscape;
        return Step.Consumed;
      case State.IgnoredStringEscape:
        return this.handleStringTerminator(char, () => {});
      case State.Ground:
        return Step.Reprocess; // consume() sends Ground to consumeGround; hand the character there
    }
  }

  private handleEscape(char: string): Step {
    if (this.heldSoh) {
      if (char === ']') this.heldSoh = false; // the \x01 bracketed an OSC: drop it
      else this.releaseHeldSoh();
    }
    switch (char) {
      case '[':
        this.state = State.Csi;
        this.csiBody = '';
        this.csiOverflowed = false;
        return Step.Consumed;
      case ']':
        this.state = State.OscString;
        this.oscPayload = '';
        this.oscOverflowed = false;
        this.oscLimit = OSC_PAYLOAD_LIMIT;
        return Step.Consumed;
      case 'P': // DCS
      case 'X': // SOS
      case '^': // PM
      case '_': // APC
        this.state = State.IgnoredString;
        return Step.Consumed;
      case ESC:
        return Step.Consumed; // ESC ESC: the second one starts the sequence
    }
    const code = char.charCodeAt(0);
    if (isIntermediate(code)) {
      this.state = State.EscapeIntermediate; // ESC ( B, ESC # 8, …
      return Step.Consumed;
    }
    if (isEscapeFinal(code)) {
      this.state = State.Ground; // ESC =, ESC >, ESC 7, ESC c, a stray ESC \ …: dropped
      return Step.Consumed;
    }
    return this.abandonAndReprocess(); // not an escape sequence after all
  }

  private handleEscapeIntermediate(char: string): Step {
    const code = char.charCodeAt(0);
    if (isIntermediate(code)) return Step.Consumed;
    if (isEscapeFinal(code)) {
      this.state = State.Ground;
      return Step.Consumed;
    }
    return this.abandonAndReprocess();
  }

  private handleCsi(char: string): Step {
    const code = char.charCodeAt(0);
    if (isCsiFinal(code)) {
      this.finishCsi(char);
      return Step.Consumed;
    }
    if (isCsiParameter(code) || isIntermediate(code)) {
      if (this.csiBody.length >= CSI_LENGTH_LIMIT) this.csiOverflowed = true;
      if (!this.csiOverflowed) this.csiBody += char;
      return Step.Consumed;
    }
    // VT500 would execute a C0 control here and carry on; programs do not rely on that, and
    // abandoning keeps the machine simple. Either way no part of the sequence is lost silently:
    // the character is handled as ordinary input.
    return this.abandonAndReprocess();
  }

  private finishCsi(final: string): void {
    this.state = State.Ground;
    if (this.csiOverflowed) return;
    if (final === 'm' && SGR_PARAMETERS.test(this.csiBody)) {
      this.appendText(`${ESC}[${this.csiBody}m`);
    } else if (this.csiBody + final === BRACKETED_PASTE_OFF) {
      this.companion = Companion.PasteOffReturn;
    }
  }

  private handleOscString(char: string): Step {
    if (char === BEL) {
      this.finishOsc();
      return Step.Consumed;
    }
    if (char === ESC) {
      this.state = State.OscStringEscape;
      return Step.Consumed;
    }
    if (char.charCodeAt(0) < 0x20) return Step.Consumed; // xterm ignores C0 inside OSC strings
    if (!this.oscOverflowed && this.oscPayload.length >= this.oscLimit) {
      if (this.oscLimit === OSC_PAYLOAD_LIMIT && this.oscPayload.startsWith(this.displayPrefix)) {
        this.oscLimit = DISPLAY_PAYLOAD_LIMIT;
      } else {
        this.oscOverflowed = true;
        // Stop buffering; the rest is swallowed up to the terminator. A display keeps its prefix,
        // so that its end can say why nothing was shown.
        this.oscPayload = this.oscLimit === DISPLAY_PAYLOAD_LIMIT ? this.displayPrefix : '';
      }
    }
    if (!this.oscOverflowed) this.oscPayload += char;
    return Step.Consumed;
  }

  /**
   * A run of payload characters (none below 0x20: BEL, ESC and the C0 controls xterm ignores go
   * through {@link handleOscString}), appended at once: a display's payload can be megabytes.
   */
  private consumeOscRun(text: string, start: number): number {
    let end = start;
    while (end < text.length && text.charCodeAt(end) >= 0x20) end++;
    if (this.oscOverflowed) return end - start;
    // Within the current limit: one append. At the limit, one character at a time decides.
    const room = this.oscLimit - this.oscPayload.length;
    if (room <= 0) {
      this.handleOscString(text[start]);
      return 1;
    }
    const take = Math.min(room, end - start);
    this.oscPayload += text.slice(start, start + take);
    return take;
  }

  private handleOscStringEscape(char: string): Step {
    return this.handleStringTerminator(char, () => this.finishOsc());
  }

  /** After an ESC inside a string: `\` completes ST, anything else starts a new escape sequence. */
  private handleStringTerminator(char: string, onTerminated: () => void): Step {
    if (char === '\\') {
      this.state = State.Ground;
      onTerminated();
      return Step.Consumed;
    }
    // The ESC was not part of ST: the string is abandoned and that ESC starts a new sequence.
    this.abandonSequence();
    this.state = State.Escape;
    return Step.Reprocess;
  }

  private finishOsc(): void {
    this.state = State.Ground;
    this.companion = Companion.Stx;
    const payload = this.oscPayload;
    this.oscPayload = '';
    if (this.oscOverflowed) {
      if (payload === this.displayPrefix) {
        this.emitEvent({ kind: 'display-invalid', reason: `larger than ${DISPLAY_PAYLOAD_LIMIT / 1024 / 1024} MiB` });
      }
      return;
    }
    const marker = parseMarkerPayload(payload, this.nonce);
    if (marker !== null) this.emitEvent(marker);
  }

  // ───────────────────────────── helpers ─────────────────────────────

  /** Drops the sequence being parsed and returns to Ground. */
  private abandonSequence(): void {
    this.state = State.Ground;
    this.csiBody = '';
    this.oscPayload = '';
  }

  /** Drops the sequence being parsed; the current character is then handled in Ground. */
  private abandonAndReprocess(): Step {
    this.abandonSequence();
    return Step.Reprocess;
  }

  private appendText(text: string): void {
    this.releaseHeldCarriageReturns();
    this.output += text;
  }

  private releaseHeldCarriageReturns(): void {
    if (this.heldCarriageReturns > 0) {
      this.output += CR.repeat(this.heldCarriageReturns);
      this.heldCarriageReturns = 0;
    }
  }

  private releaseHeldSoh(): void {
    if (this.heldSoh) {
      this.heldSoh = false;
      this.appendText(SOH);
    }
  }

  private emitEvent(event: ParserEvent): void {
    this.releaseHeldCarriageReturns(); // a CR before a marker is not followed by LF: it stays
    this.flushOutput();
    this.events.push(event);
  }

  private flushOutput(): void {
    if (this.output !== '') {
      this.events.push({ kind: 'output', text: this.output });
      this.output = '';
    }
  }

  private takeEvents(): ParserEvent[] {
    this.flushOutput();
    const events = this.events;
    this.events = [];
    return events;
  }
}

/** Characters with a meaning of their own in Ground; everything else is copied in runs. */
function isGroundControl(code: number): boolean {
  return code === 0x0d || code === 0x0a || code === 0x1b || code === 0x07 || code === 0x00 || code === 0x01;
}

/** Intermediate bytes of ESC and CSI sequences: space ! " # $ % & ' ( ) * + , - . / */
function isIntermediate(code: number): boolean {
  return code >= 0x20 && code <= 0x2f;
}

/** Final bytes of two- and three-character escape sequences. */
function isEscapeFinal(code: number): boolean {
  return code >= 0x30 && code <= 0x7e;
}

/** CSI parameter bytes: digits ; : < = > ? */
function isCsiParameter(code: number): boolean {
  return code >= 0x30 && code <= 0x3f;
}

/** CSI final bytes: @ A–Z [ \ ] ^ _ ` a–z { | } ~ */
function isCsiFinal(code: number): boolean {
  return code >= 0x40 && code <= 0x7e;
}
