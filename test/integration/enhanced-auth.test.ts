import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { hashPassword, scramAuthenticator, scramCredentials } from '../../src/auth/index.js'
import { startBroker } from '../helpers/broker.js'
import { PacketClient } from '../helpers/packet-client.js'
import { ScramClient } from '../helpers/scram-client.js'

/*
 * MQTT 5.0 enhanced authentication with SCRAM-SHA-256, driven packet by packet
 * (CONNECT → AUTH 0x18 → AUTH 0x18 → CONNACK, then AUTH 0x19 re-authentication).
 */
const users = new Map([['alice', scramCredentials('sha256', 'wonderland')]])

t.test('SCRAM-SHA-256', async (t) => {
  const b = await startBroker({ memory: true, authMethods: [scramAuthenticator('sha256', (u) => users.get(u))] })
  t.teardown(() => b.close())

  async function exchange(password: string, user = 'alice') {
    const c = await PacketClient.open(t, b.url, 5)
    const scram = new ScramClient('sha256', user, password)
    c.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: `scram-${user}-${password}`, clean: true, keepalive: 60,
      properties: { authenticationMethod: 'SCRAM-SHA-256', authenticationData: scram.first() } })
    const challenge = await c.next('auth')
    t.equal(challenge.reasonCode, 0x18, 'the server continues the exchange with AUTH 0x18 [MQTT-4.12.0-2]')
    t.equal(challenge.properties?.authenticationMethod, 'SCRAM-SHA-256')
    c.send({ cmd: 'auth', reasonCode: 0x18, properties: { authenticationMethod: 'SCRAM-SHA-256', authenticationData: scram.final(challenge.properties?.authenticationData ?? Buffer.alloc(0)) } })
    return { c, scram, connack: await c.next('connack') }
  }

  t.test('the right password connects, and the server proves itself in CONNACK [MQTT-4.12.0-6]', async (t) => {
    const { c, scram, connack } = await exchange('wonderland')
    t.equal(connack.reasonCode, 0)
    t.equal(connack.properties?.authenticationMethod, 'SCRAM-SHA-256')
    t.ok(scram.verify(connack.properties?.authenticationData), 'server-final signature verifies')

    // Re-authentication with the same method while connected [MQTT-4.12.1-1].
    const again = new ScramClient('sha256', 'alice', 'wonderland')
    c.send({ cmd: 'auth', reasonCode: 0x19, properties: { authenticationMethod: 'SCRAM-SHA-256', authenticationData: again.first() } })
    const challenge = await c.next('auth')
    t.equal(challenge.reasonCode, 0x18)
    c.send({ cmd: 'auth', reasonCode: 0x18, properties: { authenticationMethod: 'SCRAM-SHA-256', authenticationData: again.final(challenge.properties?.authenticationData ?? Buffer.alloc(0)) } })
    const done = await c.next('auth')
    t.equal(done.reasonCode, 0, 're-authentication succeeds with AUTH 0x00')
    t.ok(again.verify(done.properties?.authenticationData))
  })

  t.test('a wrong password gets CONNACK 0x86 and a close', async (t) => {
    const { c, connack } = await exchange('rabbit-hole')
    t.equal(connack.reasonCode, 0x86)
    await t.rejects(c.nextAny(2000), /closed/)
  })

  t.test('an unknown user fails the same way, after a normal-looking challenge', async (t) => {
    const { connack } = await exchange('x', 'mallory')
    t.equal(connack.reasonCode, 0x86)
  })

  t.test('an unknown method gets CONNACK 0x8C [MQTT-4.12.0-1]', async (t) => {
    const c = await PacketClient.open(t, b.url, 5)
    c.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: 'kerb', clean: true, keepalive: 60,
      properties: { authenticationMethod: 'GS2-KRB5' } })
    t.equal((await c.next('connack')).reasonCode, 0x8c)
  })

  t.test('AUTH without a negotiated method is a protocol error (DISCONNECT 0x82)', async (t) => {
    const c = await PacketClient.open(t, b.url, 5)
    await c.connect({ clientId: 'plain', clean: true })
    c.send({ cmd: 'auth', reasonCode: 0x19, properties: { authenticationMethod: 'SCRAM-SHA-256' } })
    t.equal((await c.next('disconnect')).reasonCode, 0x82)
  })
})

t.test('SCRAM-SHA-512 works against a Mosquitto-format password file ($7$ entries) as it is', async (t) => {
  const dir = t.testdir({})
  const file = join(dir, 'passwd')
  await writeFile(file, `carol:${await hashPassword('s3cret')}\n`)
  const b = await startBroker({ memory: true, config: { passwordFile: file } })
  t.teardown(() => b.close())
  for (const [password, code] of [['s3cret', 0], ['wrong', 0x86]] as const) {
    const c = await PacketClient.open(t, b.url, 5)
    const scram = new ScramClient('sha512', 'carol', password)
    c.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: `carol-${password}`, clean: true, keepalive: 60,
      properties: { authenticationMethod: 'SCRAM-SHA-512', authenticationData: scram.first() } })
    const challenge = await c.next('auth')
    c.send({ cmd: 'auth', reasonCode: 0x18, properties: { authenticationMethod: 'SCRAM-SHA-512', authenticationData: scram.final(challenge.properties?.authenticationData ?? Buffer.alloc(0)) } })
    const connack = await c.next('connack')
    t.equal(connack.reasonCode, code, `password ${password}`)
    if (code === 0) t.ok(scram.verify(connack.properties?.authenticationData), 'server proves it holds the hash')
  }
})
