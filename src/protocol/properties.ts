import { malformed, protocolError, topicAliasInvalid } from './errors.js'
import type { ByteReader } from './reader.js'

/**
 * MQTT 5.0 property sections, checked on the raw bytes.
 *
 * mqtt-packet decodes any known property in any packet, folds a repeated property into an array
 * and never looks at values. The spec is stricter (section 2.2.2.2): a property identifier that
 * is not valid for the packet type makes it a Malformed Packet; most properties "MUST NOT be
 * included more than once" (a Protocol Error); and several values are refused outright. This
 * module walks a section once, allocation-free, and enforces all of that before mqtt-packet
 * builds its objects.
 *
 * Only the places a client can put properties are listed: the broker never decodes CONNACK,
 * SUBACK or UNSUBACK, so properties that only those carry are known (not "unknown") but allowed
 * nowhere here.
 */

/** Where a property section sits. A bit mask so one table row can name several places. */
export const PropertyPlace = {
  Connect: 1 << 0,
  Will: 1 << 1,
  Publish: 1 << 2,
  /** PUBACK, PUBREC, PUBREL and PUBCOMP */
  Ack: 1 << 3,
  Subscribe: 1 << 4,
  Unsubscribe: 1 << 5,
  Disconnect: 1 << 6,
  Auth: 1 << 7,
} as const
export type PropertyPlaceValue = (typeof PropertyPlace)[keyof typeof PropertyPlace]

type Kind = 'byte' | 'u16' | 'u32' | 'varint' | 'utf8' | 'binary' | 'pair'

interface PropertySpec {
  readonly name: string
  readonly kind: Kind
  /** PropertyPlace bits where a client may send it */
  readonly allowedIn: number
}

const P = PropertyPlace
const MESSAGE = P.Publish | P.Will
const EVERYWHERE = P.Connect | P.Will | P.Publish | P.Ack | P.Subscribe | P.Unsubscribe | P.Disconnect | P.Auth

const USER_PROPERTY = 0x26
const AUTHENTICATION_METHOD = 0x15
const AUTHENTICATION_DATA = 0x16

/** Indexed by property identifier; spec table 2-4. */
const SPECS: readonly (PropertySpec | undefined)[] = (() => {
  const specs: (PropertySpec | undefined)[] = []
  const define = (id: number, name: string, kind: Kind, allowedIn: number): void => {
    specs[id] = { name, kind, allowedIn }
  }
  define(0x01, 'Payload Format Indicator', 'byte', MESSAGE)
  define(0x02, 'Message Expiry Interval', 'u32', MESSAGE)
  define(0x03, 'Content Type', 'utf8', MESSAGE)
  define(0x08, 'Response Topic', 'utf8', MESSAGE)
  define(0x09, 'Correlation Data', 'binary', MESSAGE)
  // Valid in PUBLISH, but only from server to client; the value check refuses it inbound.
  define(0x0b, 'Subscription Identifier', 'varint', P.Publish | P.Subscribe)
  define(0x11, 'Session Expiry Interval', 'u32', P.Connect | P.Disconnect)
  define(0x12, 'Assigned Client Identifier', 'utf8', 0)
  define(0x13, 'Server Keep Alive', 'u16', 0)
  define(AUTHENTICATION_METHOD, 'Authentication Method', 'utf8', P.Connect | P.Auth)
  define(AUTHENTICATION_DATA, 'Authentication Data', 'binary', P.Connect | P.Auth)
  define(0x17, 'Request Problem Information', 'byte', P.Connect)
  define(0x18, 'Will Delay Interval', 'u32', P.Will)
  define(0x19, 'Request Response Information', 'byte', P.Connect)
  define(0x1a, 'Response Information', 'utf8', 0)
  define(0x1c, 'Server Reference', 'utf8', P.Disconnect)
  define(0x1f, 'Reason String', 'utf8', P.Ack | P.Disconnect | P.Auth)
  define(0x21, 'Receive Maximum', 'u16', P.Connect)
  define(0x22, 'Topic Alias Maximum', 'u16', P.Connect)
  define(0x23, 'Topic Alias', 'u16', P.Publish)
  define(0x24, 'Maximum QoS', 'byte', 0)
  define(0x25, 'Retain Available', 'byte', 0)
  define(USER_PROPERTY, 'User Property', 'pair', EVERYWHERE)
  define(0x27, 'Maximum Packet Size', 'u32', P.Connect)
  define(0x28, 'Wildcard Subscription Available', 'byte', 0)
  define(0x29, 'Subscription Identifier Available', 'byte', 0)
  define(0x2a, 'Shared Subscription Available', 'byte', 0)
  return specs
})()

/**
 * Walk the property section at the reader's position (Property Length, then properties) and
 * leave the reader just after it. `where` names the packet for error messages.
 */
export function checkProperties(r: ByteReader, place: PropertyPlaceValue, where: string): void {
  const length = r.varint('Property Length')
  if (length > r.remaining) {
    throw malformed(`${where} Property Length ${length} runs past the end of the packet`)
  }
  const outerEnd = r.end
  r.end = r.pos + length // a property value must not run past its own section
  // Identifiers go up to 0x2a, so two 32-bit masks record which ones were seen.
  let seenLow = 0
  let seenHigh = 0
  while (r.pos < r.end) {
    const id = r.u8('Property Identifier')
    const spec = SPECS[id]
    if (spec === undefined) {
      throw malformed(`${where} has unknown property identifier 0x${id.toString(16)} (5.0 section 2.2.2.2)`)
    }
    if ((spec.allowedIn & place) === 0) {
      throw malformed(`${spec.name} is not allowed in ${where} (5.0 section 2.2.2.2)`)
    }
    if (id !== USER_PROPERTY) {
      const bit = 1 << (id & 31)
      const seen = id < 32 ? seenLow : seenHigh
      if ((seen & bit) !== 0) throw protocolError(`${spec.name} appears more than once in ${where}`)
      if (id < 32) seenLow |= bit
      else seenHigh |= bit
    }
    checkValue(r, id, spec, place, where)
  }
  r.end = outerEnd
  if ((seenLow & (1 << AUTHENTICATION_DATA)) !== 0 && (seenLow & (1 << AUTHENTICATION_METHOD)) === 0) {
    // 5.0 sections 3.1.2.11.10 and 3.15.2.2.3
    throw protocolError(`${where} has Authentication Data without an Authentication Method`)
  }
}

function checkValue(r: ByteReader, id: number, spec: PropertySpec, place: number, where: string): void {
  switch (spec.kind) {
    case 'byte': {
      // Every byte property a client may send is a 0/1 switch; other values are a Protocol Error
      // (5.0 sections 3.1.2.11.6, 3.1.2.11.7; Payload Format Indicator by the same reading).
      const value = r.u8(spec.name)
      if (value > 1) throw protocolError(`${spec.name} in ${where} is ${value}, must be 0 or 1`)
      return
    }
    case 'u16': {
      const value = r.u16(spec.name)
      if (value !== 0) return
      if (id === 0x23) throw topicAliasInvalid(`Topic Alias 0 in ${where} is not permitted [MQTT-3.3.2-8]`)
      if (id === 0x21) throw protocolError(`Receive Maximum 0 in ${where} is a Protocol Error (5.0 section 3.1.2.11.3)`)
      return
    }
    case 'u32': {
      const value = r.u32(spec.name)
      if (value === 0 && id === 0x27) {
        throw protocolError(`Maximum Packet Size 0 in ${where} is a Protocol Error (5.0 section 3.1.2.11.4)`)
      }
      return
    }
    case 'varint': {
      // The only varint property is Subscription Identifier.
      const value = r.varint(spec.name)
      if (place === PropertyPlace.Publish) {
        throw protocolError(`a PUBLISH from a client must not carry a Subscription Identifier [MQTT-3.3.4-6]`)
      }
      if (value === 0) throw protocolError(`Subscription Identifier 0 in ${where} is a Protocol Error (5.0 section 3.8.2.1.2)`)
      return
    }
    case 'utf8':
      r.utf8(spec.name)
      return
    case 'binary':
      r.binary(spec.name)
      return
    case 'pair':
      r.utf8('User Property name')
      r.utf8('User Property value')
      return
  }
}
