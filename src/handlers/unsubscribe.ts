import { ReasonCode, type UnsubscribePacket } from '../protocol/index.js'
import type { Session } from '../session/index.js'
import type { ClientContext } from './context.js'

/**
 * UNSUBSCRIBE: remove each filter (exact string match [MQTT-3.10.4-1]); UNSUBACK carries one
 * code per filter at 5.0, 0x11 where no subscription existed [MQTT-3.11.3-1].
 */
export function handleUnsubscribe(ctx: ClientContext, packet: UnsubscribePacket): void {
  ctx.hold(unsubscribe(ctx, packet))
}

async function unsubscribe(ctx: ClientContext, packet: UnsubscribePacket): Promise<void> {
  const session = ctx.session as Session
  const granted: number[] = []
  const removed: string[] = []
  for (const filter of packet.unsubscriptions) {
    const existed = session.subscriptions.delete(filter)
    if (existed) {
      ctx.core.router.unsubscribe(session, filter)
      removed.push(filter)
    }
    granted.push(existed ? ReasonCode.Success : ReasonCode.NoSubscriptionExisted)
  }
  if (session.isPersistent && removed.length > 0) await ctx.core.store.removeSubscriptions(ctx.clientId, removed)
  const missing = packet.unsubscriptions.filter((_f, i) => granted[i] === ReasonCode.NoSubscriptionExisted)
  // Not a failure, but a common surprise (filters match exactly, "a/+" is not "a/b" [MQTT-3.10.4-1]).
  const reasonString = missing.length === 0
    ? undefined
    : `no subscription existed for ${missing.slice(0, 3).map((f) => `"${f.length <= 60 ? f : `${f.slice(0, 57)}...`}"`).join(', ')}` +
      `${missing.length > 3 ? ` and ${missing.length - 3} more` : ''}; an UNSUBSCRIBE filter must equal the SUBSCRIBE filter exactly`
  ctx.send({ cmd: 'unsuback', messageId: packet.messageId, granted, ...(reasonString === undefined ? {} : { properties: { reasonString } }) })
}
