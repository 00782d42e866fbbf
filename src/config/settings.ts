/**
 * The one table every setting is described in. Flag names, environment variable names, the
 * file keys, `--help` and validation are all derived from it, so they cannot drift apart:
 *
 *   key `limits.maxPacketSize` → flag `--max-packet-size`, env `HALYARD_MAX_PACKET_SIZE`
 *
 * The table is keyed by `BrokerConfig`'s own keys (mapped types below), so adding a field to
 * the schema without describing it here is a compile error.
 */
import { ConfigError, type Source } from './errors.js'
import { boolean, booleanPerName, directory, filePath, integer, nullableText, oneOf, optionalText, originList, text, type Kind } from './kinds.js'
import { listenerNames, type BrokerConfig } from './schema.js'

export const ENV_PREFIX = 'HALYARD_'

type TopKey = Exclude<keyof BrokerConfig, 'limits'>
type LimitKey = keyof BrokerConfig['limits']

export interface Setting {
  /** The key as written in a config file: `port`, `limits.maxPacketSize`. */
  readonly key: string
  /** Long flag without its dashes: `max-packet-size`. */
  readonly flag: string
  readonly short: string | undefined
  readonly env: string
  readonly help: string
  /** What is accepted, for `--help` and error messages. */
  readonly expected: string
  readonly placeholder: string
  /** Takes no value on the command line: `--sync-writes` turns it on, `--no-sync-writes` off. */
  readonly isSwitch: boolean
  /** Parses `value` (text or JSON, as `source` says) into `config`; throws `ConfigError`. */
  apply(config: BrokerConfig, value: unknown, source: Source): void
  read(config: BrokerConfig): unknown
}

/** pino's levels plus `silent`; checked against the schema's union just below. */
export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
const _everyLevelListed: [Exclude<BrokerConfig['logLevel'], (typeof logLevels)[number]>] extends [never]
  ? true
  : false = true

/** setTimeout's ceiling (2^31 - 1 ms); also a sane cap on counts. */
const INT32_MAX = 2_147_483_647
const UINT16_MAX = 65_535
/**
 * The highest `limits.maxTopicLevels`. The subscription trie is walked by a recursive function
 * (src/topic/topic-trie.ts), one call per level; at ten thousand levels it overflows the stack.
 */
export const MAX_TOPIC_LEVELS = 1024

const kebab = (key: string): string => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)
const envName = (key: string): string => ENV_PREFIX + kebab(key).replace(/-/g, '_').toUpperCase()

interface Describe<T> {
  kind: Kind<T>
  help: string
  short?: string
  isSwitch?: boolean
}

function topLevel<K extends TopKey>(key: K, d: Describe<BrokerConfig[K]>): Setting {
  return {
    ...common(key, key, d),
    apply: (config, value, source) => {
      config[key] = parse(d.kind, key, value, source)
    },
    read: (config) => config[key],
  }
}

function limit(key: LimitKey, d: Describe<number>): Setting {
  return {
    ...common(`limits.${key}`, key, d),
    apply: (config, value, source) => {
      config.limits[key] = parse(d.kind, `limits.${key}`, value, source)
    },
    read: (config) => config.limits[key],
  }
}

function common<T>(key: string, leaf: string, d: Describe<T>): Omit<Setting, 'apply' | 'read'> {
  return {
    key,
    flag: kebab(leaf),
    short: d.short,
    env: envName(leaf),
    help: d.help,
    expected: d.kind.expected,
    placeholder: d.kind.placeholder,
    isSwitch: d.isSwitch ?? false,
  }
}

export function parse<T>(kind: Kind<T>, key: string, value: unknown, source: Source): T {
  const parsed = source.isText && typeof value === 'string' ? kind.fromText(value) : kind.fromJson(value)
  if (parsed === undefined) throw invalidValue(key, value, source, kind.expected)
  return parsed
}

export function invalidValue(key: string, value: unknown, source: Source, expected: string): ConfigError {
  const shown = JSON.stringify(value) ?? String(value)
  const clipped = shown.length > 80 ? `${shown.slice(0, 77)}...` : shown
  // Kubernetes injects HALYARD_PORT=tcp://10.0.0.1:1883 into pods when a Service is named
  // "halyard" (service links); say so, since the variable is not the user's.
  const hint = source.name.startsWith(ENV_PREFIX) && typeof value === 'string' && value.startsWith('tcp://')
    ? `; Kubernetes sets ${source.name} for a Service named "halyard": set enableServiceLinks: false on the pod`
    : ''
  return new ConfigError('CONFIG_INVALID_VALUE',
    `${key} = ${clipped} (from ${source.name}): expected ${expected}${hint}`, { key })
}

/** Also checks what an embedder passes to the broker (src/config/listeners.ts). */
export const anonymousKind = booleanPerName(listenerNames, ['tcp', 'ws'])

const port = (help: string, short?: string): Describe<number> => ({ kind: integer(0, UINT16_MAX, 'PORT'), help, short })

const topLevelSettings: { [K in TopKey]: Setting } = {
  host: topLevel('host', {
    kind: text({ expected: 'a host name or IP address', placeholder: 'ADDR', isValid: (v) => !/\s/.test(v) }),
    help: 'Address to listen on; 0.0.0.0 or :: listens on every interface',
  }),
  port: topLevel('port', {
    // -1 turns plain MQTT off, for a broker that only speaks TLS (the broker skips a negative port)
    kind: integer(-1, UINT16_MAX, 'PORT'),
    help: 'TCP port for MQTT; 0 picks a free port; -1 disables it (TLS only: use --port=-1)',
    short: 'p',
  }),
  wsPort: topLevel('wsPort', port('Port for MQTT over WebSocket; 0 disables the WebSocket listener')),
  wsPath: topLevel('wsPath', {
    kind: text({ expected: 'a URL path starting with "/"', placeholder: 'PATH', isValid: (v) => v.startsWith('/') }),
    help: 'URL path WebSocket clients connect to',
  }),
  wsOrigins: topLevel('wsOrigins', {
    kind: originList(),
    help: 'Origins whose web pages may connect over WebSocket; none listed allows every origin',
  }),
  serveStatic: topLevel('serveStatic', {
    kind: { ...filePath('a folder of web pages'), placeholder: 'DIR' },
    help: 'Serve this folder over HTTP on the WebSocket port(s), MQTT.js at /vendor/mqtt.js',
  }),
  dataDir: topLevel('dataDir', {
    kind: directory(),
    help: 'Directory of the on-disk store, relative to the working directory',
  }),
  syncWrites: topLevel('syncWrites', {
    kind: boolean(),
    isSwitch: true,
    help: 'fsync every write before acknowledging it: survives power loss, slower',
  }),
  logLevel: topLevel('logLevel', { kind: oneOf(logLevels, 'LEVEL'), help: 'Least severe log level written' }),
  allowAnonymous: topLevel('allowAnonymous', {
    kind: anonymousKind,
    help: 'Accept clients that send no username, on every listener or per listener; not set: only on loopback without a password file',
  }),
  passwordFile: topLevel('passwordFile', {
    kind: filePath('a Mosquitto password file'),
    help: 'Users and password hashes (mosquitto_passwd or halyard passwd); reloaded on SIGHUP',
  }),
  aclFile: topLevel('aclFile', {
    kind: filePath('a Mosquitto ACL file'),
    help: 'Who may publish and subscribe to what (Mosquitto acl_file syntax); reloaded on SIGHUP',
  }),
  tlsPort: topLevel('tlsPort', port('Port for MQTT over TLS (usually 8883); 0 disables it')),
  wssPort: topLevel('wssPort', port('Port for MQTT over secure WebSocket; 0 disables it')),
  certfile: topLevel('certfile', {
    kind: filePath('a PEM certificate'),
    help: 'Server certificate (PEM, with its chain) for tlsPort and wssPort; reloaded on SIGHUP',
  }),
  keyfile: topLevel('keyfile', { kind: filePath('a PEM private key'), help: 'Private key of certfile (PEM)' }),
  cafile: topLevel('cafile', {
    kind: filePath('PEM CA certificates'),
    help: 'CA certificate(s) client certificates must be signed by (PEM)',
  }),
  tlsVersion: topLevel('tlsVersion', {
    kind: oneOf(['tlsv1.2', 'tlsv1.3'] as const, 'VERSION'),
    help: 'Lowest TLS version accepted',
  }),
  ciphers: topLevel('ciphers', {
    kind: nullableText('an OpenSSL cipher list', 'LIST'),
    help: 'OpenSSL cipher list for TLS listeners (TLS 1.3 suites included); default Node\'s',
  }),
  requireCertificate: topLevel('requireCertificate', {
    kind: boolean(),
    isSwitch: true,
    help: 'TLS clients must present a certificate signed by cafile',
  }),
  useIdentityAsUsername: topLevel('useIdentityAsUsername', {
    kind: boolean(),
    isSwitch: true,
    help: 'The CN of a verified client certificate is the username; no password is asked',
  }),
  maxQos: topLevel('maxQos', {
    kind: integer(0, 2, 'QOS') as Kind<0 | 1 | 2>,
    help: 'Highest QoS accepted and granted (5.0 CONNACK Maximum QoS)',
  }),
  retainAvailable: topLevel('retainAvailable', { kind: boolean(), help: 'Support retained messages' }),
  wildcardSubscriptions: topLevel('wildcardSubscriptions', { kind: boolean(), help: 'Allow + and # in subscriptions' }),
  subscriptionIdentifiers: topLevel('subscriptionIdentifiers', { kind: boolean(), help: 'Allow 5.0 Subscription Identifiers' }),
  sharedSubscriptions: topLevel('sharedSubscriptions', { kind: boolean(), help: 'Allow $share/{group}/{filter} subscriptions' }),
  sharedSubscriptionStrategy: topLevel('sharedSubscriptionStrategy', {
    kind: oneOf(['round-robin', 'random', 'least-inflight'] as const, 'STRATEGY'),
    help: 'How a shared group picks the member for each message',
  }),
  outboundTopicAliases: topLevel('outboundTopicAliases', {
    kind: integer(0, UINT16_MAX),
    help: 'Topic aliases the broker uses towards 5.0 clients (capped by theirs); 0 disables',
  }),
  responseInformation: topLevel('responseInformation', {
    kind: optionalText('a topic prefix, or "" for none', 'PREFIX'),
    help: 'Response Information sent to 5.0 clients that request it: this prefix plus the client id',
  }),
  serverReference: topLevel('serverReference', {
    kind: optionalText('a server reference such as "host:1883", or "" for none', 'REF'),
    help: 'Server Reference sent with redirections and when draining',
  }),
  redirect: topLevel('redirect', {
    kind: oneOf(['none', 'use-another-server', 'server-moved'] as const, 'MODE'),
    help: 'Redirect new 5.0 connections to serverReference (CONNACK 0x9C or 0x9D)',
  }),
}

const limitSettings: { [K in LimitKey]: Setting } = {
  maxPacketSize: limit('maxPacketSize', {
    // 268,435,455 is the largest Remaining Length the encoding can express [MQTT-2.2.3]
    kind: integer(1, 268_435_455, 'BYTES'),
    help: 'Largest packet accepted; sent to 5.0 clients as Maximum Packet Size',
  }),
  maxInflight: limit('maxInflight', {
    // packet identifiers are 16-bit, so no more than 65535 can be in flight
    kind: integer(1, UINT16_MAX),
    help: 'Outbound QoS 1/2 messages in flight per client that sets no Receive Maximum',
  }),
  receiveMaximum: limit('receiveMaximum', {
    // Receive Maximum 0 is a Protocol Error [MQTT-3.2.2.3.3]
    kind: integer(1, UINT16_MAX),
    help: 'Inbound QoS 1/2 publishes in flight per client; sent to 5.0 clients as Receive Maximum',
  }),
  maxQueuedMessages: limit('maxQueuedMessages', {
    kind: integer(0, INT32_MAX),
    help: 'Messages queued per session while offline or beyond the inflight window',
  }),
  maxQueuedBytes: limit('maxQueuedBytes', {
    kind: integer(0, Number.MAX_SAFE_INTEGER, 'BYTES'),
    help: 'Payload bytes queued per session',
  }),
  maxConnections: limit('maxConnections', { kind: integer(1, INT32_MAX), help: 'Concurrent client connections, all listeners together' }),
  maxConnectionsPerListener: limit('maxConnectionsPerListener', {
    kind: integer(0, INT32_MAX),
    help: 'Concurrent connections on each listener (Mosquitto\'s per-listener max_connections); 0: no cap of its own',
  }),
  maxConnectionRate: limit('maxConnectionRate', {
    kind: integer(0, INT32_MAX),
    help: 'New connections accepted per second; more are closed at once; 0: no limit',
  }),
  maxPublishRate: limit('maxPublishRate', {
    kind: integer(0, INT32_MAX),
    help: 'PUBLISH packets read per second from one client; beyond it its socket is not read; 0: no limit',
  }),
  maxPublishByteRate: limit('maxPublishByteRate', {
    kind: integer(0, INT32_MAX, 'BYTES'),
    help: 'Topic and payload bytes of PUBLISH read per second from one client, as back-pressure; 0: no limit',
  }),
  maxClientBufferBytes: limit('maxClientBufferBytes', {
    kind: integer(1, Number.MAX_SAFE_INTEGER, 'BYTES'),
    help: 'Bytes a client may leave unread: beyond it QoS 0 is dropped, and after slowClientTimeout it is cut off',
  }),
  slowClientTimeout: limit('slowClientTimeout', {
    kind: integer(1, INT32_MAX, 'MS'),
    help: 'Milliseconds a client may stay beyond maxClientBufferBytes before it is disconnected',
  }),
  maxSubscriptionsPerClient: limit('maxSubscriptionsPerClient', {
    kind: integer(1, INT32_MAX),
    help: 'Subscriptions one session may hold',
  }),
  maxTopicLength: limit('maxTopicLength', {
    // a UTF-8 string field holds at most 65535 bytes [MQTT-1.5.4]
    kind: integer(1, UINT16_MAX, 'BYTES'),
    help: 'Longest topic name or filter',
  }),
  maxTopicLevels: limit('maxTopicLevels', {
    // Matching walks the subscription trie one call per level: far below the stack's depth.
    kind: integer(1, MAX_TOPIC_LEVELS),
    help: 'Most "/"-separated levels in a topic',
  }),
  maxClientIdLength: limit('maxClientIdLength', {
    // the server MUST allow client identifiers of 1 to 23 bytes [MQTT-3.1.3-5]
    kind: integer(23, UINT16_MAX, 'BYTES'),
    help: 'Longest client identifier accepted',
  }),
  maxKeepalive: limit('maxKeepalive', {
    kind: integer(0, UINT16_MAX, 'SECONDS'),
    help: 'Longest keep-alive granted; 5.0 clients asking for more (or 0) are told this value',
  }),
  connectTimeout: limit('connectTimeout', {
    kind: integer(1, INT32_MAX, 'MS'),
    help: 'Milliseconds a new connection may take to send CONNECT',
  }),
  topicAliasMaximum: limit('topicAliasMaximum', {
    kind: integer(0, UINT16_MAX),
    help: 'Topic aliases a 5.0 client may use towards the broker; 0 disables them',
  }),
  maxSessionExpiryInterval: limit('maxSessionExpiryInterval', {
    kind: integer(0, 0xffff_ffff, 'SECONDS'),
    help: 'Cap on Session Expiry Interval; 4294967295 means never expire',
  }),
}

export const settings: readonly Setting[] = [...Object.values(topLevelSettings), ...Object.values(limitSettings)]

/** Keys allowed at the top of a config file and inside its `limits` object. */
export const fileKeys = {
  top: [...Object.keys(topLevelSettings), 'limits'],
  limits: Object.keys(limitSettings),
} as const

/**
 * Options that steer loading rather than set a config key. They live here, next to the
 * settings, because `--help` and the argument parser read both lists.
 */
export interface MetaOption {
  readonly flag: string
  readonly short: string | undefined
  readonly env: string | undefined
  /** `undefined`: a switch that takes no value. */
  readonly placeholder: string | undefined
  readonly help: string
}

export const metaOptions = {
  config: {
    flag: 'config', short: 'c', env: envName('config'), placeholder: 'FILE',
    help: 'JSON config file, relative to the working directory',
  },
  memory: {
    flag: 'memory', short: undefined, env: envName('memory'), placeholder: undefined,
    help: 'Keep everything in memory (dataDir: null); nothing survives a restart',
  },
  help: { flag: 'help', short: 'h', env: undefined, placeholder: undefined, help: 'Print this help and exit' },
} as const satisfies Record<string, MetaOption>

/** `HALYARD_MEMORY` takes true or false, like the other booleans. */
export const memoryKind: Kind<boolean> = boolean()
