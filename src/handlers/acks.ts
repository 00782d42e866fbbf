import type { PubackPacket, PubcompPacket, PubrecPacket, PubrelPacket } from '../protocol/index.js'
import type { Session } from '../session/index.js'
import type { ClientContext } from './context.js'

/*
 * Acknowledgements of the broker's own deliveries (PUBACK, PUBREC, PUBCOMP) and PUBREL for the
 * client's QoS 2 publishes. An ack for an unknown packet id is ignored, as the spec lets a
 * receiver do after a reconnect; 5.0 PUBREL for an unknown id gets PUBCOMP 0x92.
 */
export function handlePuback(ctx: ClientContext, packet: PubackPacket): void {
  const session = ctx.session as Session
  if (!session.acknowledge(packet.messageId, 'sent')) ctx.log.debug({ messageId: packet.messageId }, 'PUBACK for unknown packet id')
}

export function handlePubrec(ctx: ClientContext, packet: PubrecPacket): void {
  const session = ctx.session as Session
  const failed = packet.reasonCode !== undefined && packet.reasonCode >= 0x80
  if (!session.received(packet.messageId, failed)) {
    // 5.0: answer PUBREL 0x92 (Packet Identifier not found) so the client can clean up; 3.1.1: ignore.
    if (ctx.protocolVersion === 5) ctx.send({ cmd: 'pubrel', messageId: packet.messageId, reasonCode: 0x92 })
  }
}

export function handlePubcomp(ctx: ClientContext, packet: PubcompPacket): void {
  const session = ctx.session as Session
  if (!session.acknowledge(packet.messageId, 'released')) ctx.log.debug({ messageId: packet.messageId }, 'PUBCOMP for unknown packet id')
}

/** PUBREL releases a QoS 2 packet id: answer PUBCOMP [MQTT-4.3.3-11]. */
export function handlePubrel(ctx: ClientContext, packet: PubrelPacket): void {
  const session = ctx.session as Session
  const id = packet.messageId
  if (!session.incoming.delete(id)) {
    const ack = ctx.protocolVersion === 5
      ? { cmd: 'pubcomp' as const, messageId: id, reasonCode: 0x92 }
      : { cmd: 'pubcomp' as const, messageId: id }
    ctx.ackAfter(null, ack)
    return
  }
  const write = session.isPersistent ? ctx.core.store.removeIncoming(ctx.clientId, id) : null
  ctx.ackAfter(write, { cmd: 'pubcomp', messageId: id })
}

export function handlePingreq(ctx: ClientContext): void {
  ctx.send({ cmd: 'pingresp' }) // [MQTT-3.12.4-1]
}

