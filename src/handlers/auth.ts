import { protocolError, type AuthPacket } from '../protocol/index.js'
import type { ClientContext } from './context.js'

/** AUTH outside an enhanced-authentication exchange is a protocol error [MQTT-4.12.0-1 area]. */
export function handleAuth(_ctx: ClientContext, _packet: AuthPacket): void {
  throw protocolError('AUTH received but no authentication method was negotiated in CONNECT')
}
