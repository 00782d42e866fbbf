import type { IClientOptions } from 'mqtt'
import type { Test } from 'tap'
import { startBroker, type TestBroker } from './broker.js'
import { closeClient, open, type Opened, type Version } from './client.js'

export type Transport = 'tcp' | 'ws'
export type StartOptions = Parameters<typeof startBroker>[0]

/** The table every integration feature file runs over (MQTT.js's abstract_client pattern). */
export const TRANSPORT_TABLE: ReadonlyArray<{ transport: Transport; protocolVersion: Version }> = [
  { transport: 'tcp', protocolVersion: 4 },
  { transport: 'tcp', protocolVersion: 5 },
  { transport: 'ws', protocolVersion: 4 },
  { transport: 'ws', protocolVersion: 5 },
]

/** One broker reached over one transport at one protocol version. */
export interface Target {
  broker: TestBroker
  /** `mqtt://127.0.0.1:PORT` or `ws://127.0.0.1:WSPORT/mqtt`. */
  url: string
  /**
   * A client of this case's version on this case's transport, with its CONNACK and a message
   * collector; ended at `t`'s teardown.
   */
  connect(t: Test, opts?: IClientOptions): Promise<Opened>
}

export interface TransportCase extends Target {
  transport: Transport
  protocolVersion: Version
  /** `tcp-v4` etc.: mix into client ids and topics so cases never share state. */
  tag: string
  /** Another broker (its own config or hooks) owned by `t`, reached the same way. */
  startBroker(t: Test, opts?: StartOptions): Promise<Target>
}

export function urlFor(b: TestBroker, transport: Transport): string {
  return transport === 'tcp' ? `mqtt://127.0.0.1:${b.port}` : `ws://127.0.0.1:${b.wsPort}/mqtt`
}

function target(broker: TestBroker, transport: Transport, protocolVersion: Version): Target {
  const url = urlFor(broker, transport)
  return {
    broker,
    url,
    async connect(t, opts = {}) {
      const opened = await open(url, { protocolVersion, ...opts })
      t.teardown(() => closeClient(opened.client))
      return opened
    },
  }
}

async function start(t: Test, transport: Transport, protocolVersion: Version, opts: StartOptions = {}): Promise<Target> {
  const broker = await startBroker({ ...opts, ws: true })
  t.teardown(() => broker.close())
  return target(broker, transport, protocolVersion)
}

/**
 * Runs `fn` once per row of `TRANSPORT_TABLE`, each in its own subtest that owns a broker
 * (started with `opts.broker`, always with a WebSocket listener). `fn` declares the feature's
 * tests with `t.test`; tests that need another configuration start their own broker with
 * `tc.startBroker(t, …)`.
 */
export function forEachTransport(
  t: Test,
  fn: (t: Test, tc: TransportCase) => void,
  opts: { broker?: StartOptions } = {},
): void {
  for (const { transport, protocolVersion } of TRANSPORT_TABLE) {
    const tag = `${transport}-v${protocolVersion}`
    t.test(`${transport} v${protocolVersion}`, async (t) => {
      const main = await start(t, transport, protocolVersion, opts.broker)
      fn(t, {
        ...main,
        transport,
        protocolVersion,
        tag,
        startBroker: (t, o) => start(t, transport, protocolVersion, o),
      })
    })
  }
}
