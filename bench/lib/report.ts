/**
 * Turns the runs into one summary row per (scenario, broker): medians over the rounds that
 * completed, the worst drops, the key metric's ratios Halyard/Mosquitto and Halyard/Aedes, and
 * a plain flag when the load generator was the bottleneck.
 */
import type { TargetName } from './brokers.js'
import type { Scenario } from './scenarios.js'
import type { LoadResult } from './types.js'

/** Load-generator CPU (% of its one core) from which a run is called load-bound. */
export const LOAD_BOUND_PCT = 90
/** CPU taken by other processes on the broker's or the load's core from which a run is suspect. */
export const CONTENDED_PCT = 15

export interface RunRecord {
  scenario: string
  target: TargetName
  round: number
  /** Wall time of the whole run: broker start, load, broker stop. */
  wallSeconds: number
  error?: string
  result?: LoadResult
  peakRssKiB?: number
  /** Machine CPU in use (% of all cores) just before the run started. */
  backgroundPct?: number
  /** What the broker printed (its last few KB), kept when it printed anything. */
  brokerOutput?: string
}

export interface Summary {
  scenario: string
  target: TargetName
  rounds: number
  failedRounds: number
  errors: string[]
  rate: number
  drops: number
  brokerCpuPct: number
  loadCpuPct: number
  peakRssMiB: number
  metrics: Record<string, number>
  key: number
  keyName: string
  ratioMosquitto: number | null
  ratioAedes: number | null
  isLoadBound: boolean
  /** Other processes on the broker's / load's core, median % of one core. */
  brokerCoreOtherPct: number
  loadCoreOtherPct: number
  isContended: boolean
  notes: string[]
}

export function median(values: number[]): number {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b)
  if (sorted.length === 0) return Number.NaN
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

function keyOf(result: LoadResult, name: string): number {
  return name === 'rate' ? result.rate : (result.metrics[name] ?? Number.NaN)
}

export function summarise(scenario: Scenario, targets: TargetName[], runs: RunRecord[]): Summary[] {
  const rows = targets.map((target): Summary => {
    const mine = runs.filter((r) => r.scenario === scenario.name && r.target === target)
    const done = mine.filter((r) => r.result !== undefined)
    const results = done.map((r) => r.result!)
    const metricNames = new Set(results.flatMap((r) => Object.keys(r.metrics)))
    const metrics: Record<string, number> = {}
    for (const name of metricNames) metrics[name] = median(results.map((r) => r.metrics[name] ?? Number.NaN))
    const notes = new Set<string>()
    for (const r of mine) for (const note of r.result?.notes ?? []) notes.add(`round ${r.round + 1}: ${note}`)
    return {
      scenario: scenario.name, target, rounds: done.length, failedRounds: mine.length - done.length,
      errors: mine.filter((r) => r.error !== undefined).map((r) => `round ${r.round + 1}: ${r.error}`),
      rate: median(results.map((r) => r.rate)),
      drops: results.length === 0 ? Number.NaN : Math.max(...results.map((r) => r.drops)),
      brokerCpuPct: median(results.map((r) => r.brokerCpuPct)),
      loadCpuPct: median(results.map((r) => r.loadCpuPct)),
      peakRssMiB: median(done.map((r) => (r.peakRssKiB ?? Number.NaN) / 1024)),
      metrics,
      key: median(results.map((r) => keyOf(r, scenario.key.name))),
      keyName: scenario.key.name,
      ratioMosquitto: null, ratioAedes: null,
      isLoadBound: results.some((r) => r.loadCpuPct >= LOAD_BOUND_PCT),
      brokerCoreOtherPct: median(results.map((r) => r.brokerCoreOtherPct)),
      loadCoreOtherPct: median(results.map((r) => r.loadCoreOtherPct)),
      isContended: results.some((r) => r.brokerCoreOtherPct >= CONTENDED_PCT || r.loadCoreOtherPct >= CONTENDED_PCT),
      notes: [...notes],
    }
  })
  const keyFor = (target: TargetName): number => rows.find((r) => r.target === target)?.key ?? Number.NaN
  for (const row of rows) {
    if (!row.target.startsWith('halyard')) continue
    const mosquitto = keyFor('mosquitto')
    const aedes = keyFor('aedes')
    row.ratioMosquitto = Number.isFinite(mosquitto) ? row.key / mosquitto : null
    row.ratioAedes = Number.isFinite(aedes) ? row.key / aedes : null
  }
  return rows
}

const int = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '-')
const fixed = (n: number, digits: number): string => (Number.isFinite(n) ? n.toFixed(digits) : '-')
const ratio = (n: number | null): string => (n === null || !Number.isFinite(n) ? '' : n.toFixed(2))

/** The scenario-specific column: what the key metric and its neighbours say. */
function detail(row: Summary): string {
  const m = row.metrics
  switch (row.scenario) {
    case 'latency':
      return `p50 ${fixed(m.p50Ms ?? Number.NaN, 3)} / p99 ${fixed(m.p99Ms ?? Number.NaN, 3)} / p99.9 ${fixed(m.p999Ms ?? Number.NaN, 3)} ms`
    case 'idle':
    case 'idle-max':
      return `${int(m.connections ?? Number.NaN)} conns, ${int(m.connectRate ?? Number.NaN)} conn/s, ${fixed(m.rssPerConnKiB ?? Number.NaN, 2)} KiB/conn`
    case 'routing-10k':
    case 'routing-100k':
      return `${int(m.subscriptions ?? Number.NaN)} subs, ${int(row.rate)} deliveries/s, subscribed in ${fixed(m.subscribeSeconds ?? Number.NaN, 1)} s`
    case 'cold-start':
      return `session ${fixed(m.sessionMs ?? Number.NaN, 0)} ms, retained lookup ${fixed(m.retainedMs ?? Number.NaN, 0)} ms`
    case 'retained':
      return `${int(m.retained ?? Number.NaN)} retained in ${fixed(m.timeMs ?? Number.NaN, 0)} ms`
    default:
      if (row.scenario.startsWith('payload')) return `${fixed((row.rate * (m.payloadBytes ?? Number.NaN)) / 2 ** 20, 1)} MiB/s of payload`
      return row.scenario.startsWith('qos') ? `${int(m.acknowledged ?? Number.NaN)} acked` : ''
  }
}

function pad(cells: string[], widths: number[]): string {
  return cells.map((cell, i) => (i < 2 || i === cells.length - 1 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ')
}

export function formatTable(scenarios: Scenario[], summaries: Summary[]): string {
  const header = ['scenario', 'broker', 'delivered/s', 'drops', 'brk CPU', 'peak RSS', 'load CPU', 'key', 'H/Mosq', 'H/Aedes', 'detail']
  const lines: string[][] = [header]
  for (const scenario of scenarios) {
    const rows = summaries.filter((s) => s.scenario === scenario.name)
    rows.forEach((row, i) => {
      const isFailed = row.rounds === 0
      lines.push([
        i === 0 ? scenario.name : '',
        row.target + (row.isLoadBound ? ' [LOAD-BOUND]' : '') + (row.isContended ? ' [CONTENDED]' : ''),
        isFailed ? 'FAILED' : int(row.rate),
        isFailed ? '' : int(row.drops),
        isFailed ? '' : `${fixed(row.brokerCpuPct, 0)}%`,
        isFailed ? '' : `${fixed(row.peakRssMiB, 1)} MiB`,
        isFailed ? '' : `${fixed(row.loadCpuPct, 0)}%`,
        isFailed ? '' : `${scenario.key.name === 'rate' ? int(row.key) : fixed(row.key, 3)} ${scenario.key.unit}`,
        ratio(row.ratioMosquitto),
        ratio(row.ratioAedes),
        isFailed ? (row.errors[0] ?? '').slice(0, 100) : detail(row),
      ])
    })
    for (const [target, reason] of Object.entries(scenario.skipped)) {
      lines.push(['', target, 'n/a', '', '', '', '', '', '', '', reason])
    }
  }
  const widths = header.map((_, i) => Math.max(...lines.map((l) => (l[i] ?? '').length)))
  const out = lines.map((l) => pad(l, widths).trimEnd())
  out.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '))
  return out.join('\n')
}

/** Plain sentences for everything a reader must not miss: load-bound runs, drops, errors. */
export function formatWarnings(summaries: Summary[]): string[] {
  const out: string[] = []
  const contended = summaries.filter((row) => row.isContended)
  if (contended.length > 0) {
    out.push(`CONTENDED: the machine was not quiet. In at least one round of these, processes other than the broker and ` +
      `the load took ≥${CONTENDED_PCT}% of the broker's or the load's core (median % of the broker's core / of the load's core): ` +
      contended.map((row) => `${row.scenario}/${row.target} ${fixed(row.brokerCoreOtherPct, 0)}/${fixed(row.loadCoreOtherPct, 0)}`).join(', ') +
      '. They may have slowed the run, or only filled time the run left idle; compare these rows with care, or run again on a quiet machine.')
  }
  for (const row of summaries) {
    if (row.isLoadBound) {
      out.push(`LOAD-BOUND ${row.scenario}/${row.target}: the load generator used ${fixed(row.loadCpuPct, 0)}% of its core ` +
        `(median; ≥${LOAD_BOUND_PCT}% in at least one round), so the broker's number is a lower bound.`)
    }
    if (row.drops > 0 && !row.scenario.startsWith('idle')) {
      out.push(`DROPS ${row.scenario}/${row.target}: up to ${int(row.drops)} messages sent but not delivered after the drain.`)
    }
    for (const error of row.errors) out.push(`ERROR ${row.scenario}/${row.target} ${error}`)
    for (const note of row.notes) out.push(`note ${row.scenario}/${row.target} ${note}`)
  }
  return out
}
