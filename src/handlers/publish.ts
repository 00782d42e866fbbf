import { answerToReason } from '../auth/index.js'
import {
  type AckPacket, MqttError, ReasonCode, protocolError, topicNameInvalid,
  type PublishPacket, type PublishProperties, type QoS,
} from '../protocol/index.js'
import type { PublishWrite, StoredMessage } from '../persistence/index.js'
import { validateTopicName } from '../router/index.js'
import type { Session } from '../session/index.js'
import type { ClientContext } from './context.js'

/**
 * Inbound PUBLISH: resolve the topic alias → validate → exactly-once check → authorize →
 * route → commit → acknowledge.
 *
 * QoS 2 is routed on PUBLISH (method B of 4.3.3, as aedes does), not on PUBREL: subscribers get
 * the message one round trip sooner, and only the packet id has to be remembered until PUBREL,
 * not the message [MQTT-4.3.3-10]. The acknowledgement goes out only after the store has
 * written the retained message and every persistent subscriber's queue entry (docs/architecture.md).
 */
export function handlePublish(ctx: ClientContext, packet: PublishPacket): void {
  const session = ctx.session as Session
  const topic = resolveTopic(ctx, packet)
  const { limits } = ctx.core.config
  const problem = validateTopicName(topic, { maxLength: limits.maxTopicLength, maxLevels: limits.maxTopicLevels })
  if (problem !== null) throw topicNameInvalid(problem)

  const { config } = ctx.core
  if (packet.qos > config.maxQos) {
    throw new MqttError('MQTT_QOS_NOT_SUPPORTED', ReasonCode.QoSNotSupported,
      `PUBLISH at QoS ${packet.qos} but the server's Maximum QoS is ${config.maxQos} [MQTT-3.2.2-11]`)
  }
  if (packet.retain && !config.retainAvailable) {
    throw new MqttError('MQTT_RETAIN_NOT_SUPPORTED', ReasonCode.RetainNotSupported,
      'retained PUBLISH but this server has retainAvailable: false [MQTT-3.2.2-14]')
  }
  const id = packet.messageId ?? 0
  if (packet.qos > 0) {
    if (packet.qos === 2 && session.incoming.has(id)) {
      // A resent QoS 2 PUBLISH before PUBREL is not routed again [MQTT-4.3.3-10].
      ctx.ackAfter(null, { cmd: 'pubrec', messageId: id })
      return
    }
    checkReceiveMaximum(ctx, session, packet.qos, limits.receiveMaximum)
  }
  if (!ctx.core.security.canPublish(ctx, topic)) {
    // The ACL file, or a $SYS/ topic: refused before any hook is asked.
    refusePublish(ctx, packet, topic, ReasonCode.NotAuthorized)
    return
  }
  const hook = ctx.core.hooks.authorizePublish
  if (hook === undefined) {
    route(ctx, session, packet, topic)
    return
  }
  ctx.hold(authorizeThenRoute(ctx, session, packet, topic))
}

async function authorizeThenRoute(ctx: ClientContext, session: Session, packet: PublishPacket, topic: string): Promise<void> {
  const hook = ctx.core.hooks.authorizePublish
  if (hook === undefined) return
  const code = answerToReason(await hook(ctx.info(), topic, { qos: packet.qos, retain: packet.retain }), ReasonCode.NotAuthorized)
  if (code === 0) {
    route(ctx, session, packet, topic)
    return
  }
  refusePublish(ctx, packet, topic, code)
}

function refusePublish(ctx: ClientContext, packet: PublishPacket, topic: string, code: number): void {
  ctx.log.warn({ topic, reasonCode: code }, 'publish not authorized')
  // 5.0 answers with the reason code; 3.1.1 has none, so the message is dropped silently.
  if (packet.qos === 0) return
  const ack = ackFor(packet, code, ctx.protocolVersion)
  if (ctx.protocolVersion === 5) {
    const quoted = topic.length <= 60 ? topic : `${topic.slice(0, 57)}...`
    const why = code === ReasonCode.NotAuthorized ? 'not authorized to publish to' : `publish refused (0x${code.toString(16)}) for`
    ack.properties = { reasonString: `${why} "${quoted}"; the message was not delivered` }
  }
  ctx.ackAfter(null, ack)
}

function route(ctx: ClientContext, session: Session, packet: PublishPacket, topic: string): void {
  const { core } = ctx
  const message = toMessage(ctx, packet, topic)
  const write: PublishWrite = {}
  core.router.publish(message, write)
  core.events.emit('published', message, ctx.clientId)
  if (packet.qos === 2) {
    const id = packet.messageId ?? 0
    session.incoming.add(id)
    if (session.isPersistent) write.incoming = { clientId: ctx.clientId, messageId: id }
  }
  const needsWrite = write.retained !== undefined || write.incoming !== undefined || write.enqueue !== undefined
  const commit = needsWrite ? core.store.commit(write) : null
  if (packet.qos === 0) {
    if (commit !== null) ctx.track(commit)
    return
  }
  const reason = core.router.lastMatchCount === 0 ? ReasonCode.NoMatchingSubscribers : ReasonCode.Success
  // QoS 2 counts against Receive Maximum through `incoming` until PUBREL (checkReceiveMaximum).
  const isCounted = commit !== null && packet.qos === 1
  if (isCounted) session.inboundInflight++
  ctx.ackAfter(commit, ackFor(packet, reason, ctx.protocolVersion), isCounted ? session : undefined)
}

/**
 * The server's Receive Maximum: a QoS 1 PUBLISH is in flight until its PUBACK is sent, a QoS 2
 * PUBLISH until PUBCOMP, i.e. while its packet id waits for PUBREL (5.0 section 3.3.4). A 5.0
 * client beyond it gets DISCONNECT 0x93 [MQTT-3.3.4-9].
 *
 * 3.1.1 has no Receive Maximum, but the broker still has to remember every QoS 2 id until its
 * PUBREL: a client that never sends PUBREL could pin 65535 of them (and, for a persistent
 * session, as many store entries). So a 3.1.1 client with `receiveMaximum` QoS 2 ids unreleased
 * is disconnected too. Answering PUBREC and dropping the message instead (as Mosquitto does)
 * would tell the client "received" for a message that never was; a closed connection makes it
 * resend. 3.1.1 QoS 1 is not capped: its acknowledgements only wait for the store.
 */
function checkReceiveMaximum(ctx: ClientContext, session: Session, qos: QoS, max: number): void {
  const pendingRelease = session.incomingCount
  if (ctx.protocolVersion === 5 ? session.inboundInflight + pendingRelease < max : qos === 1 || pendingRelease < max) return
  throw new MqttError('MQTT_RECEIVE_MAXIMUM_EXCEEDED', ReasonCode.ReceiveMaximumExceeded,
    `more than ${max} unacknowledged QoS 1/2 publishes (${pendingRelease} QoS 2 awaiting PUBREL); ` +
    'wait for acknowledgements, or raise limits.receiveMaximum')
}

function ackFor(packet: PublishPacket, reasonCode: number, version: number): AckPacket<'puback' | 'pubrec'> {
  const ack = { cmd: packet.qos === 1 ? 'puback' as const : 'pubrec' as const, messageId: packet.messageId ?? 0 }
  return version === 5 && reasonCode !== 0 ? { ...ack, reasonCode } : ack
}

/** Topic Alias handling, client to server [MQTT-3.3.2-7..12]. */
function resolveTopic(ctx: ClientContext, packet: PublishPacket): string {
  const alias = packet.properties?.topicAlias
  if (alias === undefined) {
    // 5.0 section 3.3.2.3.4 names this a Protocol Error (0x82), not 0x90 [MQTT-4.7.3-1].
    if (packet.topic === '') throw protocolError('empty topic name and no topic alias; set a topic or a Topic Alias [MQTT-4.7.3-1]')
    return packet.topic
  }
  const max = ctx.core.config.limits.topicAliasMaximum
  if (alias === 0 || alias > max) {
    throw new MqttError('MQTT_TOPIC_ALIAS_INVALID', ReasonCode.TopicAliasInvalid,
      `topic alias ${alias} is outside 1..${max} (the Topic Alias Maximum sent in CONNACK)`)
  }
  if (packet.topic !== '') {
    ctx.topicAliases.set(alias, packet.topic)
    return packet.topic
  }
  const topic = ctx.topicAliases.get(alias)
  if (topic === undefined) throw protocolError(`topic alias ${alias} was never set on this connection`)
  return topic
}

function toMessage(ctx: ClientContext, packet: PublishPacket, topic: string): StoredMessage {
  const message: StoredMessage = {
    topic,
    payload: packet.qos > 0 || packet.retain ? unpin(packet.payload) : packet.payload,
    qos: packet.qos,
    retain: packet.retain,
    origin: ctx.clientId,
  }
  const props = packet.properties
  if (props !== undefined) {
    const { topicAlias: _alias, subscriptionIdentifier: _ids, ...forward } = props
    if (hasKeys(forward)) message.properties = forward as PublishProperties
    if (props.messageExpiryInterval !== undefined) message.expiresAt = Date.now() + props.messageExpiryInterval * 1000
  }
  return message
}

/**
 * The decoder hands out payloads as views of the socket's chunk. A message that may be held
 * (queued, retained) gets its own copy when it is much smaller than that chunk, so it does not
 * keep the whole chunk alive.
 */
function unpin(payload: Buffer): Buffer {
  return payload.buffer.byteLength > 4 * payload.length + 64 ? Buffer.from(payload) : payload
}

function hasKeys(o: object): boolean {
  for (const _k in o) return true
  return false
}
