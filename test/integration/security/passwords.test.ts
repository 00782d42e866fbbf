import { execFile, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync, appendFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import t, { type Test } from 'tap'
import { hashPassword } from '../../../src/auth/index.js'
import type { BrokerHooks } from '../../../src/index.js'
import { startBroker, type TestBroker } from '../../helpers/broker.js'
import { connackCode, until, type Version } from '../../helpers/client.js'
import { requireProgram } from '../../helpers/programs.js'

/*
 * Users from a Mosquitto password file: a file made by Debian's mosquitto_passwd logs in to
 * Halyard, a file made by `halyard passwd` logs in to Halyard and to a real Mosquitto, wrong
 * passwords get CONNACK 0x86 (3.1.1: return code 4), and SIGHUP-style reloads keep the
 * previous users when the new file is broken.
 */

const run = promisify(execFile)
const cli = fileURLToPath(new URL('../../../dist/cli.js', import.meta.url))
const mosquittoPasswd = requireProgram('mosquitto_passwd', 'mosquitto')

const dir = mkdtempSync(join(tmpdir(), 'halyard-passwd-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))

type Transport = 'tcp' | 'ws'
const BAD_CREDENTIALS = { 4: 4, 5: 0x86 } as const
const NOT_AUTHORIZED = { 4: 5, 5: 0x87 } as const

async function passwordBroker(t: Test, passwordFile: string, extra: Parameters<typeof startBroker>[0] = {}): Promise<TestBroker> {
  const broker = await startBroker({ memory: true, ws: true, ...extra, config: { passwordFile, ...extra.config } })
  t.teardown(() => broker.close())
  return broker
}

const urlFor = (b: TestBroker, transport: Transport): string =>
  transport === 'tcp' ? `mqtt://127.0.0.1:${b.port}` : `ws://127.0.0.1:${b.wsPort}/mqtt`


// Needs no mosquitto_passwd: the file is written with the broker's own hashing.
for (const protocolVersion of [4, 5] as Version[]) {
  t.test(`v${protocolVersion}: allowAnonymous { ws: true } beside a password file lets anonymous clients in on ws only`, async (t) => {
    const file = join(dir, `per-listener-v${protocolVersion}.passwd`)
    writeFileSync(file, `alice:${await hashPassword('wonderland')}\n`)
    const broker = await passwordBroker(t, file, { config: { allowAnonymous: { ws: true } } })
    const as = (transport: Transport, username?: string, password?: string): Promise<number> =>
      connackCode(urlFor(broker, transport), { protocolVersion, ...(username === undefined ? {} : { username, password }) })
    t.equal(await as('ws'), 0, 'anonymous over WebSocket: let in, the ws listener allows it')
    t.equal(await as('tcp'), NOT_AUTHORIZED[protocolVersion], 'anonymous over TCP: refused, not set for tcp and a password file is set')
    t.equal(await as('tcp', 'alice', 'wonderland'), 0, 'a user with the right password still gets in over TCP')
    t.equal(await as('ws', 'alice', 'wonderlan'), BAD_CREDENTIALS[protocolVersion], 'a wrong password is refused on the anonymous listener too')
  })
}

if ('skip' in mosquittoPasswd) {
  t.plan(0, mosquittoPasswd.skip)
} else {
  const file = join(dir, 'mosquitto.passwd')
  await run(mosquittoPasswd.path, ['-c', '-b', file, 'alice', 'wonderland'])
  await run(mosquittoPasswd.path, ['-b', file, 'bob', 'builder'])
  // Mosquitto 1.x's salted SHA-512 ($6$), as users upgrading from it still have.
  await run(mosquittoPasswd.path, ['-H', 'sha512', '-b', file, 'carol', 'c4r0l'])

  for (const transport of ['tcp', 'ws'] as const) {
    for (const protocolVersion of [4, 5] as Version[]) {
      t.test(`${transport} v${protocolVersion}: users from a mosquitto_passwd file`, async (t) => {
        const broker = await passwordBroker(t, file)
        const url = urlFor(broker, transport)
        const as = (username: string | undefined, password: string | undefined): Promise<number> =>
          connackCode(url, { protocolVersion, ...(username === undefined ? {} : { username }), ...(password === undefined ? {} : { password }) })
        t.equal(await as('alice', 'wonderland'), 0, '$7$ (PBKDF2-SHA512) user with the right password')
        t.equal(await as('carol', 'c4r0l'), 0, '$6$ (salted SHA-512) user with the right password')
        t.equal(await as('alice', 'wonderlan'), BAD_CREDENTIALS[protocolVersion], 'wrong password')
        t.equal(await as('alice', undefined), BAD_CREDENTIALS[protocolVersion], 'no password')
        t.equal(await as('bob', 'wonderland'), BAD_CREDENTIALS[protocolVersion], 'another user\'s password')
        t.equal(await as('nobody', 'x'), BAD_CREDENTIALS[protocolVersion], 'unknown user')
        t.equal(await as(undefined, undefined), NOT_AUTHORIZED[protocolVersion],
          'anonymous: refused, since a password file is set and allowAnonymous is not')
      })
    }
  }

  t.test('allowAnonymous: true lets anonymous clients in beside the password file, and still checks named ones', async (t) => {
    const broker = await passwordBroker(t, file, { config: { allowAnonymous: true } })
    t.equal(await connackCode(broker.url, { protocolVersion: 5 }), 0)
    t.equal(await connackCode(broker.url, { protocolVersion: 5, username: 'alice', password: 'nope' }), 0x86)
  })

  t.test('with an authenticate hook, the file decides for its users and the hook for everyone else', async (t) => {
    const asked: Array<string | undefined> = []
    const hooks: BrokerHooks = {
      authenticate: async ({ username, password }) => {
        asked.push(username)
        return username !== 'alice' && password?.toString() === 'token'
      },
    }
    const broker = await passwordBroker(t, file, { hooks })
    const as = (username: string | undefined, password: string): Promise<number> =>
      connackCode(broker.url, { protocolVersion: 5, ...(username === undefined ? {} : { username }), password })
    t.equal(await as('alice', 'wonderland'), 0, 'file user, right password')
    t.equal(await as('alice', 'token'), 0x86, 'file user, wrong password: the hook is not asked')
    t.equal(await as('dave', 'token'), 0, 'a user not in the file: the hook decides')
    t.equal(await as('dave', 'nope'), 0x86)
    t.same(asked, ['dave', 'dave'], 'the hook saw only the user the file does not know')
  })

  t.test('a password file written by `halyard passwd` logs in to Halyard', async (t) => {
    const ours = join(dir, 'halyard.passwd')
    await run(process.execPath, [cli, 'passwd', '-c', '-b', ours, 'erin', 's3cret'])
    const broker = await passwordBroker(t, ours)
    t.equal(await connackCode(broker.url, { protocolVersion: 4, username: 'erin', password: 's3cret' }), 0)
    t.equal(await connackCode(broker.url, { protocolVersion: 4, username: 'erin', password: 'secret' }), 4)
  })

  const mosquitto = existsSync('/usr/sbin/mosquitto') ? { path: '/usr/sbin/mosquitto' } : requireProgram('mosquitto', 'mosquitto')
  t.test('a password file written by `halyard passwd` logs in to a real Mosquitto', { skip: 'skip' in mosquitto ? mosquitto.skip : false }, async (t) => {
    if ('skip' in mosquitto) return
    const ours = join(dir, 'for-mosquitto.passwd')
    await run(process.execPath, [cli, 'passwd', '-c', '-b', ours, 'frank', 'fr4nk'])
    const port = await freePort()
    const conf = join(dir, 'mosquitto.conf')
    // `user root`: started as root, Mosquitto would otherwise switch to its own user, which
    // cannot read a file in this test's private temp dir (ignored when not root).
    writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous false\npassword_file ${ours}\npersistence false\nuser root\n`)
    const child = spawn(mosquitto.path, ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (d: Buffer) => { output += d.toString() })
    child.stderr.on('data', (d: Buffer) => { output += d.toString() })
    t.teardown(() => { child.kill() })
    const url = `mqtt://127.0.0.1:${port}`
    await until(async () => (await connackCode(url, { protocolVersion: 4, username: 'frank', password: 'fr4nk', connectTimeout: 500 }).catch(() => -1)) === 0,
      5000, 'mosquitto to accept frank').catch((err: Error) => { throw new Error(`${err.message}; mosquitto said: ${output}`) })
    t.equal(await connackCode(url, { protocolVersion: 4, username: 'frank', password: 'wrong' }), 5, 'mosquitto refuses a wrong password')
  })

  t.test('reload picks up new users; a broken file keeps the users in force', async (t) => {
    const live = join(dir, 'live.passwd')
    await run(mosquittoPasswd.path, ['-c', '-b', live, 'gina', 'g1na'])
    const broker = await passwordBroker(t, live)
    const as = (username: string, password: string): Promise<number> => connackCode(broker.url, { protocolVersion: 5, username, password })
    t.equal(await as('hank', 'h4nk'), 0x86, 'not in the file yet')
    await run(mosquittoPasswd.path, ['-b', live, 'hank', 'h4nk'])
    t.same((await broker.broker.reload()).failed, [])
    t.equal(await as('hank', 'h4nk'), 0, 'added and reloaded')

    appendFileSync(live, 'ivan:plaintext\n')
    const result = await broker.broker.reload()
    t.equal(result.failed.length, 1)
    t.match(result.failed[0]?.error.message, /line 3: user "ivan": not a \$6\$ or \$7\$ hash/)
    t.equal(await as('hank', 'h4nk'), 0, 'the previous users still apply')
    t.equal(await as('ivan', 'plaintext'), 0x86, 'the broken line never became a user')
  })

  t.test('a malformed password file stops the broker from starting, naming the line', async (t) => {
    const bad = join(dir, 'bad.passwd')
    writeFileSync(bad, '# users\nalice:$7$101$AAAA$AAAA\n\nbob:\n')
    await t.rejects(startBroker({ memory: true, config: { passwordFile: bad } }),
      { code: 'AUTH_PASSWORD_FILE_INVALID', line: 2, message: /line 2: user "alice": hash is 3 bytes/ })
    writeFileSync(bad, 'bob:\n')
    await t.rejects(startBroker({ memory: true, config: { passwordFile: bad } }),
      { code: 'AUTH_PASSWORD_FILE_INVALID', line: 1, message: /user "bob" has no password hash/ })
    await t.rejects(startBroker({ memory: true, config: { passwordFile: join(dir, 'missing') } }),
      { code: 'AUTH_FILE_UNREADABLE', message: /no such file/ })
  })
}

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  if (address === null || typeof address === 'string') throw new Error('no port')
  return address.port
}
