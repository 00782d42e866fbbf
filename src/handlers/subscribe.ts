import { answerToReason } from '../auth/index.js'
import { MqttError, ReasonCode, protocolError, type QoS, type SubscribePacket, type Subscription } from '../protocol/index.js'
import type { PublishWrite, StoredMessage, SubscriptionRecord } from '../persistence/index.js'
import { isWildcardFilter, parseSharedFilter, validateTopicFilter } from '../router/index.js'
import type { Session } from '../session/index.js'
import type { ClientContext } from './context.js'

/**
 * SUBSCRIBE: per filter validate → authorize → add to the router; then store (persistent
 * sessions), SUBACK with one code per filter [MQTT-3.8.4-6], and the retained messages
 * (after SUBACK, with RETAIN=1 [MQTT-3.3.1-8]). Refusals are per-filter codes, not errors.
 */
export function handleSubscribe(ctx: ClientContext, packet: SubscribePacket): void {
  const subId = packet.properties?.subscriptionIdentifier
  if (subId === 0) throw protocolError('Subscription Identifier 0 is not allowed (MQTT 5.0 section 3.8.2.1.2)')
  if (subId !== undefined && !ctx.core.config.subscriptionIdentifiers) {
    throw new MqttError('MQTT_SUBSCRIPTION_IDS_NOT_SUPPORTED', ReasonCode.SubscriptionIdentifiersNotSupported,
      'Subscription Identifiers are not supported by this server, as its CONNACK said (MQTT 5.0 section 3.2.2.3.12)')
  }
  for (const sub of packet.subscriptions) {
    // [MQTT-3.8.3-4] No Local on a shared subscription is a protocol error.
    if (sub.nl === true && parseSharedFilter(sub.topic) !== null) {
      throw protocolError(`No Local set on shared subscription ${sub.topic}`)
    }
  }
  ctx.hold(subscribe(ctx, packet, subId))
}

async function subscribe(ctx: ClientContext, packet: SubscribePacket, subId: number | undefined): Promise<void> {
  const session = ctx.session as Session
  try {
    await subscribeHeld(ctx, session, packet, subId)
  } finally {
    session.releaseLive()
  }
}

/**
 * The steps of SUBSCRIBE. Live messages to this session are held from the moment a filter that
 * may bring retained messages is in the router until those retained messages are delivered:
 * they are read from the store meanwhile, and must not arrive after a newer live message from
 * the same publisher [MQTT-4.6.0-6], which would leave the client holding the stale value.
 */
async function subscribeHeld(ctx: ClientContext, session: Session, packet: SubscribePacket, subId: number | undefined): Promise<void> {
  const { core } = ctx
  const granted: number[] = []
  const added: SubscriptionRecord[] = []
  const retainedFor: SubscriptionRecord[] = []
  const refusals = new Refusals()
  for (const sub of packet.subscriptions) {
    const before = refusals.count
    const code = await check(ctx, session, sub, refusals)
    granted.push(code)
    if (code > 2) {
      if (refusals.count === before) refusals.note(sub.topic, code, 'refused')
      continue
    }
    const record = toRecord(sub, code as QoS, subId)
    // Retain Handling: 0 always, 1 only for a new subscription, 2 never [MQTT-3.3.1-9..11];
    // never for a shared subscription (MQTT 5.0 section 4.8.2).
    const rh = record.retainHandling
    const mayGetRetained = rh !== 2 && parseSharedFilter(record.filter) === null
    if (mayGetRetained) session.holdLive()
    const existed = core.router.subscribe(session, record)
    session.subscriptions.set(record.filter, record)
    added.push(record)
    if (mayGetRetained && (rh === 0 || !existed)) retainedFor.push(record)
  }
  refusals.log(ctx)
  if (session.isPersistent && added.length > 0) await core.store.putSubscriptions(ctx.clientId, added)
  const reasonString = refusals.reasonString(packet.subscriptions.length)
  ctx.send({ cmd: 'suback', messageId: packet.messageId, granted, ...(reasonString === undefined ? {} : { properties: { reasonString } }) })
  if (retainedFor.length > 0) await sendRetained(ctx, session, retainedFor)
}

async function check(ctx: ClientContext, session: Session, sub: Subscription, refusals: Refusals): Promise<number> {
  const { limits } = ctx.core.config
  const problem = validateTopicFilter(sub.topic, { maxLength: limits.maxTopicLength, maxLevels: limits.maxTopicLevels })
  if (problem !== null) return refusals.note(sub.topic, ReasonCode.TopicFilterInvalid, problem)
  const { config } = ctx.core
  const shared = parseSharedFilter(sub.topic)
  if (shared !== null && !config.sharedSubscriptions) {
    return refusals.note(sub.topic, ReasonCode.SharedSubscriptionsNotSupported, 'shared subscriptions are not supported by this server')
  }
  if (!config.wildcardSubscriptions && isWildcardFilter(shared?.filter ?? sub.topic)) {
    return refusals.note(sub.topic, ReasonCode.WildcardSubscriptionsNotSupported, 'wildcard subscriptions are not supported by this server')
  }
  if (!session.subscriptions.has(sub.topic) && session.subscriptions.size >= limits.maxSubscriptionsPerClient) {
    return refusals.note(sub.topic, ReasonCode.QuotaExceeded,
      `too many subscriptions (${limits.maxSubscriptionsPerClient}): raise limits.maxSubscriptionsPerClient`)
  }
  // The ACL file first (synchronous), then the embedder's hook: both must allow.
  if (!ctx.core.security.canSubscribe(ctx, sub.topic)) return refusals.note(sub.topic, ReasonCode.NotAuthorized, 'not authorized')
  const hook = ctx.core.hooks.authorizeSubscribe
  if (hook !== undefined) {
    const code = answerToReason(await hook(ctx.info(), sub), ReasonCode.NotAuthorized)
    if (code !== 0) return refusals.note(sub.topic, code, code === ReasonCode.NotAuthorized ? 'not authorized' : 'refused')
  }
  // The server may grant less than asked (MQTT 5.0 section 3.8.4), never above its Maximum QoS.
  return Math.min(sub.qos, config.maxQos)
}

/**
 * The refused filters of one SUBSCRIBE, logged as one line with the first few and why: a
 * SUBSCRIBE of thousands of bad filters must not become thousands of log lines.
 */
class Refusals {
  count = 0
  readonly #examples: Array<{ filter: string; reasonCode: number; why: string }> = []

  note(filter: string, reasonCode: number, why: string): number {
    if (this.count++ < 3) this.#examples.push({ filter, reasonCode, why })
    return reasonCode
  }

  log(ctx: ClientContext): void {
    if (this.count === 0) return
    ctx.log.warn({ refused: this.count, examples: this.#examples }, `${this.count} subscription(s) refused`)
  }

  /** The SUBACK's Reason String (one for the whole packet): how many, and the first few why. */
  reasonString(total: number): string | undefined {
    if (this.count === 0) return undefined
    const why = this.#examples.map((e) => `"${shorten(e.filter)}" 0x${e.reasonCode.toString(16)}: ${e.why}`).join('; ')
    return `${this.count} of ${total} subscription(s) refused: ${why}${this.count > this.#examples.length ? '; ...' : ''}`
  }
}

/** A filter quoted in a Reason String: filters may be 65535 bytes long, a message should not. */
function shorten(filter: string): string {
  return filter.length <= 60 ? filter : `${filter.slice(0, 57)}...`
}

function toRecord(sub: Subscription, qos: QoS, subId: number | undefined): SubscriptionRecord {
  const rh = sub.rh ?? 0
  const record: SubscriptionRecord = {
    filter: sub.topic,
    qos,
    noLocal: sub.nl === true,
    retainAsPublished: sub.rap === true,
    retainHandling: rh === 1 ? 1 : rh === 2 ? 2 : 0,
  }
  if (subId !== undefined) record.subscriptionId = subId
  return record
}

/**
 * Reads the retained messages of every filter, then delivers them ahead of the held live ones.
 * They come from the store in batches and go out in one synchronous run, so a `#` over
 * 100,000 retained messages costs no promise per message; the connection writes them together.
 */
async function sendRetained(ctx: ClientContext, session: Session, records: SubscriptionRecord[]): Promise<void> {
  const { core } = ctx
  const found: Array<{ record: SubscriptionRecord; batches: StoredMessage[][] }> = []
  for (const record of records) {
    const batches: StoredMessage[][] = []
    for await (const batch of core.router.retained([record.filter])) batches.push(batch)
    found.push({ record, batches })
  }
  const write: PublishWrite = {}
  const now = Date.now()
  session.releaseLive(() => {
    for (const { record, batches } of found) {
      const subscriptionIds = record.subscriptionId === undefined ? undefined : [record.subscriptionId]
      for (const batch of batches) {
        for (const message of batch) {
          if (message.expiresAt !== undefined && message.expiresAt <= now) continue
          core.router.deliverTo(session, {
            message,
            qos: (record.qos < message.qos ? record.qos : message.qos) as QoS,
            retain: true,
            subscriptionIds,
            seq: undefined,
            shared: undefined,
          }, write)
        }
      }
    }
  })
  if (write.enqueue !== undefined) await core.store.commit(write)
}
