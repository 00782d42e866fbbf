/**
 * The broker's configuration: one plain object, every limit with a default.
 * Loading (file < environment < flags) and validation live beside this file.
 */
export interface ListenerConfig {
  host: string
  /** 0 picks a free port (tests); a negative value disables the listener. */
  port: number
}

/** The listeners, as settings name them (`allowAnonymous: { "ws": true }`) and connections know them. */
export const listenerNames = ['tcp', 'tls', 'ws', 'wss'] as const
export type ListenerName = (typeof listenerNames)[number]

export interface BrokerConfig {
  /** TCP listener. */
  host: string
  port: number
  /** WebSocket listener port; 0 disables it; -1 picks a free port (embedding, tests). */
  wsPort: number
  wsPath: string
  /**
   * Origins (`https://dashboard.example.com`) whose pages may open a WebSocket to the broker;
   * empty allows every origin. Clients that send no `Origin` (not browsers) are not affected.
   */
  wsOrigins: string[]
  /**
   * A folder served over HTTP on the WebSocket listeners' ports (a browser dashboard), with
   * MQTT.js's browser bundle at `/vendor/mqtt.js`; `null` serves nothing.
   */
  serveStatic: string | null
  /** LevelDB directory; `null` keeps everything in memory (nothing survives a restart). */
  dataDir: string | null
  /** fsync every commit before acknowledging (survives power loss, slower). */
  syncWrites: boolean
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
  /**
   * Allow clients that send no username: `true` or `false` for every listener, or per listener
   * (`{ tcp: false, ws: true }`, as Mosquitto's `per_listener_settings`), where a listener not
   * named is not set. Not set (`undefined`): allowed only when nothing authenticates (no password
   * file, no `authenticate` hook), and then the broker refuses to start on a host beyond loopback
   * (docs/security.md).
   */
  allowAnonymous: boolean | Partial<Record<ListenerName, boolean>> | undefined
  /** Mosquitto password file (`$7$`/`$6$` hashes); reloaded on SIGHUP. */
  passwordFile: string | null
  /** Mosquitto ACL file; reloaded on SIGHUP. */
  aclFile: string | null

  /** MQTT over TLS; 0 disables it (8883 is the usual port); -1 picks a free port (embedding, tests). */
  tlsPort: number
  /** MQTT over secure WebSocket at `wsPath`; 0 disables it; -1 picks a free port (embedding, tests). */
  wssPort: number
  /** PEM server certificate (with its chain) for the TLS and WSS listeners; reloaded on SIGHUP. */
  certfile: string | null
  /** PEM private key of `certfile`. */
  keyfile: string | null
  /** PEM CA certificate(s) that client certificates must chain to. */
  cafile: string | null
  /** Lowest TLS version accepted. */
  tlsVersion: 'tlsv1.2' | 'tlsv1.3'
  /** OpenSSL cipher list; `null` keeps Node's defaults. */
  ciphers: string | null
  /** Refuse TLS clients without a certificate signed by `cafile`. */
  requireCertificate: boolean
  /** The Common Name of a verified client certificate becomes the username; no password is asked. */
  useIdentityAsUsername: boolean

  /** Highest QoS accepted from and granted to clients (5.0 CONNACK Maximum QoS). */
  maxQos: 0 | 1 | 2
  /** Whether retained messages are supported (5.0 CONNACK Retain Available). */
  retainAvailable: boolean
  wildcardSubscriptions: boolean
  subscriptionIdentifiers: boolean
  sharedSubscriptions: boolean
  /** How a `$share/` group picks the member for each message. */
  sharedSubscriptionStrategy: 'round-robin' | 'random' | 'least-inflight'
  /** Topic aliases the broker uses towards a 5.0 client (never above the client's maximum); 0 disables. */
  outboundTopicAliases: number
  /** Prefix returned as Response Information (followed by the client id) when a 5.0 client asks; '' sends none. */
  responseInformation: string
  /** Server Reference for redirection ('' none); sent with CONNACK 0x9C/0x9D when `redirect` is set. */
  serverReference: string
  /** Redirect every new 5.0 connection: 'use-another-server' (0x9C) or 'server-moved' (0x9D). */
  redirect: 'none' | 'use-another-server' | 'server-moved'

  limits: {
    /** Largest packet accepted, bytes (also advertised as Maximum Packet Size in 5.0). */
    maxPacketSize: number
    /** Outbound QoS 1/2 messages in flight per client when the client sets no Receive Maximum. */
    maxInflight: number
    /** Inbound QoS 1/2 publishes in flight per client (advertised Receive Maximum in 5.0). */
    receiveMaximum: number
    /** Messages queued per session (offline or beyond the inflight window). */
    maxQueuedMessages: number
    /** Bytes of payload queued per session. */
    maxQueuedBytes: number
    /** Connections open at once, all listeners together. */
    maxConnections: number
    /** Connections open at once on each listener (tcp, tls, ws, wss); 0: only maxConnections applies. */
    maxConnectionsPerListener: number
    /** New connections accepted per second, all listeners together; 0: no limit. */
    maxConnectionRate: number
    /** PUBLISH packets read per second from one client (back-pressure, never drops); 0: no limit. */
    maxPublishRate: number
    /** Bytes of PUBLISH topic and payload read per second from one client (back-pressure); 0: no limit. */
    maxPublishByteRate: number
    /**
     * Bytes written to a client and not yet taken by its socket. Beyond it QoS 0 messages are
     * dropped for that client; a client beyond it for `slowClientTimeout` ms is disconnected.
     */
    maxClientBufferBytes: number
    /** Milliseconds a client may stay beyond `maxClientBufferBytes` before it is disconnected. */
    slowClientTimeout: number
    maxSubscriptionsPerClient: number
    maxTopicLength: number
    maxTopicLevels: number
    maxClientIdLength: number
    /** Seconds; a client asking for more (or 0) is told this value via Server Keep Alive (5.0). */
    maxKeepalive: number
    /** Milliseconds a socket may stay open without sending CONNECT. */
    connectTimeout: number
    /** Topic aliases a 5.0 client may use towards the broker. */
    topicAliasMaximum: number
    /** Seconds; cap for Session Expiry Interval (0xFFFFFFFF = never). */
    maxSessionExpiryInterval: number
  }
}

export const defaultConfig: BrokerConfig = {
  host: '127.0.0.1',
  port: 1883,
  wsPort: 0,
  wsPath: '/mqtt',
  wsOrigins: [],
  serveStatic: null,
  dataDir: './data',
  syncWrites: false,
  logLevel: 'info',
  allowAnonymous: undefined,
  passwordFile: null,
  aclFile: null,
  tlsPort: 0,
  wssPort: 0,
  certfile: null,
  keyfile: null,
  cafile: null,
  tlsVersion: 'tlsv1.2',
  ciphers: null,
  requireCertificate: false,
  useIdentityAsUsername: false,
  maxQos: 2,
  retainAvailable: true,
  wildcardSubscriptions: true,
  subscriptionIdentifiers: true,
  sharedSubscriptions: true,
  sharedSubscriptionStrategy: 'round-robin',
  outboundTopicAliases: 0,
  responseInformation: 'reply/',
  serverReference: '',
  redirect: 'none',
  limits: {
    maxPacketSize: 1024 * 1024,
    maxInflight: 100,
    receiveMaximum: 100,
    maxQueuedMessages: 1000,
    maxQueuedBytes: 64 * 1024 * 1024,
    maxConnections: 10_000,
    maxConnectionsPerListener: 0,
    maxConnectionRate: 0,
    maxPublishRate: 0,
    maxPublishByteRate: 0,
    maxClientBufferBytes: 8 * 1024 * 1024,
    slowClientTimeout: 30_000,
    maxSubscriptionsPerClient: 1000,
    maxTopicLength: 65_535,
    maxTopicLevels: 128,
    maxClientIdLength: 256,
    maxKeepalive: 65_535,
    connectTimeout: 10_000,
    topicAliasMaximum: 64,
    maxSessionExpiryInterval: 0xffffffff,
  },
}
