/**
 * The level store's keys; the layout and its reasons are the essay at the top of
 * `level-store.ts`.
 */

/** Hex digits of a seq: 14 cover Number.MAX_SAFE_INTEGER, so string order is number order. */
const SEQ_WIDTH = 14
const MESSAGE_ID_WIDTH = 4
const STATE_SUFFIX = '!s'
/** What `queueStateKey` appends to `queueKey`. */
export const QUEUE_STATE_SUFFIX = STATE_SUFFIX

const NEEDS_ESCAPE = /[%!]/
const ESCAPED = /%2[15]/g

/** `%` and `!` become `%25` and `%21`, so an escaped client id never contains the separator. */
export const escapeId = (id: string): string =>
  NEEDS_ESCAPE.test(id) ? id.replace(/[%!]/g, (c) => (c === '%' ? '%25' : '%21')) : id

export const unescapeId = (escaped: string): string =>
  escaped.includes('%') ? escaped.replace(ESCAPED, (m) => (m === '%25' ? '%' : '!')) : escaped

const hex = (n: number, width: number): string => n.toString(16).padStart(width, '0')

export const SEQ_KEY = 'm!seq'

export const retainedKey = (topic: string): string => `r!${topic}`
export const sessionKey = (clientId: string): string => `s!${clientId}`
export const willKey = (clientId: string): string => `w!${clientId}`
export const subscriptionKey = (clientId: string, filter: string): string => `u!${escapeId(clientId)}!${filter}`
export const queueKey = (clientId: string, seq: number): string => `q!${escapeId(clientId)}!${hex(seq, SEQ_WIDTH)}`
export const queueStateKey = (clientId: string, seq: number): string => queueKey(clientId, seq) + STATE_SUFFIX
export const incomingKey = (clientId: string, messageId: number): string =>
  `i!${escapeId(clientId)}!${hex(messageId, MESSAGE_ID_WIDTH)}`

export const isQueueStateKey = (key: string): boolean => key.endsWith(STATE_SUFFIX)

export interface KeyRange {
  gte: string
  lt: string
}

/**
 * Every key of one kind (`r`, `s`, `w`, `u`, `q`, `i`), or, with a client id, every key of
 * that kind belonging to that client only: `"` is the character after `!`, and an escaped id
 * cannot contain `!`, so `abc` never picks up the keys of `abc!d` or `abcdef`.
 */
export function keyRange(kind: string, clientId?: string): KeyRange {
  if (clientId === undefined) return { gte: `${kind}!`, lt: `${kind}"` }
  const prefix = `${kind}!${escapeId(clientId)}`
  return { gte: `${prefix}!`, lt: `${prefix}"` }
}

/** The client id of a `u!`, `q!` or `i!` key. */
export const clientIdOf = (key: string): string => unescapeId(key.slice(2, key.indexOf('!', 2)))

/** The packet id of an `i!` key. */
export const messageIdOf = (key: string): number => Number.parseInt(key.slice(-MESSAGE_ID_WIDTH), 16)

export const encodeSeq = (seq: number): Buffer => Buffer.from(hex(seq, SEQ_WIDTH))
export const decodeSeq = (value: Uint8Array | undefined): number =>
  value === undefined ? 0 : Number.parseInt(Buffer.from(value).toString(), 16)
