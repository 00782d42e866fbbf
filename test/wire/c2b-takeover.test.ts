import t from 'tap'
import { assertHealthy, connected, expectClose, expectDisconnect, hex, pingreqPacket, wireBroker } from '../helpers/raw.js'

/*
 * c2b: a second connection with a client id that is already connected takes the session over.
 * The existing connection is closed [MQTT-3.1.4-2] (5.0: [MQTT-3.1.4-3], with DISCONNECT 0x8E
 * Session taken over first); the new one is accepted.
 */

const { b, healthy } = await wireBroker(t)

for (const version of [4, 5] as const) {
  const tag = version === 5 ? 'MQTT-3.1.4-3' : 'MQTT-3.1.4-2'
  t.test(`c2b: v${version} a second CONNECT with the same client id closes the first connection [${tag}]`, async (t) => {
    const clientId = `takeover-${version}`
    const first = await connected(t, b.port, { version, clientId })
    const second = await connected(t, b.port, { version, clientId })
    if (version === 5) await expectDisconnect(t, first.raw, 0x8e)
    else await expectClose(t, first.raw)
    second.raw.send(pingreqPacket())
    t.equal(hex(await second.raw.readPacket()), 'd0 00', 'the new connection is up')
    t.notOk(second.raw.isClosed, 'and stays up')
  })
}

t.test('the healthy client still publishes and subscribes', (t) => assertHealthy(t, healthy, 'health/takeover'))
