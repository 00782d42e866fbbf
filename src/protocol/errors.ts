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

export const isMqttError = (err: unknown): err is MqttError => err instanceof MqttError
