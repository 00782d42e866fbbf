import { encodePublish, patchMessageId, publishMessageIdOffset, type ProtocolVersion, type PublishPacket, type PublishProperties, type QoS } from '../protocol/index.js'
import type { QueueState, QueuedMessage, StoredMessage } from '../persistence/index.js'
import type { Delivery } from '../router/index.js'

/** One message on its way to one client. */
export interface Outgoing {
  message: StoredMessage
  qos: QoS
  retain: boolean
  subscriptionIds: number[] | undefined
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
export function toPublishPacket(out: Outgoing, version: ProtocolVersion, dup: boolean, now: number): PublishPacket {
  const { message } = out
  const packet: PublishPacket = {
    cmd: 'publish',
    topic: message.topic,
    payload: message.payload,
    qos: out.qos,
    retain: out.retain,
    dup,
  }
  if (out.qos > 0) packet.messageId = out.messageId
  if (version === 5) {
    const properties = outboundProperties(out, now)
    if (properties !== undefined) packet.properties = properties
  }
  return packet
}

function outboundProperties(out: Outgoing, now: number): PublishProperties | undefined {
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
 * Encode once per fan-out: the bytes of a message for each (5.0 or not, QoS) are made the first
 * time a subscriber needs them and shared with every other subscriber; only the packet id and
 * the RETAIN / DUP bits are patched, in a copy. Messages with per-subscriber properties
 * (Subscription Identifiers) or a changing one (the remaining Message Expiry Interval) are
 * encoded per subscriber. Cached on the message object itself, so it goes when the message does.
 */
const encodedCache = new WeakMap<StoredMessage, Array<Buffer | undefined>>()

export function encodedPublish(out: Outgoing, version: ProtocolVersion, dup: boolean): Buffer | undefined {
  const { message } = out
  if (out.subscriptionIds !== undefined || message.expiresAt !== undefined) return undefined
  const slot = (version === 5 ? 3 : 0) + out.qos
  let variants = encodedCache.get(message)
  if (variants === undefined) {
    variants = []
    encodedCache.set(message, variants)
  }
  let base = variants[slot]
  if (base === undefined) {
    const packet: PublishPacket = { cmd: 'publish', topic: message.topic, payload: message.payload, qos: out.qos, retain: false, dup: false }
    if (version === 5 && message.properties !== undefined) packet.properties = stripped(message.properties)
    base = encodePublish(packet, version)
    variants[slot] = base
  }
  if (out.qos === 0 && !out.retain) return base
  const copy = Buffer.allocUnsafe(base.length)
  base.copy(copy)
  copy[0] = (copy[0] ?? 0) | (out.retain ? 0x01 : 0) | (dup ? 0x08 : 0)
  if (out.qos > 0) patchMessageId(copy, publishMessageIdOffset(copy), out.messageId)
  return copy
}

function stripped(src: PublishProperties): PublishProperties {
  const props: PublishProperties = { ...src }
  delete props.topicAlias
  delete props.subscriptionIdentifier
  return props
}
