import type { Logger } from 'pino'
import type { ProtocolVersion, Will } from '../protocol/index.js'
import type { PublishWrite, Store, StoredMessage } from '../persistence/index.js'
import type { MessageRouter } from '../router/index.js'
import { Session, type SessionLimits } from './session.js'

/** 0xFFFFFFFF seconds: the session never expires [MQTT-3.1.2-23 area, 5.0 3.1.2.11.2]. */
export const NEVER_EXPIRES = 0xffffffff
/** setTimeout's ceiling; longer timers are re-armed. */
const MAX_TIMER_MS = 0x7fffffff

export interface SessionManagerOptions {
  store: Store
  router: MessageRouter
  limits: SessionLimits
  log: Logger
  /** Publishes a will (through the router, durably). */
  publish: (message: StoredMessage) => Promise<void>
}

export interface OpenResult {
  session: Session
  sessionPresent: boolean
}

/**
 * Owns every session: creation, resumption, takeover bookkeeping, expiry and wills, and the
 * restore of persistent sessions after a restart (both timers are recomputed from the stored
 * disconnect time, so they survive a restart).
 */
export class SessionManager {
  readonly #sessions = new Map<string, Session>()
  readonly #expiryTimers = new Map<string, NodeJS.Timeout>()
  readonly #willTimers = new Map<string, NodeJS.Timeout>()
  /** Wills and expiries running in the background, awaited by `stop`. */
  readonly #housekeeping = new Set<Promise<void>>()
  readonly #opts: SessionManagerOptions

  constructor(opts: SessionManagerOptions) {
    this.#opts = opts
  }

  get size(): number {
    return this.#sessions.size
  }

  get(clientId: string): Session | undefined {
    return this.#sessions.get(clientId)
  }

  /**
   * Rebuilds sessions and their subscriptions from the store, then re-arms their timers.
   *
   * A stored will is always a pending one: a normal DISCONNECT and a published will both
   * rewrite the meta without it. So every restored will is armed, whether its client dropped
   * before the restart (its delay runs on from the stored disconnect time) or was connected
   * when the process died (from now). Timers are armed only once every session is back: a
   * will or an expiry due at once publishes through the router, and a subscriber whose
   * session is restored later would miss it.
   */
  async restore(): Promise<number> {
    const { store, router, limits, log } = this.#opts
    const now = Date.now()
    const restored: Session[] = []
    const queueLengths = await store.queueLengths()
    for await (const record of store.sessions()) {
      const session = new Session({
        clientId: record.clientId,
        protocolVersion: record.protocolVersion,
        expiryInterval: record.expiryInterval,
        store,
        limits,
        log,
        hydrated: false,
        storedQueueLength: queueLengths.get(record.clientId) ?? 0,
      })
      session.will = record.will
      // A session that was connected when the process died counts as disconnected now.
      session.disconnectedAt = record.disconnectedAt ?? now
      for (const sub of record.subscriptions) {
        session.subscriptions.set(sub.filter, sub)
        router.subscribe(session, sub)
      }
      for (const id of await store.incomingIds(record.clientId)) session.incoming.add(id)
      this.#sessions.set(record.clientId, session)
      restored.push(session)
    }
    for (const session of restored) this.#scheduleOffline(session, true)
    return restored.length
  }

  /**
   * Finds or creates the session for a CONNECT. `cleanStart` discards any existing session
   * [MQTT-3.1.2-4]; otherwise an existing one is resumed [MQTT-3.1.2-5].
   */
  async open(clientId: string, opts: {
    cleanStart: boolean
    expiryInterval: number
    protocolVersion: ProtocolVersion
  }): Promise<OpenResult> {
    // A new connection within the will delay cancels the will [MQTT-3.1.3-9]; a clean start
    // ends the old session, which makes a delayed will due now.
    this.#clearTimers(clientId)
    let session = this.#sessions.get(clientId)
    if (session !== undefined && opts.cleanStart) {
      await this.#end(session)
      session = undefined
    } else if (session !== undefined) {
      session.will = undefined
    }
    const sessionPresent = session !== undefined
    if (session === undefined) {
      session = new Session({
        clientId,
        protocolVersion: opts.protocolVersion,
        expiryInterval: opts.expiryInterval,
        store: this.#opts.store,
        limits: this.#opts.limits,
        log: this.#opts.log,
      })
      this.#sessions.set(clientId, session)
    }
    session.protocolVersion = opts.protocolVersion
    session.expiryInterval = opts.expiryInterval
    if (session.isPersistent) {
      await this.#opts.store.putSessionMeta(session.meta())
    } else if (sessionPresent) {
      // Resumed, but it ends with this connection (5.0 Session Expiry Interval 0): its queue,
      // still only in the store if it was restored after a restart, is read before the
      // store forgets it [MQTT-3.1.2-5].
      await session.load()
      await this.#opts.store.deleteSession(clientId)
    }
    return { session, sessionPresent }
  }

  /**
   * The connection ended. `publishWill` is false after a normal DISCONNECT [MQTT-3.1.2-10].
   * The will waits for its delay, but never past the end of the session [MQTT-3.1.3-9].
   */
  async close(session: Session, publishWill: boolean): Promise<void> {
    session.detach()
    if (!publishWill) session.will = undefined
    if (!session.isPersistent) {
      await this.#end(session)
      return
    }
    await this.#opts.store.putSessionMeta(session.meta())
    this.#scheduleOffline(session, publishWill)
  }

  /**
   * For shutdown: clears the timers (the store keeps what they need, `restore` re-arms them),
   * then waits for wills and expiries already under way, so that the store is not closed
   * between a will's publication and the write that drops it from its session, which would
   * publish it again after the restart.
   */
  async stop(): Promise<void> {
    for (const t of this.#expiryTimers.values()) clearTimeout(t)
    for (const t of this.#willTimers.values()) clearTimeout(t)
    this.#expiryTimers.clear()
    this.#willTimers.clear()
    await Promise.all([...this.#housekeeping])
  }

  #scheduleOffline(session: Session, publishWill: boolean): void {
    const now = Date.now()
    const since = session.disconnectedAt ?? now
    if (session.expiryInterval !== NEVER_EXPIRES) {
      const left = since + session.expiryInterval * 1000 - now
      this.#arm(this.#expiryTimers, session.clientId, left, () => this.#expire(session))
    }
    const will = session.will
    if (!publishWill || will === undefined) return
    const delay = will.properties?.willDelayInterval ?? 0
    const left = since + delay * 1000 - now
    if (left <= 0) {
      this.#fireWill(session)
      return
    }
    this.#arm(this.#willTimers, session.clientId, left, () => this.#fireWill(session))
  }

  #arm(timers: Map<string, NodeJS.Timeout>, clientId: string, ms: number, fn: () => void): void {
    const prev = timers.get(clientId)
    if (prev !== undefined) clearTimeout(prev)
    if (ms <= 0) {
      timers.delete(clientId)
      fn()
      return
    }
    const timer = setTimeout(() => {
      timers.delete(clientId)
      if (ms > MAX_TIMER_MS) this.#arm(timers, clientId, ms - MAX_TIMER_MS, fn)
      else fn()
    }, Math.min(ms, MAX_TIMER_MS))
    timer.unref()
    timers.set(clientId, timer)
  }

  #fireWill(session: Session): void {
    const will = session.will
    session.will = undefined
    const timer = this.#willTimers.get(session.clientId)
    if (timer !== undefined) clearTimeout(timer)
    this.#willTimers.delete(session.clientId)
    if (will === undefined) return
    this.#background(this.#publishWill(session, will))
  }

  async #publishWill(session: Session, will: Will): Promise<void> {
    const message: StoredMessage = {
      topic: will.topic,
      payload: will.payload,
      qos: will.qos,
      retain: will.retain,
      origin: session.clientId,
    }
    const props = will.properties
    if (props !== undefined) {
      const { willDelayInterval: _delay, messageExpiryInterval, ...rest } = props
      if (Object.keys(rest).length > 0) message.properties = rest
      if (messageExpiryInterval !== undefined) {
        message.properties = { ...message.properties, messageExpiryInterval }
        message.expiresAt = Date.now() + messageExpiryInterval * 1000
      }
    }
    this.#opts.log.info({ clientId: session.clientId, topic: will.topic }, 'publishing will message')
    await this.#opts.publish(message)
    if (session.isPersistent && this.#sessions.get(session.clientId) === session) {
      await this.#opts.store.putSessionMeta(session.meta())
    }
  }

  #expire(session: Session): void {
    if (this.#sessions.get(session.clientId) !== session || session.isOnline) return
    this.#opts.log.info({ clientId: session.clientId }, 'session expired')
    // The will is due when the session ends, if its delay has not run out yet [MQTT-3.1.3-9].
    if (session.will !== undefined) this.#fireWill(session)
    this.#background(this.#end(session))
  }

  async #end(session: Session): Promise<void> {
    this.#clearTimers(session.clientId)
    if (session.will !== undefined) {
      const will = session.will
      session.will = undefined
      await this.#publishWill(session, will)
    }
    await this.#discard(session)
  }

  async #discard(session: Session): Promise<void> {
    const { router, store } = this.#opts
    for (const filter of session.subscriptions.keys()) router.unsubscribe(session, filter)
    const write: PublishWrite = {}
    for (const out of session.takeUnacknowledged()) {
      if (out.shared === undefined || out.qos === 0) continue
      const delivery = { message: out.message, qos: out.qos, retain: out.retain, subscriptionIds: undefined, seq: undefined }
      router.redeliverShared(out.shared, delivery, write)
    }
    if (write.enqueue !== undefined) await store.commit(write)
    session.reset()
    if (this.#sessions.get(session.clientId) === session) this.#sessions.delete(session.clientId)
    await this.#opts.store.deleteSession(session.clientId)
  }

  #clearTimers(clientId: string): void {
    const e = this.#expiryTimers.get(clientId)
    if (e !== undefined) clearTimeout(e)
    this.#expiryTimers.delete(clientId)
    const w = this.#willTimers.get(clientId)
    if (w !== undefined) clearTimeout(w)
    this.#willTimers.delete(clientId)
  }

  #background(p: Promise<void>): void {
    const tracked: Promise<void> = p
      .catch((err: unknown) => this.#opts.log.error({ err }, 'session housekeeping failed'))
      .then(() => { this.#housekeeping.delete(tracked) })
    this.#housekeeping.add(tracked)
  }
}
