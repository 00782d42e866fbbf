import { EventEmitter } from 'node:events'
import { stat } from 'node:fs/promises'
import type { Server } from 'node:net'
import type { SecureContextOptions, Server as TlsServer } from 'node:tls'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import pino, { type Logger } from 'pino'
import {
  PBKDF2_ITERATIONS, SCRAM_SHA256_ITERATIONS, Security, anonymousExposure, scramAuthenticator,
  type BrokerHooks, type EnhancedAuthenticator, type ReloadResult,
} from './auth/index.js'
import { ConfigError } from './config/errors.js'
import { checkListeners, enabledListeners } from './config/listeners.js'
import { defaultConfig, type BrokerConfig } from './config/schema.js'
import { readTlsCredentials } from './config/tls-files.js'
import { Connection, type ConnectionInfo } from './connection/index.js'
import type { BrokerEvents, ClientContext, Core } from './handlers/index.js'
import { LevelStore, MemoryStore, type PublishWrite, type Store, type StoredMessage } from './persistence/index.js'
import { ReasonCode } from './protocol/index.js'
import { Router, type SharedStrategy } from './router/index.js'
import { SessionManager } from './session/index.js'
import {
  Admission, listenTcp, listenTls, listenWs, type TlsListenerOptions, type WsListener, type WsListenerOptions,
} from './transport/index.js'
import { MQTT_BUNDLE_URL, mqttBrowserBundle, staticFiles } from './http/index.js'

export interface BrokerOptions {
  /** Missing keys take their defaults; `limits` is merged key by key. */
  config?: Partial<Omit<BrokerConfig, 'limits'>> & { limits?: Partial<BrokerConfig['limits']> }
  logger?: Logger
  hooks?: BrokerHooks
  /** MQTT 5.0 enhanced authentication methods (e.g. `scramAuthenticator('sha256', lookup)`). */
  authMethods?: EnhancedAuthenticator[]
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
  readonly #security: Security
  readonly #connections = new Set<Connection>()
  readonly #admission: Admission
  #tcp: Server | undefined
  #ws: WsListener | undefined
  #tls: TlsServer | undefined
  #wss: WsListener | undefined
  /** What the WS and WSS listeners share beyond MQTT: the Origin allow-list, static files. */
  #web: Pick<WsListenerOptions, 'origins' | 'onRequest'> = {}
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
        // QoS 0 is dropped for a client that leaves this much unread (and limits.slowClientTimeout
        // later it is cut off: see Connection).
        maxBufferedBytes: Math.min(Math.max(limits.maxQueuedBytes, 1024 * 1024), limits.maxClientBufferBytes),
      },
      log: this.log,
      publish: (message) => this.publish(message),
    })
    this.#admission = new Admission(limits)
    const hooks = opts.hooks ?? {}
    const { passwordFile, aclFile, allowAnonymous } = this.config
    this.#security = new Security({ passwordFile, aclFile, allowAnonymous, hooks, log: this.log })
    this.#core = {
      config: this.config,
      router: this.#router,
      sessions: this.#sessions,
      store: this.#store,
      hooks,
      security: this.#security,
      authMethods: this.#authMethods(opts.authMethods ?? []),
      events: this,
      log: this.log,
      clients: new Map<string, ClientContext>(),
      connectLocks: new Map(),
      publish: (message) => this.publish(message),
    }
  }

  /**
   * Checks the security settings and loads the password and ACL files, opens the store,
   * restores persistent sessions, then starts the listeners. Throws `ConfigError` or
   * `AuthFileError` for a configuration that must not run (docs/security.md).
   */
  async listen(): Promise<void> {
    checkListeners(this.config)
    const { host, allowAnonymous } = this.config
    const exposure = anonymousExposure(host, enabledListeners(this.config), allowAnonymous, this.#security.hasAuthenticator)
    if (exposure !== undefined) throw new ConfigError('CONFIG_INSECURE', exposure, { key: 'allowAnonymous' })
    await this.#security.load()
    if (this.#security.hasAcl && !this.#security.hasAuthenticator && !this.config.useIdentityAsUsername) {
      this.log.warn('aclFile is set but nothing verifies usernames (no passwordFile, authenticate hook or certificate identity): a client can claim any user\'s ACL lines')
    }
    const tls = this.config.tlsPort !== 0 || this.config.wssPort !== 0 ? await readTlsCredentials(this.config) : undefined
    this.#web = await this.#webOptions()
    if (!this.#isOpen) {
      await this.#store.open()
      this.#isOpen = true
      const restored = await this.#sessions.restore()
      if (restored > 0) this.log.info({ sessions: restored }, 'restored persistent sessions')
    }
    const { port, wsPort, wsPath, limits } = this.config
    if (port >= 0) this.#tcp = await listenTcp({ host, port }, this.#accept)
    // wsPort 0 disables WebSocket; -1 (embedding and tests) picks a free port.
    if (wsPort !== 0) {
      this.#ws = await listenWs({ host, port: Math.max(wsPort, 0), path: wsPath, maxPayload: wsFrameLimit(limits), ...this.#web }, this.#accept)
    }
    if (tls !== undefined) await this.#listenSecure(tls)
  }

  /** The TLS and WSS listeners (tlsPort / wssPort: 0 disables, -1 picks a free port). */
  async #listenSecure(secure: SecureContextOptions): Promise<void> {
    const { host, tlsPort, wssPort, wsPath, limits } = this.config
    const options: TlsListenerOptions = {
      secure,
      requestCert: this.config.requireCertificate || this.config.useIdentityAsUsername,
      rejectUnauthorized: this.config.requireCertificate,
      handshakeTimeout: limits.connectTimeout,
      onHandshakeError: (err, remoteAddress) => this.log.debug({ remoteAddress, err: err.message }, 'TLS handshake failed'),
    }
    if (tlsPort !== 0) this.#tls = await listenTls({ host, port: Math.max(tlsPort, 0), tls: options }, this.#accept)
    if (wssPort !== 0) {
      this.#wss = await listenWs({ host, port: Math.max(wssPort, 0), path: wsPath, maxPayload: wsFrameLimit(limits), tls: options, ...this.#web }, this.#accept)
    }
  }

  /** `wsOrigins`, and `serveStatic` checked and turned into a request handler. */
  async #webOptions(): Promise<Pick<WsListenerOptions, 'origins' | 'onRequest'>> {
    const { serveStatic, wsOrigins, wsPort, wssPort } = this.config
    if (serveStatic === null) return { origins: wsOrigins }
    if (wsPort === 0 && wssPort === 0) {
      throw new ConfigError('CONFIG_CONFLICT', 'serveStatic needs a WebSocket listener: set wsPort (or wssPort)', { key: 'serveStatic' })
    }
    if ((await stat(serveStatic).catch(() => undefined))?.isDirectory() !== true) {
      throw new ConfigError('CONFIG_INVALID_VALUE', `serveStatic = ${serveStatic}: expected a folder that exists`, { key: 'serveStatic' })
    }
    const bundle = mqttBrowserBundle()
    if (bundle === undefined) this.log.warn(`the mqtt package is not installed: ${MQTT_BUNDLE_URL} will not be served`)
    const mounts: Record<string, string> = bundle === undefined ? {} : { [MQTT_BUNDLE_URL]: bundle }
    this.log.info({ serveStatic }, 'serving static files on the WebSocket port')
    return { origins: wsOrigins, onRequest: staticFiles({ root: serveStatic, mounts, log: this.log }) }
  }

  /**
   * Re-reads the password file, the ACL file and the TLS certificate (SIGHUP). Connections stay
   * up; new rules apply to their next packet, a new certificate to the next handshake. A file
   * that fails keeps what was in force and is logged.
   */
  async reload(): Promise<ReloadResult> {
    const result = await this.#security.reload()
    const servers = [this.#tls, this.#wss?.server].filter((s) => s !== undefined)
    if (servers.length === 0) return result
    try {
      const secure = await readTlsCredentials(this.config)
      for (const server of servers) if ('setSecureContext' in server) server.setSecureContext(secure)
      result.reloaded.push(this.config.certfile ?? 'certfile')
      this.log.info({ certfile: this.config.certfile }, 'TLS certificate reloaded')
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err))
      result.failed.push({ path: this.config.certfile ?? 'certfile', error })
      this.log.error({ err: error.message }, 'TLS reload failed: keeping the previous certificate')
    }
    return result
  }

  addresses(): { tcp?: Address; ws?: Address; tls?: Address; wss?: Address } {
    const result: { tcp?: Address; ws?: Address; tls?: Address; wss?: Address } = {}
    const servers = { tcp: this.#tcp, ws: this.#ws?.server, tls: this.#tls, wss: this.#wss?.server }
    for (const [name, server] of Object.entries(servers) as Array<[keyof typeof servers, Server | undefined]>) {
      const address = server?.address() as AddressInfo | null | undefined
      if (address) result[name] = { host: address.address, port: address.port }
    }
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
   * The server ends these connections, so their wills stand [MQTT-3.1.2-8]: a client that should
   * not look gone while it moves sets a Will Delay Interval long enough to reconnect elsewhere.
   */
  async redirect(serverReference: string, permanent = false): Promise<void> {
    this.config.serverReference = serverReference
    this.config.redirect = permanent ? 'server-moved' : 'use-another-server'
    const reasonCode = permanent ? ReasonCode.ServerMoved : ReasonCode.UseAnotherServer
    await Promise.all([...this.#connections].map((c) =>
      c.close({ reasonCode, publishWill: true, reason: 'this server is being drained: connect to the Server Reference', serverReference })))
  }

  /**
   * Graceful shutdown: stop accepting, tell 5.0 clients 0x8B (Server shutting down), let pending
   * writes finish, close the store.
   */
  async close(): Promise<void> {
    const closing: Promise<void>[] = []
    for (const server of [this.#tcp, this.#tls]) {
      if (server !== undefined) closing.push(new Promise((resolve) => server.close(() => resolve())))
    }
    for (const ws of [this.#ws, this.#wss]) {
      if (ws !== undefined) closing.push(new Promise((resolve) => { ws.wss.close(); ws.server.close(() => resolve()) }))
    }
    // The server closes these connections, none of them sent DISCONNECT: their wills stand
    // [MQTT-3.1.2-8] (as Mosquitto publishes them at shutdown). A will whose session ends here
    // is published before the store closes; a delayed one of a persistent session stays stored
    // and `restore` re-arms it, counted from this close.
    const conns = [...this.#connections].map((c) =>
      c.close({ reasonCode: ReasonCode.ServerShuttingDown, publishWill: true, reason: 'the broker is shutting down: reconnect later, or to another server' }))
    await Promise.all(conns)
    await this.#sessions.stop()
    await Promise.all(closing)
    if (this.#isOpen) {
      this.#isOpen = false
      await this.#store.close()
    }
  }

  /**
   * Enhanced authentication methods: the embedder's, plus, when there is a password file,
   * SCRAM-SHA-512 (its `$7$` entries are SCRAM-SHA-512 salted passwords) and SCRAM-SHA-256 (its
   * `SCRAM-SHA-256$` verifiers). A user with the other kind of entry is refused like an unknown
   * one, and unknown users are shown a salt and iteration count like the file's real ones.
   */
  #authMethods(given: EnhancedAuthenticator[]): Map<string, EnhancedAuthenticator> {
    const methods = new Map(given.map((m) => [m.method, m]))
    if (this.config.passwordFile === null) return methods
    const security = this.#security
    if (!methods.has('SCRAM-SHA-512')) {
      methods.set('SCRAM-SHA-512', scramAuthenticator('sha512', (user) => security.scramSha512(user),
        () => security.scramDecoy('pbkdf2-sha512', { iterations: PBKDF2_ITERATIONS, saltBytes: 12 })))
    }
    if (!methods.has('SCRAM-SHA-256')) {
      methods.set('SCRAM-SHA-256', scramAuthenticator('sha256', (user) => security.scramSha256(user),
        () => security.scramDecoy('scram-sha256', { iterations: SCRAM_SHA256_ITERATIONS, saltBytes: 16 })))
    }
    return methods
  }

  readonly #accept = (stream: Duplex, info: ConnectionInfo): void => {
    if (this.#admission.admit(info.transport) !== null) {
      // Closed at once, before it costs a decoder or a timer; reported once a second at most.
      stream.destroy()
      const report = this.#admission.report()
      if (report !== undefined) this.log.warn(report, `connections refused: ${report.reason}`)
      return
    }
    this.#connections.add(new Connection(this.#core, stream, info, this.#forget))
  }

  /** One function for every connection, rather than a 'close' listener of the broker's on each stream. */
  readonly #forget = (conn: Connection): void => {
    if (this.#connections.delete(conn)) this.#admission.release(conn.transport)
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

/**
 * The largest WebSocket message accepted (ws buffers a whole message before handing it on).
 * One frame may carry several packets [MQTT-6.0.0-2], and MQTT.js in a browser does send them
 * so: writes queued while the socket is busy go out concatenated, as one frame. A limit of one
 * maximum packet would cut such a client off (1009) for a burst of small, legal packets. So a
 * frame may be as large as the backlog the broker holds for one client the other way
 * (`limits.maxClientBufferBytes`), and never smaller than the largest packet; each packet
 * inside is still held to `limits.maxPacketSize` by the decoder.
 */
function wsFrameLimit(limits: BrokerConfig['limits']): number {
  return Math.max(limits.maxPacketSize, limits.maxClientBufferBytes)
}
