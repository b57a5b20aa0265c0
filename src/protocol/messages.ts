/**
 * Jupyter messages as data.
 *
 * One table (`ContentMap`) maps every msg_type nslab sends or receives to the type of its
 * content; `REPLY_OF`, the same keys at run time, maps each request to its reply. Handlers never
 * spell a msg_type: they build messages with `childOf(parent)`, whose `reply` takes the content
 * of the parent's reply type as the table says.
 *
 * Spec: https://jupyter-client.readthedocs.io/en/stable/messaging.html (protocol 5.5: 5.3 plus
 * kernel subshells, JEP 91, https://jupyter.org/enhancement-proposals/91-kernel-subshells/kernel-subshells.html)
 */
import { v4 as uuidv4 } from 'uuid';

export const PROTOCOL_VERSION = '5.5';

/** The header of every message (spec: "General Message Format"). */
export interface Header {
  msg_id: string;
  session: string;
  username: string;
  /** ISO 8601 with timezone. */
  date: string;
  msg_type: string;
  version: string;
  /** Which subshell a shell request is for (protocol 5.5); absent or null: the main shell. */
  subshell_id?: string | null;
}

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export interface ExecuteRequest {
  code: string;
  silent: boolean;
  store_history: boolean;
  user_expressions: { [name: string]: string };
  allow_stdin: boolean;
  stop_on_error: boolean;
}
export type ReplyStatus = 'ok' | 'error' | 'aborted';
export interface ErrorFields {
  ename: string;
  evalue: string;
  traceback: string[];
}
/** Any reply may say that its request failed (spec: "Request-Reply"). */
export type ErrorReply = { status: 'error' } & ErrorFields;
export type ExecuteReply =
  | { status: 'ok'; execution_count: number; user_expressions: JsonObject; payload: JsonObject[] }
  | ({ status: 'error'; execution_count: number; user_expressions?: JsonObject } & ErrorFields)
  | { status: 'aborted'; execution_count?: number };
export interface InspectRequest { code: string; cursor_pos: number; detail_level: 0 | 1 }
export interface InspectReply { status: 'ok'; found: boolean; data: JsonObject; metadata: JsonObject }
export interface CompleteRequest { code: string; cursor_pos: number }
export interface CompleteReply {
  status: 'ok';
  matches: string[];
  cursor_start: number;
  cursor_end: number;
  metadata: JsonObject;
}
export interface HistoryRequest {
  output: boolean;
  raw: boolean;
  hist_access_type: 'range' | 'tail' | 'search';
  session?: number;
  start?: number;
  stop?: number;
  n?: number;
  pattern?: string;
  unique?: boolean;
}
export interface HistoryReply { status: 'ok'; history: [number, number, string][] }
export interface IsCompleteRequest { code: string }
export type IsCompleteReply =
  | { status: 'complete' | 'invalid' | 'unknown' }
  | { status: 'incomplete'; indent: string };
export interface LanguageInfo {
  name: string;
  version: string;
  mimetype: string;
  file_extension: string;
  pygments_lexer: string;
  codemirror_mode: string | JsonObject;
}
export interface KernelInfoReply {
  status: 'ok';
  protocol_version: string;
  implementation: string;
  implementation_version: string;
  language_info: LanguageInfo;
  banner: string;
  help_links: { text: string; url: string }[];
  debugger: boolean;
  supported_features: string[];
}
export interface CommInfoRequest { target_name?: string }
export interface CommInfoReply { status: 'ok'; comms: { [commId: string]: { target_name: string } } }
export interface ShutdownRequest { restart: boolean }
export interface ShutdownReply { status: 'ok'; restart: boolean }
export type InterruptReply = { status: 'ok' } | ErrorReply;
// Kernel subshells (JEP 91), on the control channel.
export type CreateSubshellReply = { status: 'ok'; subshell_id: string } | ErrorReply;
export interface DeleteSubshellRequest { subshell_id: string }
export type DeleteSubshellReply = { status: 'ok' } | ErrorReply;
/**
 * The main shell is not listed (JEP 91). `terminals` is nslab's own addition (clients ignore
 * fields they do not know): the lab terminal of each subshell that has one (from its first cell).
 */
export type ListSubshellReply = { status: 'ok'; subshell_id: string[]; terminals: { [subshellId: string]: number } } | ErrorReply;
export interface Stream { name: 'stdout' | 'stderr'; text: string }
export interface DisplayData { data: JsonObject; metadata: JsonObject; transient?: JsonObject }
export interface ExecuteInput { code: string; execution_count: number }
export interface ExecuteResult extends DisplayData { execution_count: number }
export type ExecutionState = 'starting' | 'busy' | 'idle';
export interface Status { execution_state: ExecutionState }
export interface InputRequest { prompt: string; password: boolean }
export interface InputReply { value: string }
export type Empty = Record<string, never>;

/** Every message type nslab knows, with its content. The single msg_type ↔ content mapping. */
export interface ContentMap {
  // shell channel
  execute_request: ExecuteRequest;
  execute_reply: ExecuteReply;
  inspect_request: InspectRequest;
  inspect_reply: InspectReply;
  complete_request: CompleteRequest;
  complete_reply: CompleteReply;
  history_request: HistoryRequest;
  history_reply: HistoryReply;
  is_complete_request: IsCompleteRequest;
  is_complete_reply: IsCompleteReply;
  kernel_info_request: Empty;
  kernel_info_reply: KernelInfoReply;
  comm_info_request: CommInfoRequest;
  comm_info_reply: CommInfoReply;
  // control channel (kernel_info is also served there)
  shutdown_request: ShutdownRequest;
  shutdown_reply: ShutdownReply;
  interrupt_request: Empty;
  interrupt_reply: InterruptReply;
  create_subshell_request: Empty;
  create_subshell_reply: CreateSubshellReply;
  delete_subshell_request: DeleteSubshellRequest;
  delete_subshell_reply: DeleteSubshellReply;
  list_subshell_request: Empty;
  list_subshell_reply: ListSubshellReply;
  // iopub
  stream: Stream;
  display_data: DisplayData;
  update_display_data: DisplayData;
  execute_input: ExecuteInput;
  execute_result: ExecuteResult;
  error: ErrorFields;
  status: Status;
  clear_output: { wait: boolean };
  // stdin
  input_request: InputRequest;
  input_reply: InputReply;
  // comms: nslab has no comm targets; messages are accepted and ignored (spec: "Custom Messages")
  comm_open: JsonObject;
  comm_msg: JsonObject;
  comm_close: JsonObject;
}
export type MsgType = keyof ContentMap;

/**
 * The same table at run time, keyed by every msg_type of `ContentMap` (the compiler checks that
 * the keys are exactly its keys): a request's reply type, or null for a message that has no
 * reply. Anything with a reply is a request.
 */
export const REPLY_OF = {
  execute_request: 'execute_reply',
  execute_reply: null,
  inspect_request: 'inspect_reply',
  inspect_reply: null,
  complete_request: 'complete_reply',
  complete_reply: null,
  history_request: 'history_reply',
  history_reply: null,
  is_complete_request: 'is_complete_reply',
  is_complete_reply: null,
  kernel_info_request: 'kernel_info_reply',
  kernel_info_reply: null,
  comm_info_request: 'comm_info_reply',
  comm_info_reply: null,
  shutdown_request: 'shutdown_reply',
  shutdown_reply: null,
  interrupt_request: 'interrupt_reply',
  interrupt_reply: null,
  create_subshell_request: 'create_subshell_reply',
  create_subshell_reply: null,
  delete_subshell_request: 'delete_subshell_reply',
  delete_subshell_reply: null,
  list_subshell_request: 'list_subshell_reply',
  list_subshell_reply: null,
  stream: null,
  display_data: null,
  update_display_data: null,
  execute_input: null,
  execute_result: null,
  error: null,
  status: null,
  clear_output: null,
  input_request: 'input_reply',
  input_reply: null,
  comm_open: null,
  comm_msg: null,
  comm_close: null,
} as const satisfies { [T in MsgType]: MsgType | null };
export type RequestType = { [T in MsgType]: (typeof REPLY_OF)[T] extends null ? never : T }[MsgType];
export type ReplyTypeOf<R extends RequestType> = NonNullable<(typeof REPLY_OF)[R]>;
/** The content of the reply to a message of type `T`; never for a message that has no reply. */
export type ReplyContent<T extends MsgType> = T extends RequestType ? ContentMap[ReplyTypeOf<T>] : never;

const KNOWN_TYPES: ReadonlySet<string> = new Set(Object.keys(REPLY_OF));

export function isKnownMsgType(t: string): t is MsgType {
  return KNOWN_TYPES.has(t);
}
export function isRequestType(t: string): t is RequestType {
  return isKnownMsgType(t) && REPLY_OF[t] !== null;
}
/** The reply type of a request, or undefined for anything that is not one. */
export function replyTypeOf(t: string): MsgType | undefined {
  return isRequestType(t) ? REPLY_OF[t] : undefined;
}

/**
 * A decoded message. `identities` are the ZeroMQ routing prefixes of the request it came in
 * with (or, for an outgoing reply, of the request it answers); `buffers` are extra raw frames.
 */
export interface Message<T extends MsgType = MsgType> {
  identities: Buffer[];
  header: Header & { msg_type: T };
  /** The parent's header, or `{}` for a message with no parent. */
  parent_header: Header | Record<string, never>;
  metadata: JsonObject;
  content: ContentMap[T];
  buffers: Buffer[];
}
/** A message whose msg_type was not checked against the table yet (fresh from the wire). */
export interface UntypedMessage {
  identities: Buffer[];
  header: Header;
  parent_header: Header | Record<string, never>;
  metadata: JsonObject;
  content: JsonObject;
  buffers: Buffer[];
}

/**
 * Content as it came from a client: the table's field names, their values not checked yet
 * (JSON from the wire; each handler checks the fields it reads).
 */
export type Received<C> = { readonly [K in keyof C]?: unknown };
/** A message from a client whose msg_type was checked against the table; its fields were not. */
export interface Inbound<T extends MsgType> {
  identities: Buffer[];
  header: Header & { msg_type: T };
  parent_header: Header | Record<string, never>;
  metadata: JsonObject;
  content: Received<ContentMap[T]>;
  buffers: Buffer[];
}
/** `msg` as a message of type `type`, if that is its msg_type. */
export function inboundAs<T extends MsgType>(msg: UntypedMessage, type: T): Inbound<T> | undefined {
  if (msg.header.msg_type !== type) return undefined;
  // The one place where wire content meets the table: Received promises names only, no values.
  return { ...msg, header: { ...msg.header, msg_type: type }, content: msg.content as Received<ContentMap[T]> };
}
/** What a message needs to be a parent: the routing identities and the header. */
export interface Parent<P extends MsgType> {
  identities: Buffer[];
  header: Header & { msg_type: P };
}

/**
 * Builds messages for one kernel session. `childOf(parent)` gives a builder whose messages are
 * parented to `parent` and, for replies, routed to the parent's identities.
 */
export class MessageFactory {
  constructor(
    readonly session: string = uuidv4(),
    readonly username: string = 'nslab',
  ) {}

  header<T extends MsgType>(msgType: T): Header & { msg_type: T } {
    return {
      msg_id: uuidv4(),
      session: this.session,
      username: this.username,
      date: new Date().toISOString(),
      msg_type: msgType,
      version: PROTOCOL_VERSION,
    };
  }

  /** A message with no parent (only `status: starting` is sent this way). */
  orphan<T extends MsgType>(msgType: T, content: ContentMap[T]): Message<T> {
    return { identities: [], header: this.header(msgType), parent_header: {}, metadata: {}, content, buffers: [] };
  }

  /**
   * A builder of messages parented to `parent`. For a parent of a known request type, `reply`
   * takes that request's reply content; an unchecked parent (fresh from the wire) gets no `reply`.
   */
  childOf<P extends MsgType = never>(parent: Parent<P> | UntypedMessage): ChildBuilder<P> {
    return new ChildBuilder<P>(this, parent);
  }
}

export class ChildBuilder<P extends MsgType> {
  constructor(
    private readonly factory: MessageFactory,
    readonly parent: Parent<P> | UntypedMessage,
  ) {}

  /** Any message type, parented to the request. iopub messages carry no routing identities. */
  make<T extends MsgType>(msgType: T, content: ContentMap[T], metadata: JsonObject = {}): Message<T> {
    return {
      identities: [...this.parent.identities],
      header: this.factory.header(msgType),
      parent_header: headerFields(this.parent.header),
      metadata,
      content,
      buffers: [],
    };
  }

  /** The reply to the parent request: its type comes from the table (`REPLY_OF`). */
  reply(content: ReplyContent<P>, metadata: JsonObject = {}): Message {
    return this.replyMessage(content, metadata);
  }

  /**
   * The reply to the parent request, saying it failed: whatever the request was, its reply type
   * with `status: 'error'` (spec: "Request-Reply"). Throws for a message that has no reply.
   */
  errorReply(fields: ErrorFields): Message {
    const content: ErrorReply = { status: 'error', ...fields };
    return this.replyMessage(content);
  }

  private replyMessage(content: ContentMap[MsgType], metadata: JsonObject = {}): Message {
    const requestType = this.parent.header.msg_type;
    const replyType = replyTypeOf(requestType);
    if (replyType === undefined) throw new Error(`${requestType} has no reply type`);
    return {
      identities: [...this.parent.identities],
      header: this.factory.header(replyType),
      parent_header: headerFields(this.parent.header),
      metadata,
      content,
      buffers: [],
    };
  }

  status(state: ExecutionState): Message<'status'> { return this.make('status', { execution_state: state }); }
  stream(name: 'stdout' | 'stderr', text: string): Message<'stream'> { return this.make('stream', { name, text }); }
  executeInput(code: string, executionCount: number): Message<'execute_input'> {
    return this.make('execute_input', { code, execution_count: executionCount });
  }
  error(fields: ErrorFields): Message<'error'> { return this.make('error', fields); }
  displayData(data: JsonObject, metadata: JsonObject = {}): Message<'display_data'> {
    return this.make('display_data', { data, metadata });
  }
  inputRequest(prompt: string, password: boolean): Message<'input_request'> {
    return this.make('input_request', { prompt, password });
  }
}

/**
 * A parent header as the spec defines it, whatever else the client put in it: echoed back in
 * every child, so an unknown field (or one nested thousands deep) must not travel along.
 */
export function headerFields(h: Header): Header {
  const out: Header = { msg_id: h.msg_id, session: h.session, username: h.username, date: h.date, msg_type: h.msg_type, version: h.version };
  if (h.subshell_id !== undefined) out.subshell_id = h.subshell_id;
  return out;
}
