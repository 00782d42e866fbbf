import { protocolError, type InboundPacket } from '../protocol/index.js'
import { handlePingreq, handlePuback, handlePubcomp, handlePubrec, handlePubrel } from './acks.js'
import { handleAuth } from './auth.js'
import { handleConnect } from './connect.js'
import type { ClientContext } from './context.js'
import { handleDisconnect } from './disconnect.js'
import { handlePublish } from './publish.js'
import { handleSubscribe } from './subscribe.js'
import { handleUnsubscribe } from './unsubscribe.js'

export type { BrokerEvents, ClientContext, ClientLog, CloseOptions, Core, LogLevel } from './context.js'

/**
 * The one dispatch: an exhaustive switch, so adding a packet type without a handler fails to
 * compile. Only CONNECT is accepted before the session exists [MQTT-3.1.0-1], and never twice
 * [MQTT-3.1.0-2].
 */
export function dispatch(ctx: ClientContext, packet: InboundPacket): void {
  if (packet.cmd === 'connect') {
    if (ctx.session !== null || ctx.clientId !== '') throw protocolError('second CONNECT on one connection [MQTT-3.1.0-2]')
    handleConnect(ctx, packet)
    return
  }
  if (ctx.session === null) throw protocolError(`${packet.cmd.toUpperCase()} before CONNECT [MQTT-3.1.0-1]`)
  switch (packet.cmd) {
    case 'publish': return handlePublish(ctx, packet)
    case 'puback': return handlePuback(ctx, packet)
    case 'pubrec': return handlePubrec(ctx, packet)
    case 'pubrel': return handlePubrel(ctx, packet)
    case 'pubcomp': return handlePubcomp(ctx, packet)
    case 'subscribe': return handleSubscribe(ctx, packet)
    case 'unsubscribe': return handleUnsubscribe(ctx, packet)
    case 'pingreq': return handlePingreq(ctx)
    case 'disconnect': return handleDisconnect(ctx, packet)
    case 'auth': return handleAuth(ctx, packet)
    default: {
      const never: never = packet
      throw protocolError(`unexpected packet ${String(never)}`)
    }
  }
}
