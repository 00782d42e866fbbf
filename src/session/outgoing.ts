import { encodePublish, encodePublishHead, patchMessageId, publishMessageIdOffset, type ProtocolVersion, type PublishPacket, type PublishProperties, type QoS } from '../protocol/index.js'
import type { QueueState, QueuedMessage, StoredMessage } from '../persistence/index.js'
import type { Delivery } from '../router/index.js'

/** What a PUBLISH to one client is made from: a delivery sent at once (QoS 0) or an `Outgoing`. */
export interface PublishSource {
  message: StoredMessage
  qos: QoS
  retain: boolean
  subscriptionIds: number[] | undefined
}

/** One message on its way to one client. */
export interface Outgoing extends PublishSource {
  /** Durable queue key when the session is persistent and QoS > 0. */
  seq: number | undefined
  messageId: number
  state: QueueState
  /** The `$share/…` filter it came through, for redelivery to another member. */
  shared: string | undefined
}

export const fromDelivery = (d: Delivery): Outgoing => ({
  message: d.message,
  qos: d.qos,
  retain: d.retain,
  subscriptionIds: d.subscriptionIds,
  seq: d.seq,
  messageId: 0,
  state: 'queued',
  shared: d.shared,
})

export const fromQueued = (q: QueuedMessage): Outgoing => ({
  message: q,
  qos: q.qos,
  retain: q.retain,
  subscriptionIds: q.subscriptionIds,
  seq: q.seq,
  messageId: q.messageId ?? 0,
  state: q.messageId === undefined ? 'queued' : q.state,
  shared: q.shared,
})

/** True when the message's expiry has passed: it must not be sent [MQTT-3.3.2-5]. */
export const isExpired = (message: StoredMessage, now: number): boolean =>
  message.expiresAt !== undefined && message.expiresAt <= now

/**
 * The PUBLISH for one outgoing message. Message Expiry Interval is reduced by the time the
 * message waited in the broker [MQTT-3.3.2-6]; Subscription Identifiers are this client's.
 */
export function toPublishPacket(out: PublishSource, messageId: number, version: ProtocolVersion, dup: boolean): PublishPacket {
  const { message } = out
  const packet: PublishPacket = {
    cmd: 'publish',
    topic: message.topic,
    payload: message.payload,
    qos: out.qos,
    retain: out.retain,
    dup,
  }
  if (out.qos > 0) packet.messageId = messageId
  if (version === 5) {
    const properties = outboundProperties(out, message.expiresAt === undefined ? 0 : Date.now())
    if (properties !== undefined) packet.properties = properties
  }
  return packet
}

function outboundProperties(out: PublishSource, now: number): PublishProperties | undefined {
  const src = out.message.properties
  const hasExpiry = out.message.expiresAt !== undefined
  if (src === undefined && !hasExpiry && out.subscriptionIds === undefined) return undefined
  const props: PublishProperties = { ...src }
  delete props.topicAlias
  delete props.subscriptionIdentifier
  if (out.message.expiresAt !== undefined) {
    props.messageExpiryInterval = Math.max(1, Math.ceil((out.message.expiresAt - now) / 1000))
  }
  if (out.subscriptionIds !== undefined) {
    props.subscriptionIdentifier = out.subscriptionIds.length === 1 ? out.subscriptionIds[0] : out.subscriptionIds
  }
  return props
}

/**
 * Encode once per fan-out: the bytes of a message for each (5.0 or not, QoS, RETAIN) are made
 * the first time a subscriber needs them and shared with every other subscriber; at QoS 1 and 2
 * the packet id and the DUP bit are patched, in a copy. Messages with per-subscriber properties
 * (Subscription Identifiers) or a changing one (the remaining Message Expiry Interval) are
 * encoded per subscriber, and so are messages that do not fit the client's outlet as they are
 * (see `Outlet.rewritesPublish`).
 *
 * The cache holds the bytes of ONE message, the last one encoded. A fan-out delivers a message
 * to all its subscribers in one synchronous walk, so they all hit it; a message sent again later
 * (from a queue, or resent) that is no longer the last is simply encoded again. A WeakMap keyed
 * by message did the same with a hash lookup, an ephemeron entry per message and garbage for
 * the collector: 11% of the broker's CPU in a fan-in profile.
 */
let cachedMessage: StoredMessage | undefined

/**
 * Payloads from this size on are not copied into the encoded PUBLISH: `encodedPublish` makes
 * only the bytes before the payload, and the payload's own bytes are written right behind them
 * (one writev), so a 64 KB message fanned out costs no 64 KB copy per variant.
 */
export const SPLIT_PAYLOAD_AT = 8192

/** True when `encodedPublish` leaves the payload out; see SPLIT_PAYLOAD_AT. */
export const isSplit = (message: StoredMessage): boolean => message.payload.length >= SPLIT_PAYLOAD_AT
/** Indexed by `(5.0 ? 6 : 0) + 2 * QoS + RETAIN`. */
const cachedBytes: Array<Buffer | undefined> = new Array<Buffer | undefined>(12).fill(undefined)

export function encodedPublish(out: PublishSource, messageId: number, version: ProtocolVersion, dup: boolean): Buffer | undefined {
  const { message } = out
  if (out.subscriptionIds !== undefined || message.expiresAt !== undefined) return undefined
  if (message !== cachedMessage) {
    cachedMessage = message
    cachedBytes.fill(undefined)
  }
  const slot = (version === 5 ? 6 : 0) + 2 * out.qos + (out.retain ? 1 : 0)
  let base = cachedBytes[slot]
  if (base === undefined) {
    const packet: PublishPacket = { cmd: 'publish', topic: message.topic, payload: message.payload, qos: out.qos, retain: out.retain, dup: false }
    if (version === 5 && message.properties !== undefined) packet.properties = stripped(message.properties)
    base = isSplit(message) ? encodePublishHead(packet, version) : encodePublish(packet, version)
    cachedBytes[slot] = base
  }
  if (out.qos === 0) return base
  const copy = Buffer.allocUnsafe(base.length)
  base.copy(copy)
  if (dup) copy[0] = (copy[0] ?? 0) | 0x08
  patchMessageId(copy, publishMessageIdOffset(copy), messageId)
  return copy
}

function stripped(src: PublishProperties): PublishProperties {
  const props: PublishProperties = { ...src }
  delete props.topicAlias
  delete props.subscriptionIdentifier
  return props
}
