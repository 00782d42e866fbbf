/**
 * Long fuzz runs: `npm run fuzz -- --seconds 300 [--seed N] [--concurrency 32] [--level]
 * [--config '{"maxQos":1,"limits":{"maxPacketSize":512}}']` (the broker's config, as embedders
 * give it: tight limits reach other paths). Replaying one case: `npm run fuzz -- --seed N --case I`.
 *
 * Same cases and invariants as test/fuzz/fuzz.test.ts, for as long as asked: a live broker in
 * this process (memory store, or LevelDB in a temp dir with --level), a healthy pair beside it,
 * every error-level log line reported with the case that caused it as hex. An uncaught
 * exception prints every case in flight. Exits 1 if anything failed.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { startBroker } from '../helpers/broker.js'
import { HealthyTraffic, errorCatchingLogger } from '../helpers/traffic.js'
import { caseHex, makeCase, runFuzz, type FuzzCase, type FuzzFailure } from './harness.js'

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    seed: { type: 'string' },
    concurrency: { type: 'string', default: '32' },
    case: { type: 'string' },
    level: { type: 'boolean', default: false },
    config: { type: 'string', default: '{}' },
  },
})

const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed)
const inFlight = new Set<FuzzCase>()

function describe(c: FuzzCase): string {
  return `case ${c.index} (${c.description})\n  hex: ${caseHex(c)}`
}

function onCrash(kind: string) {
  return (err: unknown): void => {
    console.error(`\n${kind} with seed ${seed}: ${err instanceof Error ? err.stack : String(err)}`)
    console.error(`cases in flight:\n${[...inFlight].map(describe).join('\n')}`)
    process.exit(1)
  }
}
process.on('uncaughtException', onCrash('uncaught exception'))
process.on('unhandledRejection', onCrash('unhandled rejection'))

async function main(): Promise<number> {
  const dataDir = values.level ? await mkdtemp(join(tmpdir(), 'halyard-fuzz-')) : undefined
  const { logger, errors } = errorCatchingLogger()
  const config = JSON.parse(values.config) as NonNullable<Parameters<typeof startBroker>[0]>['config']
  const b = await startBroker({ logger, config, ...(dataDir === undefined ? { memory: true } : { dataDir }) })
  const traffic = await HealthyTraffic.start(b.url, { max: Number.MAX_SAFE_INTEGER, intervalMs: 50 })
  const report = (f: FuzzFailure): void => {
    console.log(`\nFAILURE (seed ${seed}): ${f.line}`)
    console.log(f.fuzzCase === undefined ? '  (no case could be matched to this line)' : `  ${describe(f.fuzzCase)}`)
  }

  let failures = 0
  if (values.case !== undefined) {
    const c = makeCase(seed, Number(values.case))
    console.log(`replaying seed ${seed} ${describe(c)}`)
    const run = await runFuzz({ port: b.port, seed, first: c.index, count: 1, concurrency: 1, waitMs: 1000, errors, inFlight, onFailure: report })
    console.log(`outcome: ${JSON.stringify(run.outcomes)}`)
    failures = run.failures.length
  } else {
    const seconds = Number(values.seconds)
    console.log(`fuzzing for ${seconds} s with seed ${seed} (${values.level ? 'LevelDB' : 'memory'} store, config ${values.config})`)
    const until = Date.now() + seconds * 1000
    let first = 0
    // Rounds of ten seconds, so that progress shows; cases are numbered across rounds.
    while (Date.now() < until) {
      const run = await runFuzz({
        port: b.port, seed, first, untilMs: Math.min(until, Date.now() + 10_000),
        concurrency: Number(values.concurrency), errors, inFlight, onFailure: report,
      })
      first += run.cases
      failures += run.failures.length
      console.log(`${first} cases, ${failures} failures; last round ${JSON.stringify(run.outcomes)}`)
    }
  }

  const health = await traffic.stop()
  const isHealthy = health.missing.length === 0 && health.errors.length === 0
  console.log(`healthy pair: ${health.received}/${health.sent} delivered, slowest PUBACK ${health.slowestAckMs} ms` +
    (isHealthy ? '' : `; PROBLEMS: ${JSON.stringify({ missing: health.missing.slice(0, 10), errors: health.errors })}`))
  const closing = Date.now()
  await b.close()
  console.log(`broker closed in ${Date.now() - closing} ms`)
  if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true })
  console.log(failures === 0 && isHealthy ? `no failures (seed ${seed})` : `FAILED (seed ${seed})`)
  return failures === 0 && isHealthy ? 0 : 1
}

process.exitCode = await main()
