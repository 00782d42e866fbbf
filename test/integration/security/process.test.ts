import { execFile, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import t from 'tap'
import { closeClient, open, until } from '../../helpers/client.js'
import { spawnBroker } from '../../helpers/process.js'

/*
 * What only the real `halyard` process shows: SIGHUP reloads the password file without
 * dropping anyone, and a broker that would be open to the network refuses to start.
 */

const run = promisify(execFile)
const cli = fileURLToPath(new URL('../../../dist/cli.js', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'halyard-sec-proc-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))

t.test('SIGHUP reloads the password file; connected clients stay connected', async (t) => {
  const passwd = join(dir, 'passwd')
  await run(process.execPath, [cli, 'passwd', '-c', '-b', passwd, 'alice', 'a1'])
  const broker = await spawnBroker(['--memory', '--password-file', passwd])
  t.teardown(async () => {
    broker.child.kill('SIGKILL')
    await broker.exited
  })
  const url = `mqtt://127.0.0.1:${broker.port}`
  const alice = await open(url, { protocolVersion: 5, username: 'alice', password: 'a1' })
  t.teardown(() => closeClient(alice.client))
  await t.rejects(open(url, { protocolVersion: 5, username: 'bob', password: 'b1' }), { code: 0x86 })

  await run(process.execPath, [cli, 'passwd', '-b', passwd, 'bob', 'b1'])
  broker.child.kill('SIGHUP')
  await until(() => broker.logs.some((line) => line.includes('security files reloaded')), 5000, 'the reload to be logged')
  const bob = await open(url, { protocolVersion: 5, username: 'bob', password: 'b1' })
  t.teardown(() => closeClient(bob.client))
  t.ok(alice.client.connected, 'alice was not dropped by the reload')
  await alice.client.subscribeAsync('hup/x', { qos: 1 })
  await bob.client.publishAsync('hup/x', 'after reload', { qos: 1 })
  const [message] = await alice.got.next(1)
  t.equal(message?.payload, 'after reload')
})

t.test('beyond loopback with no authentication and allowAnonymous not set, halyard refuses to start and says why', async (t) => {
  // It never listens: the check runs before any socket is opened.
  const child = spawn(process.execPath, [cli, '--host', '0.0.0.0', '--port', '0', '--memory', '--log-level', 'silent'], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  t.equal(code, 1)
  t.match(stderr, /^halyard: config: host 0\.0\.0\.0 accepts connections from other machines, but there is no passwordFile/)
  t.match(stderr, /halyard passwd -c FILE USER/)
  t.match(stderr, /--allow-anonymous true/)
})
