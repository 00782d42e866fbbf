import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import type { IClientOptions } from 'mqtt'
import { closeClient, open, until, type Opened } from '../helpers/client.js'
import { spawnBroker, type BrokerProcess } from '../helpers/process.js'
import { waitOut } from '../helpers/restart.js'

/*
 * The will and session timers of restart-timers.test.ts, with the broker process killed by
 * SIGKILL instead of stopped: nothing runs at shutdown, so what survives is what the broker
 * had written when it handled the disconnect.
 */

async function dataDir(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'halyard-kill-timers-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

async function spawnOn(t: Test, dir: string): Promise<BrokerProcess> {
  const proc = await spawnBroker(['--data-dir', dir])
  t.teardown(() => { proc.child.kill('SIGKILL') })
  return proc
}

async function openOn(t: Test, proc: BrokerProcess, opts: IClientOptions): Promise<Opened> {
  const opened = await open(`mqtt://127.0.0.1:${proc.port}`, { protocolVersion: 5, ...opts })
  t.teardown(() => closeClient(opened.client))
  return opened
}

/**
 * Cuts the connection without DISCONNECT, then waits for the broker's 'client disconnected'
 * log line for it, which is written once the session's disconnect time is stored.
 */
async function dropAndWaitFor(proc: BrokerProcess, c: Opened, clientId: string): Promise<number> {
  const droppedAt = Date.now()
  c.client.stream.destroy()
  const logged = (line: string): boolean => {
    try {
      const entry = JSON.parse(line) as { msg?: string; clientId?: string }
      return entry.msg === 'client disconnected' && entry.clientId === clientId
    } catch {
      return false
    }
  }
  await until(() => proc.logs.some(logged), 5000, `the broker to log ${clientId}'s disconnect`)
  return droppedAt
}

async function kill(proc: BrokerProcess): Promise<void> {
  proc.child.kill('SIGKILL')
  if (await proc.exited !== 'SIGKILL') throw new Error('the broker was not killed by SIGKILL')
}

t.test('kill -9: a delayed will is published once, its delay counted from the disconnect, not from the restart [MQTT-3.1.3-9]', async (t) => {
  const dir = await dataDir(t)
  const first = await spawnOn(t, dir)
  const dying = await openOn(t, first, {
    clientId: 'k-dying',
    clean: false,
    properties: { sessionExpiryInterval: 60 },
    will: { topic: 'kwill/x', payload: Buffer.from('late'), qos: 1, retain: false, properties: { willDelayInterval: 3 } },
  })
  const droppedAt = await dropAndWaitFor(first, dying, 'k-dying')
  await kill(first)
  await waitOut(droppedAt, 1500)
  const second = await spawnOn(t, dir)
  const watcher = await openOn(t, second, { clientId: 'k-watch' })
  await watcher.client.subscribeAsync('kwill/#', { qos: 1 })
  const [m] = await watcher.got.next(1, 6000)
  const elapsed = Date.now() - droppedAt
  t.equal(m?.payload, 'late')
  t.ok(elapsed >= 2950, `not before its 3 s delay (${elapsed} ms after the disconnect)`)
  t.ok(elapsed < 4200, `at 3 s after the disconnect, not 3 s after the restart (>= 4.5 s): ${elapsed} ms`)
  // Published once: the session no longer holds the will, so the next start does not publish
  // it again. That broker is stopped with SIGTERM, which waits for the write that drops the
  // will from the session (a kill could land between the publish and that write).
  await closeClient(watcher.client)
  second.child.kill('SIGTERM')
  t.equal(await second.exited, 0)
  const third = await spawnOn(t, dir)
  const after = await openOn(t, third, { clientId: 'k-watch2' })
  await after.client.subscribeAsync('kwill/#', { qos: 1 })
  await after.client.publishAsync('kwill/marker', 'marker', { qos: 1 })
  const [next] = await after.got.next(1)
  t.equal(next?.payload, 'marker', 'no second copy of the will after the next restart')
  t.notOk(third.logs.some((l) => l.includes('publishing will message')), 'the third broker publishes no will')
  third.child.kill('SIGTERM')
  t.equal(await third.exited, 0)
})

t.test('kill -9: a persistent session expires on time, counted from its disconnect before the kill [MQTT-3.1.2-23]', async (t) => {
  const dir = await dataDir(t)
  const first = await spawnOn(t, dir)
  const session = { clientId: 'k-sess', clean: false, properties: { sessionExpiryInterval: 2 } }
  const sub = await openOn(t, first, session)
  await sub.client.subscribeAsync('ksess/t', { qos: 1 })
  const closedAt = await dropAndWaitFor(first, sub, 'k-sess')
  const pub = await openOn(t, first, { clientId: 'k-pub' })
  await pub.client.publishAsync('ksess/t', 'queued', { qos: 1 })
  await kill(first)
  await waitOut(closedAt, 1500)
  const second = await spawnOn(t, dir)
  // Past the 2 s expiry, before one re-armed from zero at the restart (>= 3.5 s).
  await waitOut(closedAt, 2700)
  const back = await openOn(t, second, session)
  t.equal(back.connack.sessionPresent, false, 'Session Present 0: the session expired while the broker was down and restarting')
  await back.client.subscribeAsync('ksess/t', { qos: 1 })
  await back.client.publishAsync('ksess/t', 'marker', { qos: 1 })
  const [m] = await back.got.next(1)
  t.equal(m?.payload, 'marker', 'the queued message went with the session')
  second.child.kill('SIGTERM')
  t.equal(await second.exited, 0)
})

t.test('kill -9 with the client still connected: its will is published once the broker is back [MQTT-3.1.2-8]', async (t) => {
  const dir = await dataDir(t)
  const first = await spawnOn(t, dir)
  // The watcher's own persistent session keeps its subscription and queue across the kill.
  const watcher = { clientId: 'k-cw', clean: false, properties: { sessionExpiryInterval: 60 } }
  const w1 = await openOn(t, first, watcher)
  await w1.client.subscribeAsync('kconn/#', { qos: 1 })
  await w1.client.endAsync()
  await openOn(t, first, {
    clientId: 'k-conn',
    clean: false,
    properties: { sessionExpiryInterval: 60 },
    will: { topic: 'kconn/x', payload: Buffer.from('broker died'), qos: 1, retain: false },
  })
  await kill(first)
  const second = await spawnOn(t, dir)
  const w2 = await openOn(t, second, watcher)
  const [m] = await w2.got.next(1)
  t.same([m?.topic, m?.payload], ['kconn/x', 'broker died'], 'the connection was lost without DISCONNECT, so the will is due')
  second.child.kill('SIGTERM')
  t.equal(await second.exited, 0)
})
