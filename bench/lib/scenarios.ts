/**
 * The scenarios, what each runs against, and the one number ("key metric") its ratios compare.
 * Sizes that the issue fixes (20 publishers, 50 subscribers, 64 B, 5k msg/s) are constants here;
 * durations and counts come from the command line.
 */
import type { LoadSpec } from './types.js'
import type { TargetName } from './brokers.js'

export interface Options {
  seconds: number
  /**
   * The latency run's sending phase. Longer than a throughput run's: its first 2 s are warm-up
   * (a JIT-compiled broker is still compiling its hot path then), and the tail needs samples.
   */
  latencySeconds: number
  rounds: number
  idleConnections: number
  /** As many idle connections as `ulimit -n` allows (minus a margin): the `idle-max` scenario. */
  maxIdleConnections: number
  retainedCount: number
  holdSeconds: number
  /** Subscriptions of the two routing scenarios. */
  routingSmall: number
  routingLarge: number
  /** Retained messages and persistent sessions in the cold-start data directory. */
  coldRetained: number
  coldSessions: number
}

export type SpecTemplate = Omit<LoadSpec, 'port' | 'brokerPid' | 'clockTicks' | 'brokerCore' | 'loadCore'>

export interface KeyMetric {
  /** 'rate' or a key of `LoadResult.metrics`. */
  name: string
  label: string
  unit: string
  isHigherBetter: boolean
}

export interface Scenario {
  name: string
  title: string
  targets: TargetName[]
  /** Targets left out on purpose, with the reason printed instead of a result. */
  skipped: Partial<Record<TargetName, string>>
  key: KeyMetric
  /** At most this many rounds, whatever `--rounds` says (slow scenarios, to keep a full run short). */
  maxRounds?: number
  spec(o: Options): SpecTemplate
}

const ALL: TargetName[] = ['halyard', 'mosquitto', 'aedes']

function base(o: Options): SpecTemplate {
  return {
    kind: 'flood', version: 4, seconds: o.seconds, drainSeconds: Math.max(5, 2 * o.seconds),
    publishers: 1, subscribers: 1, isSharedTopic: false, payloadBytes: 64, qos: 0, window: 50,
    backlogCap: 100_000, rate: 0, connections: 0, connectConcurrency: 100, holdSeconds: o.holdSeconds,
    retainedCount: 0, subscriptions: 0,
  }
}

const rate = (unit: string): KeyMetric => ({ name: 'rate', label: 'delivered', unit, isHigherBetter: true })

export const SCENARIOS: Scenario[] = [
  {
    name: 'fan-in',
    title: 'fan-in QoS 0, MQTT 3.1.1: 20 publishers → one bench/+ subscriber, 64 B',
    targets: ALL, skipped: {}, key: rate('msg/s'),
    spec: (o) => ({ ...base(o), publishers: 20, backlogCap: 20_000 }),
  },
  {
    name: 'fan-in-v5',
    title: 'fan-in QoS 0, MQTT 5.0: 20 publishers → one bench/+ subscriber, 64 B',
    targets: ['halyard', 'mosquitto'], skipped: { aedes: 'aedes 1.x speaks MQTT 3.1.1 only' }, key: rate('msg/s'),
    spec: (o) => ({ ...base(o), version: 5, publishers: 20, backlogCap: 20_000 }),
  },
  {
    name: 'fan-out',
    title: 'fan-out QoS 0: one publisher → 50 subscribers of one topic, 64 B',
    targets: ALL, skipped: {}, key: rate('deliveries/s'),
    spec: (o) => ({ ...base(o), subscribers: 50, isSharedTopic: true, backlogCap: 50_000 }),
  },
  {
    name: 'qos1',
    title: 'QoS 1 end to end: 10 publishers (window 50 each) → one persistent bench/+ subscriber, 64 B',
    targets: ['halyard', 'halyard-level', 'halyard-sync', 'mosquitto', 'aedes'], skipped: {}, key: rate('msg/s'),
    spec: (o) => ({ ...base(o), kind: 'qos-flow', qos: 1, publishers: 10, backlogCap: 10_000 }),
  },
  {
    name: 'qos2',
    title: 'QoS 2 end to end: 10 publishers (window 50 each) → one persistent bench/+ subscriber, 64 B',
    targets: ['halyard', 'halyard-level', 'mosquitto', 'aedes'], skipped: {}, key: rate('msg/s'),
    spec: (o) => ({ ...base(o), kind: 'qos-flow', qos: 2, publishers: 10, backlogCap: 10_000 }),
  },
  {
    name: 'latency',
    title: 'latency at 5,000 msg/s, QoS 0, 64 B, TCP_NODELAY on every socket',
    targets: ALL, skipped: {}, key: { name: 'p99Ms', label: 'p99', unit: 'ms', isHigherBetter: false },
    spec: (o) => ({ ...base(o), kind: 'latency', rate: 5000, seconds: o.latencySeconds }),
  },
  {
    name: 'idle',
    title: 'idle connections, each with one subscription',
    targets: ALL, skipped: {}, key: { name: 'rssPerConnKiB', label: 'RSS/conn', unit: 'KiB', isHigherBetter: false },
    spec: (o) => ({ ...base(o), kind: 'idle', connections: o.idleConnections }),
  },
  {
    name: 'idle-max',
    title: 'idle connections, as many as ulimit -n allows (minus 1,000), each with one subscription',
    targets: ALL, skipped: {}, maxRounds: 1,
    key: { name: 'rssPerConnKiB', label: 'RSS/conn', unit: 'KiB', isHigherBetter: false },
    spec: (o) => ({ ...base(o), kind: 'idle', connections: o.maxIdleConnections }),
  },
  {
    name: 'retained',
    title: 'retained messages delivered to a new # subscriber, 64 B',
    targets: ['halyard', 'halyard-level', 'mosquitto', 'aedes'], skipped: {},
    key: { name: 'timeMs', label: 'time', unit: 'ms', isHigherBetter: false },
    spec: (o) => ({ ...base(o), kind: 'retained', retainedCount: o.retainedCount, drainSeconds: 60 }),
  },
  ...(['small', 'large'] as const).map((size): Scenario => ({
    name: size === 'small' ? 'routing-10k' : 'routing-100k',
    title: `routing: ${size === 'small' ? '10,000' : '100,000'} subscriptions (a third each exact, +, #), 10 QoS 0 publishers on random topics, ~2.1 deliveries per publish`,
    targets: ALL, skipped: {}, maxRounds: size === 'small' ? undefined : 2,
    key: { name: 'publishRate', label: 'routed', unit: 'pub/s', isHigherBetter: true },
    spec: (o) => ({
      ...base(o), kind: 'routing', publishers: 10, backlogCap: 20_000, drainSeconds: Math.max(10, 2 * o.seconds),
      subscriptions: size === 'small' ? o.routingSmall : o.routingLarge,
    }),
  })),
  ...([16, 1024, 65536] as const).map((bytes): Scenario => ({
    name: `payload-${bytes === 16 ? '16b' : bytes === 1024 ? '1k' : '64k'}`,
    title: `fan-in QoS 0 with ${bytes === 16 ? '16 B' : bytes === 1024 ? '1 KB' : '64 KB'} payloads: 20 publishers → one bench/+ subscriber`,
    targets: ALL, skipped: {}, key: rate('msg/s'),
    // At most ~4 MiB of deliveries in flight, whatever the size: below Halyard's default
    // limits.maxClientBufferBytes (8 MiB), past which it drops QoS 0 for a client that lags.
    spec: (o) => ({ ...base(o), publishers: 20, payloadBytes: bytes, backlogCap: Math.min(20_000, Math.floor(4 * 2 ** 20 / bytes)) }),
  })),
  {
    name: 'cold-start',
    title: 'cold start: time from spawn to the first CONNACK, on a data directory of retained messages and persistent sessions',
    targets: ['halyard-level', 'mosquitto'], maxRounds: 2,
    skipped: { halyard: 'memory store: nothing to restore', aedes: 'aedes-server.mjs keeps its data in memory' },
    key: { name: 'firstConnackMs', label: 'first CONNACK', unit: 'ms', isHigherBetter: false },
    spec: (o) => ({ ...base(o), kind: 'cold-prepare', retainedCount: o.coldRetained, subscriptions: o.coldSessions }),
  },
]
