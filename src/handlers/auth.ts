import { ReasonCode, protocolError, type AuthPacket } from '../protocol/index.js'
import type { ClientContext } from './context.js'
import { runAuthExchange } from './enhanced-auth.js'

/**
 * AUTH after CONNACK: re-authentication (0x19) with the method negotiated at CONNECT
 * [MQTT-4.12.1-1]. Success answers AUTH 0x00; failure ends the connection with its reason
 * code [MQTT-4.12.1-2]. Any other AUTH here is a protocol error.
 */
export function handleAuth(ctx: ClientContext, packet: AuthPacket): void {
  const method = packet.properties?.authenticationMethod
  if (ctx.authMethod === undefined) throw protocolError('AUTH received but no authentication method was negotiated in CONNECT')
  if (packet.reasonCode !== ReasonCode.ReAuthenticate) throw protocolError('AUTH 0x18 outside an authentication exchange')
  if (method !== ctx.authMethod) throw protocolError('re-authentication must use the method negotiated at CONNECT [MQTT-4.12.1-1]')
  ctx.hold(reauthenticate(ctx, method, packet.properties?.authenticationData))
}

async function reauthenticate(ctx: ClientContext, method: string, data: Buffer | undefined): Promise<void> {
  const step = await runAuthExchange(ctx, method, data)
  if (step.kind === 'success') {
    ctx.log.info('re-authenticated')
    const properties = step.data === undefined ? { authenticationMethod: method } : { authenticationMethod: method, authenticationData: step.data }
    ctx.send({ cmd: 'auth', reasonCode: ReasonCode.Success, properties })
    return
  }
  const reasonCode = step.kind === 'failure' ? step.reasonCode : ReasonCode.NotAuthorized
  ctx.log.warn({ reasonCode }, 're-authentication failed')
  await ctx.close({ reasonCode, publishWill: true, reason: step.kind === 'failure' ? step.reason : 're-authentication failed' })
}
