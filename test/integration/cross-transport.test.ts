import t from 'tap'
import { closeClient, open, versions, waitFor } from '../helpers/client.js'
import { startBroker } from '../helpers/broker.js'
import { urlFor } from '../helpers/transports.js'

/*
 * TCP and WebSocket clients share one broker: a browser sees exactly what a TCP client sees, and
 * a session does not belong to the transport it was made on.
 */
const b = await startBroker({ ws: true, memory: true })
t.teardown(() => b.close())
const tcp = urlFor(b, 'tcp')
const ws = urlFor(b, 'ws')

for (const protocolVersion of versions) {
  t.test(`v${protocolVersion}: a message published over TCP reaches TCP and WebSocket subscribers alike, and back`, async (t) => {
    const onTcp = await open(tcp, { protocolVersion, clientId: `x-tcp-${protocolVersion}` })
    const onWs = await open(ws, { protocolVersion, clientId: `x-ws-${protocolVersion}` })
    t.teardown(async () => { await closeClient(onTcp.client); await closeClient(onWs.client) })
    const topic = `x/${protocolVersion}/+`
    await onTcp.client.subscribeAsync(topic, { qos: 2 })
    await onWs.client.subscribeAsync(topic, { qos: 2 })
    await onTcp.client.publishAsync(`x/${protocolVersion}/from-tcp`, 'tcp says', { qos: 1, retain: true })
    await onWs.client.publishAsync(`x/${protocolVersion}/from-ws`, 'ws says', { qos: 2 })
    const seen = (msgs: Array<{ topic: string; payload: string; qos: number }>): string[] =>
      msgs.map((m) => `${m.topic}=${m.payload}@${m.qos}`).sort()
    const expected = [`x/${protocolVersion}/from-tcp=tcp says@1`, `x/${protocolVersion}/from-ws=ws says@2`]
    t.same(seen(await onTcp.got.next(2)), expected, 'the TCP subscriber')
    t.same(seen(await onWs.got.next(2)), expected, 'the WebSocket subscriber')
  })

  t.test(`v${protocolVersion}: a WebSocket client takes over a TCP client's session, and a TCP client takes it back [MQTT-3.1.4-3]`, async (t) => {
    const clientId = `x-takeover-${protocolVersion}`
    const persistent = protocolVersion === 5
      ? { clean: false, properties: { sessionExpiryInterval: 60 } }
      : { clean: false }
    const first = await open(tcp, { protocolVersion, clientId, ...persistent })
    await first.client.subscribeAsync(`x/takeover/${protocolVersion}`, { qos: 1 })
    const firstClosed = waitFor(first.client, 'close')
    const second = await open(ws, { protocolVersion, clientId, ...persistent })
    await firstClosed
    t.equal(second.connack.sessionPresent, true, 'the WebSocket connection resumes the TCP session')
    const feeder = await open(tcp, { protocolVersion, clientId: `x-feeder-${protocolVersion}` })
    t.teardown(async () => { await closeClient(feeder.client) })
    await feeder.client.publishAsync(`x/takeover/${protocolVersion}`, 'to the session', { qos: 1 })
    t.equal((await second.got.next(1))[0]?.payload, 'to the session', 'its subscription came along')

    const secondClosed = waitFor(second.client, 'close')
    const third = await open(tcp, { protocolVersion, clientId, clean: true })
    t.teardown(async () => { await closeClient(third.client) })
    await secondClosed
    t.equal(third.connack.sessionPresent, false, 'a clean TCP connection takes over the WebSocket one and starts afresh')
    first.client.end(true)
  })
}
