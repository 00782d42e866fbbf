import t from 'tap'
import { startBroker } from '../helpers/broker.js'
import { connect, until } from '../helpers/client.js'
import { HealthyTraffic, assertTraffic, errorCatchingLogger } from '../helpers/traffic.js'
import { caseHex, runFuzz } from './harness.js'

/*
 * Fuzzing, the bounded run of `npm test`: a few thousand mutations of valid packets of every
 * type, at 3.1.1 and 5.0, sent to a live broker over real sockets (test/fuzz/harness.ts), with a
 * healthy publisher/subscriber pair beside them. The broker must log nothing at error level,
 * stay up, keep the pair whole and be left with no connection behind. Long runs:
 * `npm run fuzz -- --seconds 300` (test/fuzz/run.ts); FUZZ_SEED and FUZZ_CASES steer this one.
 */

const seed = Number(process.env.FUZZ_SEED ?? 20_241_123)
const count = Number(process.env.FUZZ_CASES ?? 3000)
t.setTimeout(60_000)

t.test(`${count} mutated packets (seed ${seed}) against a live broker`, async (t) => {
  const { logger, errors } = errorCatchingLogger()
  const b = await startBroker({ memory: true, logger })
  t.teardown(() => b.close())
  const traffic = await HealthyTraffic.start(b.url)
  t.teardown(() => traffic.stop(0).then(() => undefined))
  const start = Date.now()
  const run = await runFuzz({ port: b.port, seed, count, errors })
  const elapsed = Date.now() - start
  t.comment(`${run.cases} cases in ${elapsed} ms: ${JSON.stringify(run.outcomes)}`)
  t.equal(run.cases, count, 'every case was run')
  t.ok(run.outcomes.closed > 0 && run.outcomes.answered > 0, 'some cases were refused, some were served')
  for (const failure of run.failures.slice(0, 5)) {
    const c = failure.fuzzCase
    t.fail(`error logged: ${failure.line}`, c === undefined ? {} : { case: c.index, what: c.description, hex: caseHex(c) })
  }
  t.same(run.failures.length, 0, 'nothing was logged at error level')

  assertTraffic(t, await traffic.stop())
  await until(() => b.broker.connectionCount === 0, 2000, 'every fuzz connection to be gone')
  t.pass('no connection was left behind')
  const after = await connect(b.url, { protocolVersion: 5, clientId: 'after-fuzz' })
  await after.subscribeAsync('after/x', { qos: 1 })
  await after.publishAsync('after/x', 'ok', { qos: 1 })
  await after.endAsync()
  t.pass('a new client connects, subscribes and publishes afterwards')
})
