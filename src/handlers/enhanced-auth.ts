import type { AuthStep } from '../auth/index.js'
import { ReasonCode } from '../protocol/index.js'
import type { ClientContext } from './context.js'

/**
 * Drives one enhanced-authentication exchange (MQTT 5.0 section 4.12): AUTH 0x18 challenges
 * until the method succeeds or fails. The caller sends the final packet (CONNACK at connect,
 * AUTH 0x00 on re-authentication) and decides what a failure closes.
 */
export async function runAuthExchange(ctx: ClientContext, method: string, data: Buffer | undefined): Promise<AuthStep> {
  const authenticator = ctx.core.authMethods.get(method)
  if (authenticator === undefined) {
    return { kind: 'failure', reasonCode: ReasonCode.BadAuthenticationMethod, reason: `authentication method ${method} is not supported` }
  }
  const exchange = authenticator.begin(ctx.clientId)
  let step = await exchange.start(data)
  while (step.kind === 'continue') {
    ctx.send({
      cmd: 'auth',
      reasonCode: ReasonCode.ContinueAuthentication,
      properties: { authenticationMethod: method, authenticationData: step.data },
    })
    const reply = await ctx.nextAuth()
    // The method must stay the same throughout [MQTT-4.12.0-5]; only 0x18 continues it.
    if (reply.properties?.authenticationMethod !== method || reply.reasonCode !== ReasonCode.ContinueAuthentication) {
      return { kind: 'failure', reasonCode: ReasonCode.ProtocolError, reason: 'AUTH with another method or reason code during the exchange' }
    }
    step = await exchange.next(reply.properties.authenticationData)
  }
  return step
}
