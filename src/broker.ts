import { EventEmitter } from 'node:events'
import type { Server } from 'node:net'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import pino, { type Logger } from 'pino'
import type { BrokerHooks } from './auth/index.js'
import { defaultConfig, type BrokerConfig } from './config/schema.js'
import { Connection, type ConnectionInfo } from './connection/index.js'
import type { BrokerEvents, ClientContext, Core } from './handlers/index.js'
import { LevelStore, MemoryStore, type PublishWrite, type Store, type StoredMessage } from './persistence/index.js'
import { ReasonCode } from './protocol/index.js'
import { Router, type SharedStrategy } from './router/index.js'
import { SessionManager } from './session/index.js'
import { listenTcp, listenWs, type WsListener } from './transport/index.js'

export interface BrokerOptions {
  /** Missing keys take their defaults; `limits` is merged key by key. */
  config?: Partial<Omit<BrokerConfig, 'limits'>> & { limits?: Partial<BrokerConfig['limits']> }
  logger?: Logger
  hooks?: BrokerHooks
  /** Bring your own store (e.g. a cluster backend); otherwise LevelDB at dataDir, or memory. */
  store?: Store
  sharedStrategy?: SharedStrategy
}

export interface Address {
  host: string
  port: number
}

/**
 * The composition root: one store, one router, one session manager, listeners that turn
 * sockets into connections. Nothing here knows MQTT beyond wiring the parts together.
 */
export class Broker extends EventEmitter<BrokerEvents> {
  readonly config: BrokerConfig
  readonly log: Logger
  readonly #store: Store
  readonly #router: Router
  readonly #sessions: SessionManager
  readonly #core: Core
  readonly #connections = new Set<Connection>()
  #tcp: Server | undefined
  #ws: WsListener | undefined
  #isOpen = false

  constructor(opts: BrokerOptions = {}) {
    super()
    this.config = mergeConfig(opts.config)
    this.log = opts.logger ?? pino({ level: this.config.logLevel })
    const dataDir = this.config.dataDir
    this.#store = opts.store ?? (dataDir === null ? new MemoryStore() : new LevelStore({ path: dataDir, sync: this.config.syncWrites }))
    this.#router = new Router({ store: this.#store, sharedStrategy: opts.sharedStrategy ?? this.config.sharedSubscriptionStrategy })
    const { limits } = this.config
    this.#sessions = new SessionManager({
      store: this.#store,
      router: this.#router,
      limits: {
        maxInflight: limits.maxInflight,
        maxQueuedMessages: limits.maxQueuedMessages,
        maxQueuedBytes: limits.maxQueuedBytes,
        maxBufferedBytes: Math.max(limits.maxQueuedBytes, 1024 * 1024),
      },
      log: this.log,
      publish: (message) => this.publish(message),
    })
    this.#core = {
      config: this.config,
      router: this.#router,
      sessions: this.#sessions,
      store: this.#store,
      hooks: opts.hooks ?? {},
      events: this,
      log: this.log,
      clients: new Map<string, ClientContext>(),
      connectLocks: new Map(),
      publish: (message) => this.publish(message),
    }
  }

  /** Opens the store, restores persistent sessions, then starts the listeners. */
  async listen(): Promise<void> {
    if (!this.#isOpen) {
      await this.#store.open()
      this.#isOpen = true
      const restored = await this.#sessions.restore()
      if (restored > 0) this.log.info({ sessions: restored }, 'restored persistent sessions')
    }
    const { host, port, wsPort, wsPath, limits } = this.config
    if (port >= 0) this.#tcp = await listenTcp({ host, port }, this.#accept)
    // wsPort 0 disables WebSocket; -1 (embedding and tests) picks a free port.
    if (wsPort !== 0) {
      this.#ws = await listenWs({ host, port: Math.max(wsPort, 0), path: wsPath, maxPayload: limits.maxPacketSize }, this.#accept)
    }
  }

  addresses(): { tcp?: Address; ws?: Address } {
    const result: { tcp?: Address; ws?: Address } = {}
    const tcp = this.#tcp?.address() as AddressInfo | null | undefined
    if (tcp) result.tcp = { host: tcp.address, port: tcp.port }
    const ws = this.#ws?.server.address() as AddressInfo | null | undefined
    if (ws) result.ws = { host: ws.address, port: ws.port }
    return result
  }

  get connectionCount(): number {
    return this.#connections.size
  }

  /** Publishes a message from the broker itself (or an embedding application), durably. */
  async publish(message: StoredMessage): Promise<void> {
    const write: PublishWrite = {}
    this.#router.publish(message, write)
    this.emit('published', message, undefined)
    if (write.retained !== undefined || write.enqueue !== undefined) await this.#store.commit(write)
  }

  /** Disconnects one client (5.0: DISCONNECT 0x98 Administrative action). Returns false if it is not connected. */
  async disconnectClient(clientId: string, reason = 'disconnected by the administrator'): Promise<boolean> {
    const client = this.#core.clients.get(clientId)
    if (client === undefined) return false
    await client.close({ reasonCode: ReasonCode.AdministrativeAction, publishWill: true, reason })
    return true
  }

  /**
   * Draining a node: every connected client is told to use another server (5.0: DISCONNECT 0x9C,
   * or 0x9D when `permanent`, with the Server Reference), and new 5.0 connections are redirected.
   */
  async redirect(serverReference: string, permanent = false): Promise<void> {
    this.config.serverReference = serverReference
    this.config.redirect = permanent ? 'server-moved' : 'use-another-server'
    const reasonCode = permanent ? ReasonCode.ServerMoved : ReasonCode.UseAnotherServer
    await Promise.all([...this.#connections].map((c) =>
      c.close({ reasonCode, publishWill: false, reason: 'server is being drained', serverReference })))
  }

  /**
   * Graceful shutdown: stop accepting, tell 5.0 clients 0x8B (Server shutting down), let pending
   * writes finish, close the store.
   */
  async close(): Promise<void> {
    const closing: Promise<void>[] = []
    if (this.#tcp) closing.push(new Promise((resolve) => this.#tcp?.close(() => resolve())))
    if (this.#ws) {
      const ws = this.#ws
      closing.push(new Promise((resolve) => { ws.wss.close(); ws.server.close(() => resolve()) }))
    }
    const conns = [...this.#connections].map((c) =>
      c.close({ reasonCode: ReasonCode.ServerShuttingDown, publishWill: false, reason: 'broker shutting down' }))
    await Promise.all(conns)
    this.#sessions.stop()
    await Promise.all(closing)
    if (this.#isOpen) {
      this.#isOpen = false
      await this.#store.close()
    }
  }

  readonly #accept = (stream: Duplex, info: ConnectionInfo): void => {
    if (this.#connections.size >= this.config.limits.maxConnections) {
      this.log.warn({ max: this.config.limits.maxConnections }, 'connection refused: limits.maxConnections reached')
      stream.destroy()
      return
    }
    const conn = new Connection(this.#core, stream, info)
    this.#connections.add(conn)
    stream.once('close', () => this.#connections.delete(conn))
  }
}

export async function createBroker(opts: BrokerOptions = {}): Promise<Broker> {
  return new Broker(opts)
}

function mergeConfig(partial: BrokerOptions['config']): BrokerConfig {
  return {
    ...defaultConfig,
    ...partial,
    limits: { ...defaultConfig.limits, ...partial?.limits },
  }
}
