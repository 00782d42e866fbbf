import { ReasonCode } from './reason-codes.js'

/**
 * The one error type the broker throws on purpose. `code` is stable and what tests assert;
 * `reasonCode` is the MQTT 5.0 reason code sent (DISCONNECT / CONNACK) when it ends a connection.
 */
export class MqttError extends Error {
  readonly code: string
  readonly reasonCode: number

  constructor(code: string, reasonCode: number, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'MqttError'
    this.code = code
    this.reasonCode = reasonCode
  }
}

export const malformed = (message: string, cause?: unknown): MqttError =>
  new MqttError('MQTT_MALFORMED_PACKET', ReasonCode.MalformedPacket, message, { cause })

export const protocolError = (message: string): MqttError =>
  new MqttError('MQTT_PROTOCOL_ERROR', ReasonCode.ProtocolError, message)

export const packetTooLarge = (size: number, max: number): MqttError =>
  new MqttError('MQTT_PACKET_TOO_LARGE', ReasonCode.PacketTooLarge,
    `packet of ${size} bytes exceeds the maximum packet size of ${max} bytes; raise maxPacketSize or send smaller packets`)

export const topicNameInvalid = (message: string): MqttError =>
  new MqttError('MQTT_TOPIC_INVALID', ReasonCode.TopicNameInvalid, message)

export const topicFilterInvalid = (message: string): MqttError =>
  new MqttError('MQTT_TOPIC_FILTER_INVALID', ReasonCode.TopicFilterInvalid, message)

/**
 * The CONNECT asks for a protocol level this broker does not speak. Distinct from a malformed
 * packet because the connection must still answer it: CONNACK 0x01 (3.1.1) or 0x84 (5.0),
 * then close [MQTT-3.1.2-2]. `protocolLevel` is the raw level byte the client sent (-1 when
 * unknown), so the connection can pick the CONNACK format.
 */
export class UnsupportedProtocolVersionError extends MqttError {
  readonly protocolLevel: number

  constructor(protocolLevel: number, protocolName: string) {
    super('MQTT_UNSUPPORTED_PROTOCOL_VERSION', ReasonCode.UnsupportedProtocolVersion,
      `protocol level ${protocolLevel} with protocol name "${protocolName}" is not supported; ` +
      'use MQTT 3.1 (name MQIsdp, level 3), 3.1.1 (MQTT, 4) or 5.0 (MQTT, 5)')
    this.name = 'UnsupportedProtocolVersionError'
    this.protocolLevel = protocolLevel
  }
}

export const unsupportedProtocolVersion = (protocolLevel: number, protocolName: string): MqttError =>
  new UnsupportedProtocolVersionError(protocolLevel, protocolName)

export const topicAliasInvalid = (message: string): MqttError =>
  new MqttError('MQTT_TOPIC_ALIAS_INVALID', ReasonCode.TopicAliasInvalid, message)

export const isMqttError = (err: unknown): err is MqttError => err instanceof MqttError
