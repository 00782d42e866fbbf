import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { IClientOptions } from 'mqtt'
import type { Test } from 'tap'
import type { ClientInfo } from '../../src/index.js'
import { startBroker, type TestBroker } from './broker.js'
import { closeClient, delay, open, waitFor, type Opened } from './client.js'

/**
 * One LevelDB data directory that brokers are started on, stopped (gracefully, `broker.close()`)
 * and started on again, one at a time: the durability tests of timers that must survive a
 * restart. The directory and whatever broker is running are removed at `t`'s teardown.
 */
export interface RestartableBroker {
  dataDir: string
  /** The running broker; throws if none. */
  readonly current: TestBroker
  start(): Promise<TestBroker>
  stop(): Promise<void>
}

export async function restartable(t: Test, opts: Parameters<typeof startBroker>[0] = {}): Promise<RestartableBroker> {
  const dataDir = await mkdtemp(join(tmpdir(), 'halyard-restart-'))
  let running: TestBroker | undefined
  const stop = async (): Promise<void> => {
    const b = running
    running = undefined
    await b?.close()
  }
  t.teardown(async () => {
    await stop()
    await rm(dataDir, { recursive: true, force: true })
  })
  return {
    dataDir,
    get current() {
      if (running === undefined) throw new Error('no broker is running')
      return running
    },
    async start() {
      if (running !== undefined) throw new Error('a broker is already running on this data dir')
      running = await startBroker({ ...opts, dataDir })
      return running
    },
    stop,
  }
}

/** A 5.0 MQTT.js client (collector attached before CONNACK), ended at `t`'s teardown. */
export async function openV5(t: Test, url: string, opts: IClientOptions = {}): Promise<Opened> {
  const opened = await open(url, { protocolVersion: 5, ...opts })
  t.teardown(() => closeClient(opened.client))
  return opened
}

/** Resolves when the broker has finished closing `clientId`'s connection (session stored, will armed). */
export async function disconnected(b: TestBroker, clientId: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms
  for (;;) {
    const [info] = await waitFor<[ClientInfo, string]>(b.broker, 'clientDisconnected', deadline - Date.now())
    if (info.clientId === clientId) return
  }
}

/**
 * Cuts a client's connection without DISCONNECT (a crashed device) and waits until the broker
 * has handled it. Returns the time the connection was cut: the broker's disconnect time is at
 * or after it.
 */
export async function dropAndWait(b: TestBroker, c: Opened, clientId: string): Promise<number> {
  const gone = disconnected(b, clientId)
  const droppedAt = Date.now()
  c.client.stream.destroy()
  await gone
  return droppedAt
}

/** Waits until `ms` after `since`: only for letting pass the time a test is about. */
export async function waitOut(since: number, ms: number): Promise<void> {
  const left = since + ms - Date.now()
  if (left > 0) await delay(left)
}
