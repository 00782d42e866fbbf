/**
 * Typed MQTT packets: the MQTT 5.0 superset (3.1.1 packets simply carry no properties).
 *
 * The shapes are those `mqtt-packet` produces and consumes, narrowed: after validation the
 * decoder hands these objects on without copying them, which is why the packet identifier is
 * called `messageId` (the codec's name) rather than the spec's "Packet Identifier".
 */
export type QoS = 0 | 1 | 2
export type ProtocolVersion = 3 | 4 | 5

/**
 * User Properties as mqtt-packet has them: every repeat of a name folded into one array, so the
 * order across names is lost. Used on the packets the broker only receives or never fills in.
 */
export type UserProperties = Record<string, string | string[]>

/**
 * User Properties of an application message: [name, value] pairs in the order they were sent,
 * repeats included, since the broker must forward them unaltered and in order [MQTT-3.3.2-18].
 */
export type UserPropertyList = Array<[name: string, value: string]>

export interface PublishProperties {
  payloadFormatIndicator?: boolean
  messageExpiryInterval?: number
  topicAlias?: number
  responseTopic?: string
  correlationData?: Buffer
  userProperties?: UserPropertyList
  subscriptionIdentifier?: number | number[]
  contentType?: string
}

export interface WillProperties {
  willDelayInterval?: number
  payloadFormatIndicator?: boolean
  messageExpiryInterval?: number
  contentType?: string
  responseTopic?: string
  correlationData?: Buffer
  userProperties?: UserPropertyList
}

export interface ConnectProperties {
  sessionExpiryInterval?: number
  receiveMaximum?: number
  maximumPacketSize?: number
  topicAliasMaximum?: number
  requestResponseInformation?: boolean
  requestProblemInformation?: boolean
  userProperties?: UserProperties
  authenticationMethod?: string
  authenticationData?: Buffer
}

export interface ConnackProperties {
  sessionExpiryInterval?: number
  receiveMaximum?: number
  maximumQoS?: number
  retainAvailable?: boolean
  maximumPacketSize?: number
  assignedClientIdentifier?: string
  topicAliasMaximum?: number
  reasonString?: string
  userProperties?: UserProperties
  wildcardSubscriptionAvailable?: boolean
  subscriptionIdentifiersAvailable?: boolean
  sharedSubscriptionAvailable?: boolean
  serverKeepAlive?: number
  responseInformation?: string
  serverReference?: string
  authenticationMethod?: string
  authenticationData?: Buffer
}

export interface ReasonProperties {
  reasonString?: string
  userProperties?: UserProperties
}

export interface Will {
  topic: string
  payload: Buffer
  qos: QoS
  retain: boolean
  properties?: WillProperties
}

export interface ConnectPacket {
  cmd: 'connect'
  protocolId: 'MQTT' | 'MQIsdp'
  protocolVersion: ProtocolVersion
  clientId: string
  clean: boolean
  keepalive: number
  username?: string
  password?: Buffer
  will?: Will
  properties?: ConnectProperties
}

export interface ConnackPacket {
  cmd: 'connack'
  sessionPresent: boolean
  /** 5.0 reason code; the encoder down-maps it to a 3.1.1 return code. */
  reasonCode: number
  properties?: ConnackProperties
}

export interface PublishPacket {
  cmd: 'publish'
  topic: string
  payload: Buffer
  qos: QoS
  retain: boolean
  dup: boolean
  /** Present exactly when qos > 0 [MQTT-2.2.1-2]. */
  messageId?: number
  properties?: PublishProperties
}

export type AckCmd = 'puback' | 'pubrec' | 'pubrel' | 'pubcomp'

export interface AckPacket<C extends AckCmd = AckCmd> {
  cmd: C
  messageId: number
  reasonCode?: number
  properties?: ReasonProperties
}
export type PubackPacket = AckPacket<'puback'>
export type PubrecPacket = AckPacket<'pubrec'>
export type PubrelPacket = AckPacket<'pubrel'>
export type PubcompPacket = AckPacket<'pubcomp'>

export interface Subscription {
  topic: string
  qos: QoS
  /** No Local (5.0) */
  nl?: boolean
  /** Retain As Published (5.0) */
  rap?: boolean
  /** Retain Handling 0, 1 or 2 (5.0) */
  rh?: number
}

export interface SubscribePacket {
  cmd: 'subscribe'
  messageId: number
  subscriptions: Subscription[]
  properties?: { subscriptionIdentifier?: number; userProperties?: UserProperties }
}

export interface SubackPacket {
  cmd: 'suback'
  messageId: number
  /** 5.0 reason codes, one per filter; the encoder down-maps failures to 0x80 for 3.1.1. */
  granted: number[]
  properties?: ReasonProperties
}

export interface UnsubscribePacket {
  cmd: 'unsubscribe'
  messageId: number
  unsubscriptions: string[]
  properties?: { userProperties?: UserProperties }
}

export interface UnsubackPacket {
  cmd: 'unsuback'
  messageId: number
  /** 5.0 reason codes, one per filter; 3.1.1 UNSUBACK carries none. */
  granted: number[]
  properties?: ReasonProperties
}

export interface PingreqPacket { cmd: 'pingreq' }
export interface PingrespPacket { cmd: 'pingresp' }

export interface DisconnectProperties {
  sessionExpiryInterval?: number
  reasonString?: string
  userProperties?: UserProperties
  serverReference?: string
}

export interface DisconnectPacket {
  cmd: 'disconnect'
  reasonCode?: number
  properties?: DisconnectProperties
}

export interface AuthPacket {
  cmd: 'auth'
  reasonCode: number
  properties?: {
    authenticationMethod?: string
    authenticationData?: Buffer
    reasonString?: string
    userProperties?: UserProperties
  }
}

/** What a client may send to the broker. */
export type InboundPacket =
  | ConnectPacket
  | PublishPacket
  | PubackPacket
  | PubrecPacket
  | PubrelPacket
  | PubcompPacket
  | SubscribePacket
  | UnsubscribePacket
  | PingreqPacket
  | DisconnectPacket
  | AuthPacket

/** What the broker sends to a client. */
export type OutboundPacket =
  | ConnackPacket
  | PublishPacket
  | PubackPacket
  | PubrecPacket
  | PubrelPacket
  | PubcompPacket
  | SubackPacket
  | UnsubackPacket
  | PingrespPacket
  | DisconnectPacket
  | AuthPacket

export type InboundCmd = InboundPacket['cmd']

/** Control packet type numbers, the high nibble of the first byte (spec section 2.1.2). */
export const PacketType = {
  Connect: 1,
  Connack: 2,
  Publish: 3,
  Puback: 4,
  Pubrec: 5,
  Pubrel: 6,
  Pubcomp: 7,
  Subscribe: 8,
  Suback: 9,
  Unsubscribe: 10,
  Unsuback: 11,
  Pingreq: 12,
  Pingresp: 13,
  Disconnect: 14,
  Auth: 15,
} as const
