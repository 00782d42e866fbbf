import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { createBroker, type Broker, type BrokerOptions } from '../../src/index.js'

export interface TestBroker {
  broker: Broker
  port: number
  wsPort: number
  dataDir: string | null
  url: string
  close(): Promise<void>
}

/**
 * A real broker on ephemeral loopback ports with its own LevelDB temp dir (or memory store).
 * Each test owns one and closes it (see `t.teardown`).
 */
export async function startBroker(opts: BrokerOptions & { memory?: boolean; ws?: boolean; dataDir?: string } = {}): Promise<TestBroker> {
  const ownsDir = opts.dataDir === undefined && opts.memory !== true
  const dataDir = opts.memory === true ? null : opts.dataDir ?? await mkdtemp(join(tmpdir(), 'halyard-test-'))
  const level = process.env.HALYARD_TEST_LOG ?? 'silent'
  const broker = await createBroker({
    logger: pino({ level }),
    ...opts,
    config: { host: '127.0.0.1', port: 0, wsPort: opts.ws === true ? -1 : 0, dataDir, ...opts.config },
  })
  await broker.listen()
  const addr = broker.addresses()
  const port = addr.tcp?.port ?? 0
  return {
    broker,
    port,
    wsPort: addr.ws?.port ?? 0,
    dataDir,
    url: `mqtt://127.0.0.1:${port}`,
    async close() {
      await broker.close()
      if (ownsDir && dataDir !== null) await rm(dataDir, { recursive: true, force: true })
    },
  }
}
