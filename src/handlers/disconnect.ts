import { ReasonCode, protocolError, type DisconnectPacket } from '../protocol/index.js'
import type { Session } from '../session/index.js'
import type { ClientContext } from './context.js'

/**
 * Client DISCONNECT: no will unless 5.0 reason 0x04 [MQTT-3.14.4-3]. A 5.0 client may change
 * its Session Expiry Interval here, but not from 0 to non-zero [MQTT-3.14.2-2].
 */
export function handleDisconnect(ctx: ClientContext, packet: DisconnectPacket): void {
  const session = ctx.session as Session
  const expiry = packet.properties?.sessionExpiryInterval
  if (expiry !== undefined) {
    if (session.expiryInterval === 0 && expiry !== 0) {
      throw protocolError('Session Expiry Interval cannot be raised from 0 at DISCONNECT [MQTT-3.14.2-2]')
    }
    session.expiryInterval = Math.min(expiry, ctx.core.config.limits.maxSessionExpiryInterval)
  }
  ctx.isDisconnecting = true
  const withWill = packet.reasonCode === ReasonCode.DisconnectWithWill
  ctx.hold(ctx.close({ publishWill: withWill, reason: withWill ? 'client disconnected with will' : 'client disconnected' }))
}
