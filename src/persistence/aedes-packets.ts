/**
 * Translation between aedes packets and Halyard's stored records, for the aedes adapter.
 *
 * An aedes packet maps onto a `StoredMessage` field by field where Halyard has the concept
 * (`clientId` of the publisher is `origin`, `messageExpiry` is `expiresAt`); everything else
 * (`cmd`, `brokerId`, `brokerCounter`, `dup`, a string payload, unknown extras) rides along in
 * `foreign` and is laid back over the rebuilt packet, so a packet reads back as it was written.
 */
import type { PublishProperties, QoS, UserProperties, UserPropertyList } from '../protocol/packets.js'
import type { StoredMessage, SubscriptionRecord } from './types.js'

/** The part of an aedes `Client` the persistence uses. */
export interface AedesClient {
  id: string
}

/** What `setup()` receives: the part of an aedes broker the persistence uses. */
export interface AedesBroker {
  id: string
}

/** Packets cross this boundary as loose records: aedes adds fields of its own over time. */
export type AedesPacket = Record<string, unknown>

/** A subscription as aedes hands it over (mqtt-packet's shape plus the 5.0 identifier). */
export interface AedesSubscription {
  topic: string
  qos: QoS
  rh?: number
  rap?: boolean
  nl?: boolean
  subscriptionIdentifier?: number
}

/** Fields with a Halyard counterpart; every other field of a packet is foreign. */
const MAPPED = new Set(['topic', 'payload', 'qos', 'retain', 'properties', 'messageExpiry', 'clientId'])
const NOTHING = new Set<string>()

export const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null

const toQoS = (value: unknown): QoS => (value === 1 || value === 2 ? value : 0)

/** `drop` names fields to forget rather than keep as foreign (a queue entry's messageId). */
export function fromAedes(packet: AedesPacket, drop: ReadonlySet<string> = NOTHING): StoredMessage {
  const foreign: Record<string, unknown> = {}
  let hasForeign = false
  for (const key of Object.keys(packet)) {
    if (MAPPED.has(key) || drop.has(key)) continue
    foreign[key] = packet[key]
    hasForeign = true
  }
  const { payload } = packet
  let bytes: Buffer
  if (payload instanceof Uint8Array) {
    bytes = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength)
  } else {
    bytes = Buffer.from(typeof payload === 'string' ? payload : '')
    // Kept as foreign so a string payload reads back as a string, as aedes' own store does.
    if (typeof payload === 'string') {
      foreign.payload = payload
      hasForeign = true
    }
  }
  const message: StoredMessage = {
    topic: String(packet.topic),
    payload: bytes,
    qos: toQoS(packet.qos),
    retain: packet.retain === true,
  }
  if (isRecord(packet.properties)) message.properties = propertiesFromAedes(packet.properties)
  if (typeof packet.messageExpiry === 'number') message.expiresAt = packet.messageExpiry
  if (typeof packet.clientId === 'string') message.origin = packet.clientId
  if (hasForeign) message.foreign = foreign
  return message
}

export function toAedes(message: StoredMessage): AedesPacket {
  const packet: AedesPacket = {
    cmd: 'publish',
    topic: message.topic,
    payload: message.payload,
    qos: message.qos,
    retain: message.retain,
  }
  if (message.properties !== undefined) packet.properties = propertiesToAedes(message.properties)
  if (message.expiresAt !== undefined) packet.messageExpiry = message.expiresAt
  if (message.origin !== undefined) packet.clientId = message.origin
  return message.foreign === undefined ? packet : Object.assign(packet, message.foreign)
}

/**
 * aedes has User Properties in mqtt-packet's folded form (a record of arrays); Halyard keeps
 * them as an ordered list [MQTT-3.3.2-18]. Unfolding and folding again gives the record back.
 */
function propertiesFromAedes(properties: Record<string, unknown>): PublishProperties {
  const { userProperties, ...rest } = properties
  const out = rest as PublishProperties
  if (isRecord(userProperties)) {
    const list: UserPropertyList = []
    for (const [name, value] of Object.entries(userProperties)) {
      for (const v of Array.isArray(value) ? value : [value]) list.push([name, String(v)])
    }
    out.userProperties = list
  }
  return out
}

function propertiesToAedes(properties: PublishProperties): Record<string, unknown> {
  const { userProperties, ...rest } = properties
  if (userProperties === undefined) return rest
  const folded: UserProperties = {}
  for (const [name, value] of userProperties) {
    const seen = folded[name]
    folded[name] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value]
  }
  return { ...rest, userProperties: folded }
}

const hasOwn = (o: object, key: string): boolean => Object.prototype.hasOwnProperty.call(o, key)

/**
 * What aedes-packet's `new Packet(original)` makes of a packet (without a broker), which is
 * what aedes' reference store keeps for queued and incoming packets: known fields only, so
 * wire-level leftovers such as `length` are not kept.
 */
export function normalizePacket(original: AedesPacket): AedesPacket {
  const packet: AedesPacket = {}
  for (const key of ['clientId', 'nl', 'properties', 'messageExpiry']) {
    if (hasOwn(original, key)) packet[key] = original[key]
  }
  packet.cmd = original.cmd || 'publish'
  packet.brokerId = original.brokerId || undefined
  packet.brokerCounter = original.brokerCounter || 0
  packet.topic = original.topic
  packet.payload = original.payload || Buffer.alloc(0)
  packet.qos = original.qos || 0
  packet.retain = original.retain || false
  packet.dup = original.dup || false
  if (packet.qos !== 0 || packet.cmd !== 'publish') packet.messageId = undefined
  return packet
}

export function subscriptionFromAedes(sub: AedesSubscription): SubscriptionRecord {
  const record: SubscriptionRecord = {
    filter: sub.topic,
    qos: toQoS(sub.qos),
    noLocal: sub.nl === true,
    retainAsPublished: sub.rap === true,
    retainHandling: sub.rh === 1 || sub.rh === 2 ? sub.rh : 0,
  }
  if (sub.subscriptionIdentifier !== undefined) record.subscriptionId = sub.subscriptionIdentifier
  return record
}

export function subscriptionToAedes(sub: SubscriptionRecord): AedesSubscription {
  const out: AedesSubscription = {
    topic: sub.filter,
    qos: sub.qos,
    rh: sub.retainHandling,
    rap: sub.retainAsPublished,
    nl: sub.noLocal,
  }
  if (sub.subscriptionId !== undefined) out.subscriptionIdentifier = sub.subscriptionId
  return out
}
