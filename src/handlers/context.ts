import type { EventEmitter } from 'node:events'
import type { Logger } from 'pino'
import type { BrokerConfig } from '../config/schema.js'
import type { BrokerHooks, ClientInfo, EnhancedAuthenticator, Security } from '../auth/index.js'
import type { AuthPacket, OutboundPacket, ProtocolVersion } from '../protocol/index.js'
import type { Store, StoredMessage } from '../persistence/index.js'
import type { MessageRouter } from '../router/index.js'
import type { Outlet, Session, SessionManager } from '../session/index.js'

/** Events the broker emits (EventEmitter only at the edge: for embedders). */
export interface BrokerEvents {
  clientConnected: [client: ClientInfo]
  clientDisconnected: [client: ClientInfo, reason: string]
  published: [message: StoredMessage, clientId: string | undefined]
}

/** What every connection shares: the broker's parts, never another client's socket. */
export interface Core {
  readonly config: BrokerConfig
  readonly router: MessageRouter
  readonly sessions: SessionManager
  readonly store: Store
  readonly hooks: BrokerHooks
  /** Password file, ACL file, hooks and allowAnonymous, composed (src/auth/security.ts). */
  readonly security: Security
  /** Enhanced authentication methods by Authentication Method name (5.0). */
  readonly authMethods: ReadonlyMap<string, EnhancedAuthenticator>
  readonly events: EventEmitter<BrokerEvents>
  readonly log: Logger
  /** Connected clients by client id, for takeover [MQTT-3.1.4-3]. */
  readonly clients: Map<string, ClientContext>
  /** Serialises CONNECTs that share a client id (reconnect storms, takeovers). */
  readonly connectLocks: Map<string, Promise<void>>
  /** Routes and durably stores a message the broker itself publishes (wills). */
  publish(message: StoredMessage): Promise<void>
}

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error'

/**
 * What handlers log through: pino's level methods (a pino `Logger` fits). A connection's lines
 * carry its remote address, transport and, once chosen, client id.
 */
export interface ClientLog {
  isLevelEnabled(level: LogLevel): boolean
  trace(objOrMsg: object | string, msg?: string): void
  debug(objOrMsg: object | string, msg?: string): void
  info(objOrMsg: object | string, msg?: string): void
  warn(objOrMsg: object | string, msg?: string): void
  error(objOrMsg: object | string, msg?: string): void
}

export interface CloseOptions {
  /** 5.0 DISCONNECT reason code; none is sent when absent or before CONNACK. */
  reasonCode?: number
  publishWill: boolean
  /** Logged, and sent to 5.0 clients as the DISCONNECT's Reason String. */
  reason: string
  /** 5.0 Server Reference, for redirection (0x9C / 0x9D). */
  serverReference?: string
}

/**
 * One connection as handlers see it. The connection implements it; handlers never touch a
 * socket.
 */
export interface ClientContext {
  readonly core: Core
  readonly log: ClientLog
  protocolVersion: ProtocolVersion
  clientId: string
  username: string | undefined
  readonly remoteAddress: string | undefined
  readonly transport: 'tcp' | 'tls' | 'ws' | 'wss'
  /** Common Name of the client certificate the TLS handshake verified, if any. */
  readonly certificateCommonName: string | undefined
  session: Session | null
  /** What the session writes its deliveries to. */
  readonly outlet: Outlet
  /** 5.0 inbound topic aliases [MQTT-3.3.2-7: forgotten with the connection]. */
  readonly topicAliases: Map<number, string>
  /** Client's Maximum Packet Size (5.0): larger packets are not sent to it. */
  maxOutboundPacketSize: number
  /** Set when the client sent DISCONNECT: no will unless reason 0x04. */
  isDisconnecting: boolean
  /** Set when the client asked for problem information (5.0, default true). */
  wantsProblemInfo: boolean
  /** The Authentication Method negotiated at CONNECT (5.0 enhanced authentication). */
  authMethod: string | undefined

  send(packet: OutboundPacket): boolean
  /**
   * Sends `ack` after `after` resolves, keeping acknowledgements in arrival order [MQTT-4.6.0-2].
   * `countedIn`: the session whose `inboundInflight` this PUBLISH was counted in; decremented
   * when the ack is released.
   */
  ackAfter(after: Promise<void> | null, ack: OutboundPacket, countedIn?: { inboundInflight: number }): void
  /** Stops processing this client's packets until `work` settles; a rejection ends the connection. */
  hold(work: Promise<void>): void
  /** Work that runs beside packet processing; a rejection ends the connection. */
  track(work: Promise<void>): void
  /** Turns on server-to-client topic aliases, up to the client's Topic Alias Maximum. */
  useOutboundAliases(max: number): void
  setKeepalive(seconds: number): void
  /** The client's next AUTH packet during an authentication exchange, bounded by connectTimeout. */
  nextAuth(): Promise<AuthPacket>
  setProtocolVersion(version: ProtocolVersion): void
  /** Marks the connection established (CONNACK sent): starts normal packet handling. */
  markConnected(session: Session): void
  /**
   * Ends the connection. Once connected, 5.0 clients get DISCONNECT with `reasonCode` first;
   * resolves when the session has been detached (and the will scheduled if `publishWill`).
   */
  close(opts: CloseOptions): Promise<void>
  info(): ClientInfo
}
