import { randomBytes } from 'node:crypto'
import { ReasonCode, topicNameInvalid, type ConnackProperties, type ConnectPacket } from '../protocol/index.js'
import { validateTopicName } from '../router/index.js'
import { NEVER_EXPIRES } from '../session/index.js'
import { applyAccessControl, authenticateConnect, permittedWill } from './access.js'
import type { ClientContext } from './context.js'
import { runAuthExchange } from './enhanced-auth.js'

/**
 * CONNECT, as a table of contents: client id → keepalive → authentication → takeover →
 * session → CONNACK → resume. Each refusal answers CONNACK with a reason code and closes
 * [MQTT-3.2.2-7]; the encoder maps codes down for 3.1.1 clients.
 */
export function handleConnect(ctx: ClientContext, packet: ConnectPacket): void {
  ctx.hold(connect(ctx, packet))
}

async function connect(ctx: ClientContext, packet: ConnectPacket): Promise<void> {
  ctx.setProtocolVersion(packet.protocolVersion)
  // From the CONNACK on, a refusal included [MQTT-3.2.2-19] [MQTT-3.1.2-29].
  const maximumPacketSize = packet.properties?.maximumPacketSize
  if (maximumPacketSize !== undefined) ctx.maxOutboundPacketSize = maximumPacketSize
  if (packet.properties?.requestProblemInformation === false) ctx.wantsProblemInfo = false
  const clientId = chooseClientId(ctx, packet)
  if (clientId === null) {
    return refuse(ctx, ReasonCode.ClientIdentifierNotValid,
      `the Client Identifier must be 1 to ${ctx.core.config.limits.maxClientIdLength} bytes (empty only with Clean Start at 3.1.1)`)
  }
  ctx.clientId = clientId
  ctx.username = packet.username

  const keepalive = chooseKeepalive(ctx, packet)
  if (keepalive === null) return refuse(ctx, ReasonCode.ClientIdentifierNotValid, 'keepalive above maxKeepalive')

  const { config } = ctx.core
  if (packet.protocolVersion === 5 && config.redirect !== 'none') {
    // Server redirection for draining a node (MQTT 5.0 section 4.11).
    const code = config.redirect === 'server-moved' ? ReasonCode.ServerMoved : ReasonCode.UseAnotherServer
    return refuse(ctx, code, 'this server is being drained: connect to the Server Reference', config.serverReference)
  }
  if (packet.will !== undefined) checkWillTopic(ctx, packet.will.topic)
  const willProblem = checkWill(ctx, packet)
  if (willProblem !== null) return refuse(ctx, willProblem.code, willProblem.reason)
  const method = packet.properties?.authenticationMethod
  let serverAuthData: Buffer | undefined
  if (method !== undefined) {
    const step = await runAuthExchange(ctx, method, packet.properties?.authenticationData)
    if (step.kind !== 'success') {
      return refuse(ctx, step.kind === 'failure' ? step.reasonCode : ReasonCode.NotAuthorized, step.kind === 'failure' ? step.reason : 'the authentication exchange did not complete')
    }
    ctx.authMethod = method
    if (step.username !== undefined) ctx.username = step.username
    serverAuthData = step.data
  } else {
    const authCode = await authenticateConnect(ctx, packet)
    if (authCode !== 0) return refuse(ctx, authCode, 'authentication failed: check the user name and password')
  }

  const { core } = ctx
  const previous = core.connectLocks.get(clientId)
  let release = (): void => {}
  const lock = new Promise<void>((resolve) => { release = resolve })
  core.connectLocks.set(clientId, lock)
  try {
    if (previous !== undefined) await previous
    await establish(ctx, packet, clientId, keepalive, serverAuthData)
  } finally {
    release()
    if (core.connectLocks.get(clientId) === lock) core.connectLocks.delete(clientId)
  }
}

async function establish(
  ctx: ClientContext, packet: ConnectPacket, clientId: string, keepalive: number, serverAuthData: Buffer | undefined,
): Promise<void> {
  const { core } = ctx
  const existing = core.clients.get(clientId)
  if (existing !== undefined && existing !== ctx) {
    // [MQTT-3.1.4-3]: the existing connection is closed (5.0: DISCONNECT 0x8E first).
    await existing.close({ reasonCode: ReasonCode.SessionTakenOver, publishWill: true, reason: 'session taken over: another connection connected with the same Client Identifier [MQTT-3.1.4-3]' })
  }
  const props = packet.properties
  const requestedExpiry = packet.protocolVersion === 5
    ? props?.sessionExpiryInterval ?? 0
    : packet.clean ? 0 : NEVER_EXPIRES
  const expiryInterval = Math.min(requestedExpiry, core.config.limits.maxSessionExpiryInterval)
  const { session, sessionPresent } = await core.sessions.open(clientId, {
    cleanStart: packet.clean,
    expiryInterval,
    protocolVersion: packet.protocolVersion,
  })
  session.will = permittedWill(ctx, packet.will)
  await applyAccessControl(ctx, session, sessionPresent)
  const limits = core.config.limits
  session.receiveMaximum = Math.min(props?.receiveMaximum ?? limits.maxInflight, limits.maxInflight)
  if (session.isPersistent && session.will !== undefined) await core.store.putSessionMeta(session.meta())

  const connack: ConnackProperties = {}
  if (packet.protocolVersion === 5) {
    const { config } = core
    if (packet.clientId === '') connack.assignedClientIdentifier = clientId
    if (expiryInterval !== requestedExpiry) connack.sessionExpiryInterval = expiryInterval
    if (keepalive !== packet.keepalive) connack.serverKeepAlive = keepalive
    connack.receiveMaximum = limits.receiveMaximum
    connack.maximumPacketSize = limits.maxPacketSize
    connack.topicAliasMaximum = limits.topicAliasMaximum
    if (config.maxQos < 2) connack.maximumQoS = config.maxQos // absent means 2 [MQTT-3.2.2-9]
    connack.retainAvailable = config.retainAvailable
    connack.wildcardSubscriptionAvailable = config.wildcardSubscriptions
    connack.subscriptionIdentifiersAvailable = config.subscriptionIdentifiers
    connack.sharedSubscriptionAvailable = config.sharedSubscriptions
    if (props?.requestResponseInformation === true && config.responseInformation !== '') {
      connack.responseInformation = `${config.responseInformation}${clientId}`
    }
    ctx.useOutboundAliases(Math.min(config.outboundTopicAliases, props?.topicAliasMaximum ?? 0))
    if (ctx.authMethod !== undefined) {
      connack.authenticationMethod = ctx.authMethod
      if (serverAuthData !== undefined) connack.authenticationData = serverAuthData
    }
  }
  ctx.setKeepalive(keepalive)
  // [MQTT-3.2.2-2/3]: session present only when a session was resumed.
  ctx.send({
    cmd: 'connack',
    sessionPresent: sessionPresent && !packet.clean,
    reasonCode: ReasonCode.Success,
    ...(packet.protocolVersion === 5 ? { properties: connack } : {}),
  })
  core.clients.set(clientId, ctx)
  ctx.markConnected(session)
  await session.attach(ctx.outlet, sessionPresent)
  ctx.log.info({ version: packet.protocolVersion, clean: packet.clean, keepalive, sessionPresent }, 'client connected')
  core.events.emit('clientConnected', ctx.info())
}

/**
 * A zero-length client id is assigned one by the server, at 3.1.1 only with clean session
 * [MQTT-3.1.3-6, MQTT-3.1.3-8]; 5.0 returns it as Assigned Client Identifier [MQTT-3.2.2-16].
 */
function chooseClientId(ctx: ClientContext, packet: ConnectPacket): string | null {
  const max = ctx.core.config.limits.maxClientIdLength
  if (packet.clientId === '') {
    // MQTT 3.1 has no assigned identifiers: a Client Identifier is 1 to 23 characters.
    if (packet.protocolVersion === 3 || (packet.protocolVersion === 4 && !packet.clean)) return null
    return `halyard-${randomBytes(9).toString('base64url')}`
  }
  if (Buffer.byteLength(packet.clientId) > max) return null
  return packet.clientId
}

/**
 * 5.0 clients asking for more than maxKeepalive (or 0) are told the server's value through
 * Server Keep Alive [MQTT-3.2.2-21]; 3.1.1 has no way to say so, and is refused as Mosquitto does.
 */
function chooseKeepalive(ctx: ClientContext, packet: ConnectPacket): number | null {
  const max = ctx.core.config.limits.maxKeepalive
  if (max >= 65535 || (packet.keepalive > 0 && packet.keepalive <= max)) return packet.keepalive
  if (packet.protocolVersion === 5) return max
  return null
}

/**
 * The will is published like any PUBLISH, so its topic must be a valid Topic Name: no
 * wildcards [MQTT-4.7.1-1], not empty [MQTT-4.7.3-1]. Refused as a PUBLISH to such a topic
 * would be, by closing the connection: 3.1.1 has no CONNACK code for it.
 */
function checkWillTopic(ctx: ClientContext, topic: string): void {
  const { limits } = ctx.core.config
  const problem = validateTopicName(topic, { maxLength: limits.maxTopicLength, maxLevels: limits.maxTopicLevels })
  if (problem !== null) throw topicNameInvalid(`will topic: ${problem}`)
}

/** Will QoS and Retain must fit what the server supports [MQTT-3.2.2-12, MQTT-3.2.2-13]. */
function checkWill(ctx: ClientContext, packet: ConnectPacket): { code: number; reason: string } | null {
  const will = packet.will
  if (will === undefined) return null
  const { config } = ctx.core
  if (will.qos > config.maxQos) return { code: ReasonCode.QoSNotSupported, reason: `the Will QoS ${will.qos} is above this server's Maximum QoS ${config.maxQos}: use a lower Will QoS` }
  if (will.retain && !config.retainAvailable) return { code: ReasonCode.RetainNotSupported, reason: 'this server does not support retained messages: clear the Will Retain flag' }
  return null
}

async function refuse(ctx: ClientContext, reasonCode: number, reason: string, serverReference?: string): Promise<void> {
  ctx.log.warn({ reasonCode }, `connection refused: ${reason}`)
  const hasReference = serverReference !== undefined && serverReference !== ''
  // 3.1.1 has no properties: the encoder leaves them out.
  const properties: ConnackProperties = { reasonString: reason, ...(hasReference ? { serverReference } : {}) }
  ctx.send({ cmd: 'connack', sessionPresent: false, reasonCode, properties })
  await ctx.close({ publishWill: false, reason })
}
