/**
 * The protocol layer's only door: bytes to validated packets (`Decoder`), packets to bytes
 * (`encode`, with the 3.1.1 down-mapping), the packet types, reason codes and errors.
 */
export * from './packets.js'
export * from './errors.js'
export * from './reason-codes.js'
export { Decoder, type DecoderOptions, type PacketSink } from './decoder.js'
export {
  encode,
  encodePublish,
  encodePublishHead,
  patchMessageId,
  publishForSubscriber,
  publishMessageIdOffset,
  setPublishDup,
  setPublishRetain,
} from './encoder.js'
