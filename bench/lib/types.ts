/** What the runner hands a load process, and what comes back. Plain JSON both ways. */

export type ScenarioKind = 'flood' | 'qos-flow' | 'latency' | 'idle' | 'retained' | 'routing' | 'cold-prepare'

export interface LoadSpec {
  kind: ScenarioKind
  port: number
  brokerPid: number
  /** Clock ticks per second of /proc/PID/stat (getconf CLK_TCK). */
  clockTicks: number
  /** Cores the broker and the load process are pinned to, null when not pinned. */
  brokerCore: number | null
  loadCore: number | null
  version: 4 | 5
  /** Length of the sending phase. */
  seconds: number
  /** Longest wait for stragglers after sending stops. */
  drainSeconds: number
  publishers: number
  subscribers: number
  /** flood: every publisher and subscriber on one topic (fan-out) or one topic per publisher. */
  isSharedTopic: boolean
  payloadBytes: number
  qos: 0 | 1 | 2
  /** QoS 1/2 messages a publisher may have unacknowledged by the broker. */
  window: number
  /** Deliveries in flight (sent × subscribers − received) past which publishers wait. */
  backlogCap: number
  /** latency: messages per second. */
  rate: number
  /** idle: connections to open, and how many CONNECTs may be outstanding at once. */
  connections: number
  connectConcurrency: number
  holdSeconds: number
  /** retained: messages stored before the subscriber arrives; cold-prepare: messages to store. */
  retainedCount: number
  /** routing: subscriptions to make; cold-prepare: persistent sessions to leave behind. */
  subscriptions: number
}

export interface LoadResult {
  /** Messages published in the measured phase. */
  sent: number
  /** Deliveries expected from them (sent × matching subscribers). */
  expected: number
  received: number
  /** expected − received once the drain ended. */
  drops: number
  /** Seconds from the first send to the last delivery. */
  seconds: number
  /** Deliveries per second over `seconds`. */
  rate: number
  /** Broker and load-generator CPU over the sending phase, in % of one core. */
  brokerCpuPct: number
  loadCpuPct: number
  /** CPU taken by anything else on the broker's and the load's core (see `CpuWindowResult`). */
  brokerCoreOtherPct: number
  loadCoreOtherPct: number
  /** Scenario-specific numbers (latency percentiles, connect rate, RSS per connection...). */
  metrics: Record<string, number>
  notes: string[]
}

export type LoadMessage = { type: 'result'; result: LoadResult } | { type: 'error'; message: string }
