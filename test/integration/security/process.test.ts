import { execFile, spawn } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import type { TLSSocket } from 'node:tls'
import t from 'tap'
import { makeCerts } from '../../helpers/certs.js'
import { closeClient, open, until, type Opened } from '../../helpers/client.js'
import { spawnBroker } from '../../helpers/process.js'

/*
 * What only the real `halyard` process shows: SIGHUP reloads the password file, the ACL file and
 * the TLS certificate without dropping anyone, a SIGHUP with broken files keeps what is in force,
 * and a broker that would be open to the network refuses to start.
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
  t.match(stderr, /^halyard: config: host 0\.0\.0\.0 accepts connections from other machines on the tcp listener, but there is no passwordFile/)
  t.match(stderr, /halyard passwd -c FILE USER/)
  t.match(stderr, /--allow-anonymous true/)
})

t.test('beyond loopback, allowAnonymous set for tcp only: halyard refuses to start, naming the ws listener and how to fix it', async (t) => {
  // The check runs before any socket is opened; a free port keeps even a failing run off busy ones.
  const args = ['--host', '0.0.0.0', '--port', '0', '--ws-port', String(await freePort()), '--allow-anonymous', 'tcp=true', '--memory', '--log-level', 'silent']
  const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(() => { child.kill('SIGKILL') })
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  t.equal(code, 1)
  t.match(stderr, /^halyard: config: host 0\.0\.0\.0 accepts connections from other machines on the ws listener, /)
  t.match(stderr, /allowAnonymous is not set for it/)
  t.match(stderr, /--allow-anonymous ws=true for the ws listener only/)
  t.notMatch(stderr, /tcp listener/, 'tcp, set explicitly, is not what stops it')
})

/** A port that was free a moment ago (the command line cannot ask for "any free TLS port"). */
async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise((resolve) => server.close(resolve))
  if (address === null || typeof address === 'string') throw new Error('no address')
  return address.port
}

t.test('SIGHUP reloads the ACL file and the TLS certificate, keeping the TLS client connected; broken files keep the rules and certificate in force', async (t) => {
  const made = makeCerts(mkdtempSync(join(dir, 'certs-')))
  if ('skip' in made) {
    t.comment(made.skip)
    return
  }
  const passwd = join(dir, 'passwd-tls')
  const acl = join(dir, 'acl-tls')
  const certfile = join(dir, 'live-cert.pem')
  const keyfile = join(dir, 'live-key.pem')
  await run(process.execPath, [cli, 'passwd', '-c', '-b', passwd, 'alice', 'a1'])
  writeFileSync(acl, 'user alice\ntopic readwrite alice/#\n')
  copyFileSync(made.serverCertFile, certfile)
  copyFileSync(made.serverKeyFile, keyfile)
  const tlsPort = await freePort()
  const broker = await spawnBroker(['--memory', '--password-file', passwd, '--acl-file', acl,
    '--tls-port', String(tlsPort), '--certfile', certfile, '--keyfile', keyfile])
  t.teardown(async () => {
    broker.child.kill('SIGKILL')
    await broker.exited
  })
  const url = `mqtts://127.0.0.1:${tlsPort}`
  const opts = { protocolVersion: 5 as const, ca: made.ca, username: 'alice', password: 'a1', reconnectPeriod: 0 }
  const peer = (o: Opened): string => (o.client.stream as TLSSocket).getPeerCertificate().fingerprint256
  const fingerprint = (file: string): string => new X509Certificate(readFileSync(file)).fingerprint256
  const count = (text: string): number => broker.logs.filter((line) => line.includes(text)).length
  const hangup = async (expected: string, times: number): Promise<void> => {
    broker.child.kill('SIGHUP')
    await until(() => count(expected) >= times, 5000, `"${expected}" to be logged ${times} time(s)`)
  }

  const alice = await open(url, { ...opts, clientId: 'alice-tls' })
  t.teardown(() => closeClient(alice.client))
  t.equal(peer(alice), fingerprint(made.serverCertFile))
  await alice.client.subscribeAsync('alice/#', { qos: 1 })
  await t.rejects(alice.client.publishAsync('bob/x', 'x', { qos: 1 }), { code: 0x87 }, 'bob/ is not in the first ACL')

  writeFileSync(acl, 'user alice\ntopic readwrite alice/#\ntopic readwrite bob/#\n')
  copyFileSync(join(made.dir, 'server2.pem'), certfile)
  copyFileSync(join(made.dir, 'server2-key.pem'), keyfile)
  await hangup('TLS certificate reloaded', 1)
  t.equal(count('security files reloaded'), 1, 'the password and ACL files were reloaded')
  t.ok(alice.client.connected, 'the TLS client connected before SIGHUP is still connected')
  await alice.client.publishAsync('bob/x', 'x', { qos: 1 })
  t.pass('the new ACL applies to the connected client: bob/ is now writable')
  const second = await open(url, { ...opts, clientId: 'alice-tls-2' })
  t.teardown(() => closeClient(second.client))
  t.equal(peer(second), fingerprint(join(made.dir, 'server2.pem')), 'a new handshake gets the new certificate')

  writeFileSync(acl, 'user alice\nusr broken\n')
  writeFileSync(certfile, 'not a certificate')
  await hangup('TLS reload failed: keeping the previous certificate', 1)
  t.equal(count('reload failed: keeping the previous rules'), 1, 'the broken ACL file is logged')
  t.match(broker.logs.join('\n'), /line 2: unknown keyword \\"usr\\"/, 'naming its line')
  t.ok(alice.client.connected, 'still connected')
  await alice.client.publishAsync('bob/y', 'y', { qos: 1 })
  await alice.client.publishAsync('alice/z', 'z', { qos: 1 })
  const [message] = await alice.got.next(1)
  t.equal(message?.topic, 'alice/z', 'the rules in force stay: not "deny all"')
  await t.rejects(alice.client.publishAsync('carol/x', 'x', { qos: 1 }), { code: 0x87 }, 'and not "no rules" either')
  const third = await open(url, { ...opts, clientId: 'alice-tls-3' })
  t.teardown(() => closeClient(third.client))
  t.equal(peer(third), fingerprint(join(made.dir, 'server2.pem')), 'and the certificate in force stays')
  t.equal(broker.child.exitCode, null, 'the broker is still running')
})
