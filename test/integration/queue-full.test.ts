import t from 'tap'
import { Writable } from 'node:stream'
import pino from 'pino'
import { startBroker } from '../helpers/broker.js'
import { closeClient, open } from '../helpers/client.js'

/*
 * A full offline queue drops the newest messages, and says so in the log: once, then at most
 * once a second per session with the count since, so that a busy topic cannot turn one
 * absent subscriber into thousands of log lines a second.
 */

t.test('a full offline queue keeps its first messages and warns at most once a second with the count dropped', async (t) => {
  const lines: Array<{ msg: string; dropped?: number; clientId?: string }> = []
  const sink = new Writable({ write(chunk: Buffer, _enc, done) { lines.push(JSON.parse(chunk.toString()) as typeof lines[number]); done() } })
  const b = await startBroker({ logger: pino({ level: 'warn' }, sink), config: { limits: { maxQueuedMessages: 5 } } })
  t.teardown(() => b.close())
  const session = { protocolVersion: 5 as const, clientId: 'qf-sub', clean: false, properties: { sessionExpiryInterval: 60 } }
  const sub = await open(b.url, session)
  await sub.client.subscribeAsync('qf/t', { qos: 1 })
  await sub.client.endAsync()
  const pub = await open(b.url, { clientId: 'qf-pub' })
  t.teardown(() => closeClient(pub.client))
  const startedAt = Date.now()
  const total = 300
  for (let i = 0; i < total; i++) await pub.client.publishAsync('qf/t', `m${i}`, { qos: 1 })
  const seconds = (Date.now() - startedAt) / 1000
  const warnings = lines.filter((l) => l.msg.includes('queue full') && l.clientId === 'qf-sub')
  t.ok(warnings.length >= 1, 'the drop is logged')
  t.equal(warnings[0]?.dropped, 1, 'the first drop is logged at once')
  t.ok(warnings.length <= Math.ceil(seconds) + 1, `${warnings.length} warnings for ${total - 5} drops in ${seconds.toFixed(2)} s`)
  const counted = warnings.reduce((sum, w) => sum + (w.dropped ?? 0), 0)
  t.ok(counted <= total - 5, `the counts add up to no more than the drops (${counted})`)
  const back = await open(b.url, session)
  t.teardown(() => closeClient(back.client))
  t.equal(back.connack.sessionPresent, true)
  const got = await back.got.next(5)
  t.same(got.map((m) => m.payload), ['m0', 'm1', 'm2', 'm3', 'm4'], 'the first maxQueuedMessages are kept')
})
