import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { collect, connect } from '../helpers/client.js'
import { spawnBroker } from '../helpers/process.js'

t.test('kill -9 loses nothing acknowledged: queued QoS 1/2 and retained messages survive a restart', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'halyard-kill9-'))
  t.teardown(() => rm(dataDir, { recursive: true, force: true }))
  const first = await spawnBroker(['--data-dir', dataDir])
  t.teardown(() => { first.child.kill('SIGKILL') })
  const url1 = `mqtt://127.0.0.1:${first.port}`

  // A persistent session subscribes, then goes away.
  const sub = await connect(url1, { protocolVersion: 5, clientId: 'svc1', clean: false, properties: { sessionExpiryInterval: 3600 } })
  await sub.subscribeAsync('sensors/+/temp', { qos: 2 })
  await sub.endAsync()

  const pub = await connect(url1, { protocolVersion: 4, clientId: 'sensor1' })
  // publishAsync resolves on PUBACK / PUBCOMP: from here on the broker has promised these.
  await pub.publishAsync('sensors/kitchen/temp', '21.5', { qos: 1, retain: true })
  await pub.publishAsync('sensors/hall/temp', '19', { qos: 2 })
  await pub.publishAsync('sensors/attic/temp', '30', { qos: 1 })
  pub.stream.destroy()

  first.child.kill('SIGKILL')
  t.equal(await first.exited, 'SIGKILL')

  const second = await spawnBroker(['--data-dir', dataDir])
  t.teardown(() => { second.child.kill('SIGKILL') })
  const url2 = `mqtt://127.0.0.1:${second.port}`
  const back = await connect(url2, { protocolVersion: 5, clientId: 'svc1', clean: false, properties: { sessionExpiryInterval: 3600 } })
  const got = collect(back)
  t.equal(back.connected, true)
  const msgs = await got.next(3)
  t.same(msgs.map((m) => `${m.topic}=${m.payload}`).sort(),
    ['sensors/attic/temp=30', 'sensors/hall/temp=19', 'sensors/kitchen/temp=21.5'],
    'every acknowledged message reaches the persistent session after kill -9')
  t.same(msgs.filter((m) => m.topic !== 'sensors/hall/temp').map((m) => m.payload), ['21.5', '30'], 'QoS 1 messages in publish order [MQTT-4.6.0-6]')
  await back.endAsync()

  const fresh = await connect(url2, { protocolVersion: 4, clientId: 'dashboard' })
  const retained = collect(fresh)
  await fresh.subscribeAsync('sensors/#', { qos: 1 })
  const [r] = await retained.next(1)
  t.equal(r?.topic, 'sensors/kitchen/temp')
  t.equal(r?.retain, true, 'the retained message survives kill -9')
  await fresh.endAsync()
  second.child.kill('SIGTERM')
  t.equal(await second.exited, 0)
})

t.test('SIGTERM: 5.0 clients get DISCONNECT 0x8B, the store closes, exit code 0', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'halyard-term-'))
  t.teardown(() => rm(dataDir, { recursive: true, force: true }))
  const proc = await spawnBroker(['--data-dir', dataDir])
  t.teardown(() => { proc.child.kill('SIGKILL') })
  const client = await connect(`mqtt://127.0.0.1:${proc.port}`, { protocolVersion: 5, clientId: 'c-term' })
  const disconnect = new Promise<number | undefined>((resolve) => {
    client.on('disconnect', (packet) => resolve(packet.reasonCode))
  })
  proc.child.kill('SIGTERM')
  t.equal(await disconnect, 0x8b, 'DISCONNECT with reason Server shutting down')
  t.equal(await proc.exited, 0)
  client.end(true)
  // The store was closed cleanly: the same data directory opens again at once.
  const again = await spawnBroker(['--data-dir', dataDir])
  again.child.kill('SIGTERM')
  t.equal(await again.exited, 0)
})

t.test('SIGTERM ends the process with exit code 0 even when nobody reads its stdout any more (EPIPE)', async (t) => {
  // `halyard | head`, or a log collector that died: the last log lines cannot be written.
  const proc = await spawnBroker(['--memory'])
  t.teardown(() => { proc.child.kill('SIGKILL') })
  proc.child.stdout?.destroy()
  proc.child.kill('SIGTERM')
  let timer: NodeJS.Timeout | undefined
  const code = await Promise.race([
    proc.exited,
    new Promise<string>((resolve) => { timer = setTimeout(() => resolve('still running 5 s after SIGTERM'), 5000) }),
  ])
  clearTimeout(timer)
  t.equal(code, 0)
})
