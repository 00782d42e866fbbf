import type { PublishProperties, UserProperties, UserPropertyList, WillProperties } from './packets.js'
import type { ByteReader } from './reader.js'

/**
 * The properties of an application message (PUBLISH, and a will, which becomes one), read and
 * written here rather than by mqtt-packet.
 *
 * The reason is User Properties: the server MUST forward them unaltered, in order
 * [MQTT-3.3.2-18], and mqtt-packet folds every repeat of a name into one array, so that
 * `z=1, a=2, z=3` comes out as `z=1, z=3, a=2`. Here they stay a list of [name, value] pairs
 * from the wire to the wire, through the router and the stores.
 *
 * Decoding only runs on a section `checkProperties` has already proved well-formed and allowed
 * in its place, so it does no checking of its own. Encoding writes the properties in the order
 * of the object's keys, as mqtt-packet did, so that encoded bytes did not change.
 */

export type MessageProperties = PublishProperties & Pick<WillProperties, 'willDelayInterval'>

/**
 * Decode the property section at the reader's position (Property Length first) and leave the
 * reader after it. Strings and binaries are copied, so the message does not pin the socket chunk.
 */
export function readMessageProperties(r: ByteReader): MessageProperties {
  const buf = r.buffer
  const length = r.varint('Property Length')
  const end = r.pos + length
  const props: MessageProperties = {}
  let userProperties: UserPropertyList | undefined
  let ids: number[] | undefined
  const str = (): string => {
    const n = r.u16('string')
    const s = buf.toString('utf8', r.pos, r.pos + n)
    r.pos += n
    return s
  }
  while (r.pos < end) {
    const id = r.u8('Property Identifier')
    switch (id) {
      case 0x01: props.payloadFormatIndicator = r.u8('Payload Format Indicator') === 1; break
      case 0x02: props.messageExpiryInterval = r.u32('Message Expiry Interval'); break
      case 0x03: props.contentType = str(); break
      case 0x08: props.responseTopic = str(); break
      case 0x09: {
        const n = r.u16('Correlation Data')
        props.correlationData = Buffer.from(buf.subarray(r.pos, r.pos + n))
        r.pos += n
        break
      }
      case 0x0b: {
        const value = r.varint('Subscription Identifier')
        if (ids === undefined) {
          ids = []
          props.subscriptionIdentifier = value // takes the key's place now; set in full below
        }
        ids.push(value)
        break
      }
      case 0x18: props.willDelayInterval = r.u32('Will Delay Interval'); break
      case 0x23: props.topicAlias = r.u16('Topic Alias'); break
      case 0x26: {
        if (userProperties === undefined) {
          userProperties = []
          props.userProperties = userProperties // keys in wire order, so re-encoding gives the same bytes
        }
        const name = str()
        userProperties.push([name, str()])
        break
      }
      default:
        // Unreachable after checkProperties; a broker bug if it happens.
        throw new Error(`property 0x${id.toString(16)} is not a message property`)
    }
  }
  if (ids !== undefined && ids.length > 1) props.subscriptionIdentifier = ids
  return props
}

const varintSize = (n: number): number => (n < 128 ? 1 : n < 16_384 ? 2 : n < 2_097_152 ? 3 : 4)

/**
 * User Properties as a list. A stored message written before they were kept as a list holds
 * mqtt-packet's folded object instead; it is read as that object's order, the best there is.
 */
function pairs(value: UserPropertyList | UserProperties): UserPropertyList {
  return Array.isArray(value) ? value : userPropertiesFromRecord(value)
}

/** mqtt-packet's folded form to a list: each name's values in turn. */
function userPropertiesFromRecord(record: UserProperties): UserPropertyList {
  const list: UserPropertyList = []
  for (const name of Object.keys(record)) {
    const value = record[name]
    if (Array.isArray(value)) for (const v of value) list.push([name, v])
    else if (value !== undefined) list.push([name, value])
  }
  return list
}

/** Bytes of the properties themselves, without the Property Length in front. */
export function messagePropertiesLength(props: PublishProperties): number {
  let n = 0
  for (const key in props) {
    const k = key as keyof PublishProperties
    switch (k) {
      case 'payloadFormatIndicator':
        if (props[k] !== undefined) n += 2
        break
      case 'messageExpiryInterval':
        if (props[k] !== undefined) n += 5
        break
      case 'topicAlias':
        if (props[k] !== undefined) n += 3
        break
      case 'contentType':
      case 'responseTopic': {
        const s = props[k]
        if (s !== undefined) n += 3 + Buffer.byteLength(s)
        break
      }
      case 'correlationData': {
        const b = props[k]
        if (b !== undefined) n += 3 + b.length
        break
      }
      case 'subscriptionIdentifier': {
        const ids = props[k]
        if (ids === undefined) break
        for (const id of typeof ids === 'number' ? [ids] : ids) n += 1 + varintSize(id)
        break
      }
      case 'userProperties': {
        const list = props[k]
        if (list === undefined) break
        for (const [name, value] of pairs(list)) n += 5 + Buffer.byteLength(name) + Buffer.byteLength(value)
        break
      }
      default: {
        const unknown: never = k
        throw new Error(`cannot encode PUBLISH property ${String(unknown)}`)
      }
    }
  }
  return n
}

/** Write the properties (not the Property Length) at `offset`; returns the offset after them. */
export function writeMessageProperties(buf: Buffer, offset: number, props: PublishProperties): number {
  let at = offset
  const str = (id: number, s: string): void => {
    buf[at++] = id
    const n = buf.write(s, at + 2, 'utf8')
    buf.writeUInt16BE(n, at)
    at += 2 + n
  }
  for (const key in props) {
    const k = key as keyof PublishProperties
    switch (k) {
      case 'payloadFormatIndicator': {
        const v = props[k]
        if (v === undefined) break
        buf[at++] = 0x01
        buf[at++] = v ? 1 : 0
        break
      }
      case 'messageExpiryInterval': {
        const v = props[k]
        if (v === undefined) break
        buf[at++] = 0x02
        at = buf.writeUInt32BE(v, at)
        break
      }
      case 'topicAlias': {
        const v = props[k]
        if (v === undefined) break
        buf[at++] = 0x23
        at = buf.writeUInt16BE(v, at)
        break
      }
      case 'contentType': {
        const v = props[k]
        if (v !== undefined) str(0x03, v)
        break
      }
      case 'responseTopic': {
        const v = props[k]
        if (v !== undefined) str(0x08, v)
        break
      }
      case 'correlationData': {
        const v = props[k]
        if (v === undefined) break
        buf[at++] = 0x09
        at = buf.writeUInt16BE(v.length, at)
        at += v.copy(buf, at)
        break
      }
      case 'subscriptionIdentifier': {
        const ids = props[k]
        if (ids === undefined) break
        for (const id of typeof ids === 'number' ? [ids] : ids) {
          buf[at++] = 0x0b
          at = writeVarint(buf, at, id)
        }
        break
      }
      case 'userProperties': {
        const list = props[k]
        if (list === undefined) break
        for (const [name, value] of pairs(list)) {
          buf[at++] = 0x26
          const n = buf.write(name, at + 2, 'utf8')
          buf.writeUInt16BE(n, at)
          at += 2 + n
          const m = buf.write(value, at + 2, 'utf8')
          buf.writeUInt16BE(m, at)
          at += 2 + m
        }
        break
      }
      default: {
        const unknown: never = k
        throw new Error(`cannot encode PUBLISH property ${String(unknown)}`)
      }
    }
  }
  return at
}

export function writeVarint(buf: Buffer, offset: number, n: number): number {
  let value = n
  let at = offset
  do {
    let byte = value % 128
    value = Math.floor(value / 128)
    if (value > 0) byte |= 0x80
    buf[at++] = byte
  } while (value > 0)
  return at
}

export { varintSize }
