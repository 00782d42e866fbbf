import { execFile } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import t, { type Test } from 'tap'
import { hashPassword, hashScramSha256 } from '../../../src/auth/index.js'
import { startBroker, type TestBroker } from '../../helpers/broker.js'
import { connackCode, type Version } from '../../helpers/client.js'
import { PacketClient } from '../../helpers/packet-client.js'
import { ScramClient } from '../../helpers/scram-client.js'

/*
 * SCRAM-SHA-256 verifiers in the password file (PostgreSQL's `SCRAM-SHA-256$i:salt$StoredKey:
 * ServerKey`): plain CONNECT passwords (MQTT.js, 3.1.1 and 5.0, TCP and WebSocket), MQTT 5.0
 * enhanced authentication SCRAM-SHA-256 (section 4.12), and each SCRAM method refusing the
 * other kind of entry exactly as it refuses an unknown user.
 */

const run = promisify(execFile)
const cli = fileURLToPath(new URL('../../../dist/cli.js', import.meta.url))
const BAD_CREDENTIALS = { 4: 4, 5: 0x86 } as const

/** dora has a SCRAM-SHA-256 verifier, carol a `$7$` (PBKDF2-SHA512) entry. */
async function broker(t: Test): Promise<TestBroker> {
  const file = join(t.testdir({}), 'passwd')
  await writeFile(file, `dora:${await hashScramSha256('explorer')}\ncarol:${await hashPassword('s3cret')}\n`, { mode: 0o600 })
  const b = await startBroker({ memory: true, ws: true, config: { passwordFile: file } })
  t.teardown(() => b.close())
  return b
}


interface Exchange { c: PacketClient; scram: ScramClient; serverFirst: string; reasonCode: number | undefined; serverFinal: Buffer | undefined }

/** One SCRAM exchange over CONNECT → AUTH 0x18 → AUTH 0x18 → CONNACK. */
async function scramLogin(t: Test, b: TestBroker, hash: 'sha256' | 'sha512', user: string, password: string): Promise<Exchange> {
  const method = hash === 'sha256' ? 'SCRAM-SHA-256' : 'SCRAM-SHA-512'
  const c = await PacketClient.open(t, b.url, 5)
  const scram = new ScramClient(hash, user, password)
  c.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: `${user}-${hash}-${password}`, clean: true, keepalive: 60,
    properties: { authenticationMethod: method, authenticationData: scram.first() } })
  const challenge = await c.next('auth')
  t.equal(challenge.reasonCode, 0x18, `${method} for ${user}: the server continues with AUTH 0x18 [MQTT-4.12.0-2]`)
  const serverFirst = challenge.properties?.authenticationData ?? Buffer.alloc(0)
  c.send({ cmd: 'auth', reasonCode: 0x18, properties: { authenticationMethod: method, authenticationData: scram.final(serverFirst) } })
  const connack = await c.next('connack')
  return { c, scram, serverFirst: serverFirst.toString(), reasonCode: connack.reasonCode, serverFinal: connack.properties?.authenticationData }
}

/** The salt length and iteration count a server-first message shows. */
function shape(serverFirst: string): { saltBytes: number; iterations: string | undefined } {
  const attrs = new Map(serverFirst.split(',').map((p) => [p.slice(0, 1), p.slice(2)] as const))
  return { saltBytes: Buffer.from(attrs.get('s') ?? '', 'base64').length, iterations: attrs.get('i') }
}

for (const transport of ['tcp', 'ws'] as const) {
  for (const protocolVersion of [4, 5] as Version[]) {
    t.test(`${transport} v${protocolVersion}: a SCRAM-SHA-256 user logs in with a plain CONNECT password, and only with the right one`, async (t) => {
      const b = await broker(t)
      const url = transport === 'tcp' ? b.url : `ws://127.0.0.1:${b.wsPort}/mqtt`
      const as = (username: string, password: string): Promise<number> => connackCode(url, { protocolVersion, username, password })
      t.equal(await as('dora', 'explorer'), 0, 'right password')
      t.equal(await as('dora', 'explore'), BAD_CREDENTIALS[protocolVersion], 'wrong password: Bad User Name or Password')
      t.equal(await connackCode(url, { protocolVersion, username: 'dora' }), BAD_CREDENTIALS[protocolVersion], 'no password')
      t.equal(await as('carol', 's3cret'), 0, 'the $7$ user beside it still logs in')
    })
  }
}

t.test('SCRAM-SHA-256 enhanced authentication against the password file [MQTT-4.12.0-6]', async (t) => {
  const b = await broker(t)
  const ok = await scramLogin(t, b, 'sha256', 'dora', 'explorer')
  t.equal(ok.reasonCode, 0, 'the right password connects')
  t.same(shape(ok.serverFirst), { saltBytes: 16, iterations: '4096' }, 'the entry\'s salt and iterations are sent')
  t.ok(ok.scram.verify(ok.serverFinal), 'the server-final signature proves the server holds the verifier')

  const wrong = await scramLogin(t, b, 'sha256', 'dora', 'explorers')
  t.equal(wrong.reasonCode, 0x86, 'a wrong password gets CONNACK 0x86, as with SCRAM-SHA-512')
  await t.rejects(wrong.c.nextAny(2000), /closed/, 'and the connection is closed')
})

t.test('each SCRAM method refuses the other kind of entry just as it refuses an unknown user', async (t) => {
  const b = await broker(t)
  // SCRAM-SHA-256: carol has only a $7$ entry, which holds no SHA-256 key.
  const carol256 = await scramLogin(t, b, 'sha256', 'carol', 's3cret')
  const nobody256 = await scramLogin(t, b, 'sha256', 'nobody', 's3cret')
  const dora256 = await scramLogin(t, b, 'sha256', 'dora', 'explorer')
  t.equal(carol256.reasonCode, 0x86, 'a $7$ user asking for SCRAM-SHA-256 fails authentication')
  t.equal(nobody256.reasonCode, 0x86)
  t.same(shape(carol256.serverFirst), shape(dora256.serverFirst), 'with a challenge shaped like a real SCRAM-SHA-256 user\'s')
  t.same(shape(nobody256.serverFirst), shape(dora256.serverFirst), 'as an unknown user gets')

  // SCRAM-SHA-512: dora has only a SCRAM-SHA-256 verifier.
  const dora512 = await scramLogin(t, b, 'sha512', 'dora', 'explorer')
  const nobody512 = await scramLogin(t, b, 'sha512', 'nobody', 'explorer')
  const carol512 = await scramLogin(t, b, 'sha512', 'carol', 's3cret')
  t.equal(dora512.reasonCode, 0x86, 'a SCRAM-SHA-256 user asking for SCRAM-SHA-512 fails authentication')
  t.equal(nobody512.reasonCode, 0x86)
  t.equal(carol512.reasonCode, 0, 'SCRAM-SHA-512 still works from the $7$ entry')
  t.ok(carol512.scram.verify(carol512.serverFinal))
  t.same(shape(dora512.serverFirst), { saltBytes: 12, iterations: '101' }, 'with a challenge shaped like a $7$ entry\'s')
  t.same(shape(nobody512.serverFirst), shape(carol512.serverFirst), 'as an unknown user gets')
})

t.test('an entry written by `halyard passwd --scram-sha-256` logs in both ways', async (t) => {
  const file = join(t.testdir({}), 'passwd')
  await run(process.execPath, [cli, 'passwd', '-c', '--scram-sha-256', '-b', file, 'erin', 'e-r-i-n'])
  const b = await startBroker({ memory: true, config: { passwordFile: file } })
  t.teardown(() => b.close())
  const ok = await scramLogin(t, b, 'sha256', 'erin', 'e-r-i-n')
  t.equal(ok.reasonCode, 0, 'SCRAM-SHA-256 enhanced authentication')
  t.ok(ok.scram.verify(ok.serverFinal))
  t.equal((await scramLogin(t, b, 'sha256', 'erin', 'erin')).reasonCode, 0x86, 'not with a wrong password')
  t.equal(await connackCode(b.url, { protocolVersion: 5, username: 'erin', password: 'e-r-i-n' }), 0, 'plain CONNECT password')
  t.equal(await connackCode(b.url, { protocolVersion: 4, username: 'erin', password: 'erin' }), 4)
})

t.test('a password file of SCRAM-SHA-256 verifiers reloads: a new user can log in with SCRAM-SHA-256', async (t) => {
  const file = join(t.testdir({}), 'passwd')
  await writeFile(file, `dora:${await hashScramSha256('explorer')}\n`)
  const b = await startBroker({ memory: true, config: { passwordFile: file } })
  t.teardown(() => b.close())
  t.equal((await scramLogin(t, b, 'sha256', 'finn', 'f1nn')).reasonCode, 0x86, 'not in the file yet')
  await writeFile(file, `dora:${await hashScramSha256('explorer')}\nfinn:${await hashScramSha256('f1nn', 5000)}\n`)
  t.same((await b.broker.reload()).failed, [])
  const finn = await scramLogin(t, b, 'sha256', 'finn', 'f1nn')
  t.equal(finn.reasonCode, 0)
  t.equal(shape(finn.serverFirst).iterations, '5000')
})
