import type { ConnectPacket, Will } from '../protocol/index.js'
import { ReasonCode } from '../protocol/index.js'
import type { Session } from '../session/index.js'
import type { ClientContext } from './context.js'

/*
 * The CONNECT steps that belong to security (src/auth/security.ts decides; these apply the
 * decisions to the connection and its session).
 */

/**
 * Authenticates a CONNECT (without an Authentication Method); returns a 5.0 reason code, 0 to
 * allow. With `useIdentityAsUsername`, a TLS or WSS client's verified certificate CN is its
 * username and needs no password; such a client without one is refused, as Mosquitto does.
 */
export async function authenticateConnect(ctx: ClientContext, packet: ConnectPacket): Promise<number> {
  const { config, security } = ctx.core
  let identity: string | undefined
  if (config.useIdentityAsUsername && (ctx.transport === 'tls' || ctx.transport === 'wss')) {
    identity = ctx.certificateCommonName
    if (identity === undefined) return ReasonCode.NotAuthorized
    ctx.username = identity
  }
  return security.authenticate({
    clientId: ctx.clientId,
    username: ctx.username,
    password: packet.password,
    remoteAddress: ctx.remoteAddress,
    protocolVersion: packet.protocolVersion,
  }, ctx.transport, identity)
}

/**
 * The will, if the client may publish it: a will to a topic the ACL forbids (or to `$SYS/`) is
 * dropped at CONNECT and never published, as Mosquitto never publishes it. The connection is
 * not refused, since MQTT gives no reason code that would tell the client which part failed.
 */
export function permittedWill(ctx: ClientContext, will: Will | undefined): Will | undefined {
  if (will === undefined || ctx.core.security.canPublish(ctx.info(), will.topic)) return will
  ctx.log.warn({ topic: will.topic }, 'will message not authorized: it will not be published')
  return undefined
}

/**
 * Puts the client's read check on its session, and re-checks a resumed session's
 * subscriptions against the rules in force now (the ACL file may have changed, or the same
 * client id may come back as another user): those no longer allowed are dropped.
 */
export async function applyAccessControl(ctx: ClientContext, session: Session, sessionPresent: boolean): Promise<void> {
  const { security, router, store } = ctx.core
  const client = ctx.info()
  session.mayRead = security.reader(client)
  if (!sessionPresent || !security.hasAcl) return
  const dropped: string[] = []
  for (const filter of session.subscriptions.keys()) {
    if (security.canSubscribe(client, filter)) continue
    router.unsubscribe(session, filter)
    dropped.push(filter)
  }
  if (dropped.length === 0) return
  for (const filter of dropped) session.subscriptions.delete(filter)
  ctx.log.warn({ filters: dropped }, 'subscriptions no longer allowed by the ACL were removed')
  if (session.isPersistent) await store.removeSubscriptions(ctx.clientId, dropped)
}
