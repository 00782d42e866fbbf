import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { X509Certificate } from 'node:crypto'
import type { TLSSocket } from 'node:tls'
import t, { type Test } from 'tap'
import type { IClientOptions } from 'mqtt'
import type { ClientInfo } from '../../../src/index.js'
import { startBroker, type TestBroker } from '../../helpers/broker.js'
import { makeCerts, type TestCerts } from '../../helpers/certs.js'
import { closeClient, open, waitFor, type Opened, type Version } from '../../helpers/client.js'

type StartOptions = NonNullable<Parameters<typeof startBroker>[0]>

/*
 * MQTT over TLS (mqtts://) and secure WebSocket (wss://), with certificates made at test time
 * by openssl: server authentication, client certificates (requireCertificate), the certificate
 * CN as username (useIdentityAsUsername), the minimum TLS version, and a certificate reload
 * that keeps connected clients connected.
 */

const dir = mkdtempSync(join(tmpdir(), 'halyard-tls-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
const made = makeCerts(dir)

type Secure = 'mqtts' | 'wss'

async function tlsBroker(t: Test, certs: TestCerts, config: StartOptions['config'] = {}, opts: StartOptions = {}): Promise<TestBroker> {
  const broker = await startBroker({
    memory: true,
    ...opts,
    config: { tlsPort: -1, wssPort: -1, certfile: certs.serverCertFile, keyfile: certs.serverKeyFile, cafile: certs.caFile, ...config },
  })
  t.teardown(() => broker.close())
  return broker
}

function urlOf(broker: TestBroker, secure: Secure): string {
  const addr = broker.broker.addresses()
  return secure === 'mqtts' ? `mqtts://127.0.0.1:${addr.tls?.port ?? 0}` : `wss://127.0.0.1:${addr.wss?.port ?? 0}/mqtt`
}

async function openSecure(t: Test, broker: TestBroker, secure: Secure, opts: IClientOptions): Promise<Opened> {
  const opened = await open(urlOf(broker, secure), opts)
  t.teardown(() => closeClient(opened.client))
  return opened
}

if ('skip' in made) {
  t.comment(made.skip)
  t.pass('skipped: no openssl to make certificates')
} else {
  const certs = made
  const fingerprint = (file: string): string => new X509Certificate(readFileSync(file)).fingerprint256

  for (const secure of ['mqtts', 'wss'] as const) {
    for (const protocolVersion of [4, 5] as Version[]) {
      t.test(`${secure} v${protocolVersion}: a client that trusts the CA connects, publishes and receives`, async (t) => {
        const broker = await tlsBroker(t, certs)
        const { client, got } = await openSecure(t, broker, secure, { protocolVersion, ca: certs.ca, clientId: `tls-${secure}-${protocolVersion}` })
        await client.subscribeAsync('tls/echo', { qos: 1 })
        await client.publishAsync('tls/echo', 'over tls', { qos: 1 })
        const [message] = await got.next(1)
        t.equal(message?.payload, 'over tls')
      })
    }

    t.test(`${secure}: a client that does not trust the server's certificate cannot connect`, async (t) => {
      const broker = await tlsBroker(t, certs)
      await t.rejects(open(urlOf(broker, secure), { protocolVersion: 5 }))
    })

    t.test(`${secure}: requireCertificate refuses clients without a certificate signed by cafile`, async (t) => {
      const broker = await tlsBroker(t, certs, { requireCertificate: true })
      await t.rejects(open(urlOf(broker, secure), { protocolVersion: 5, ca: certs.ca }), 'no certificate')
      await t.rejects(open(urlOf(broker, secure), { protocolVersion: 5, ca: certs.ca, cert: certs.strangerCert, key: certs.strangerKey }),
        'a certificate from another CA')
      const { client } = await openSecure(t, broker, secure, { protocolVersion: 5, ca: certs.ca, cert: certs.clientCert, key: certs.clientKey })
      t.ok(client.connected, 'a certificate from cafile is accepted')
    })

    t.test(`${secure}: useIdentityAsUsername makes the certificate CN the username, with no password`, async (t) => {
      const broker = await tlsBroker(t, certs, { requireCertificate: true, useIdentityAsUsername: true, allowAnonymous: false })
      const connected = waitFor<[ClientInfo]>(broker.broker, 'clientConnected')
      await openSecure(t, broker, secure, { protocolVersion: 5, ca: certs.ca, cert: certs.clientCert, key: certs.clientKey, username: 'admin' })
      const [info] = await connected
      t.equal(info.username, 'alice', 'the CN replaces whatever username the client sent')
    })
  }

  t.test('useIdentityAsUsername without requireCertificate: a TLS client without a certificate is refused 0x87 / 5', async (t) => {
    const broker = await tlsBroker(t, certs, { useIdentityAsUsername: true })
    const v5 = await open(urlOf(broker, 'mqtts'), { protocolVersion: 5, ca: certs.ca }).catch((err: { code?: number }) => err)
    t.equal((v5 as { code?: number }).code, 0x87)
    const v4 = await open(urlOf(broker, 'mqtts'), { protocolVersion: 4, ca: certs.ca }).catch((err: { code?: number }) => err)
    t.equal((v4 as { code?: number }).code, 5)
    const { client } = await openSecure(t, broker, 'mqtts', { protocolVersion: 5, ca: certs.ca, cert: certs.clientCert, key: certs.clientKey })
    t.ok(client.connected)
  })

  t.test('tlsVersion tlsv1.3 refuses a client limited to TLS 1.2', async (t) => {
    const broker = await tlsBroker(t, certs, { tlsVersion: 'tlsv1.3' })
    // MQTT.js hands unknown options on to tls.connect.
    const tls12: IClientOptions & { maxVersion: string } = { protocolVersion: 5, ca: certs.ca, maxVersion: 'TLSv1.2' }
    await t.rejects(open(urlOf(broker, 'mqtts'), tls12))
    const { client } = await openSecure(t, broker, 'mqtts', { protocolVersion: 5, ca: certs.ca })
    t.equal((client.stream as TLSSocket).getProtocol(), 'TLSv1.3')
  })

  t.test('ciphers limits the cipher suites: TLS 1.2 and TLS 1.3 suites from one OpenSSL list', async (t) => {
    const broker = await tlsBroker(t, certs, { ciphers: 'TLS_CHACHA20_POLY1305_SHA256:ECDHE-ECDSA-AES128-GCM-SHA256' })
    const cipher = (o: Opened): string => (o.client.stream as TLSSocket).getCipher().name
    // MQTT.js hands unknown options on to tls.connect.
    const tls12 = (ciphers?: string): IClientOptions & { maxVersion: string } =>
      ({ protocolVersion: 5, ca: certs.ca, maxVersion: 'TLSv1.2', reconnectPeriod: 0, ...(ciphers === undefined ? {} : { ciphers }) })
    await t.rejects(open(urlOf(broker, 'mqtts'), tls12('ECDHE-ECDSA-AES256-GCM-SHA384')), 'a TLS 1.2 client offering only a suite not on the list')
    t.equal(cipher(await openSecure(t, broker, 'mqtts', tls12())), 'ECDHE-ECDSA-AES128-GCM-SHA256', 'TLS 1.2: the listed suite')
    t.equal(cipher(await openSecure(t, broker, 'mqtts', { protocolVersion: 5, ca: certs.ca })), 'TLS_CHACHA20_POLY1305_SHA256',
      'TLS 1.3: the listed suite, not the client\'s first choice (TLS_AES_256_GCM_SHA384)')
    // Over wss://, MQTT.js hands TLS options to ws only through wsOptions.
    const wss12 = (ciphers: string): IClientOptions =>
      ({ protocolVersion: 5, ca: certs.ca, reconnectPeriod: 0, wsOptions: { maxVersion: 'TLSv1.2', ciphers } })
    await t.rejects(open(urlOf(broker, 'wss'), wss12('ECDHE-ECDSA-AES256-GCM-SHA384')), 'the WSS listener refuses it too')
    t.ok((await openSecure(t, broker, 'wss', wss12('ECDHE-ECDSA-AES128-GCM-SHA256'))).client.connected, 'and takes the listed suite')
  })

  t.test('ciphers naming no suite OpenSSL knows stops the broker from starting, naming the setting', async (t) => {
    await t.rejects(tlsBroker(t, certs, { ciphers: 'NOT-A-CIPHER' }), { code: 'CONFIG_FILE_INVALID', message: /ciphers/ })
  })

  t.test('a plain MQTT client on the TLS port gets nowhere, and the broker keeps serving', async (t) => {
    const broker = await tlsBroker(t, certs)
    const port = broker.broker.addresses().tls?.port ?? 0
    await t.rejects(open(`mqtt://127.0.0.1:${port}`, { protocolVersion: 5, connectTimeout: 1500 }))
    const { client } = await openSecure(t, broker, 'mqtts', { protocolVersion: 5, ca: certs.ca })
    t.ok(client.connected)
  })

  t.test('reload swaps the certificate for new handshakes without dropping connected clients', async (t) => {
    const live = mkdtempSync(join(tmpdir(), 'halyard-tls-live-'))
    t.teardown(() => rmSync(live, { recursive: true, force: true }))
    const certfile = join(live, 'server.pem')
    const keyfile = join(live, 'server-key.pem')
    copyFileSync(certs.serverCertFile, certfile)
    copyFileSync(certs.serverKeyFile, keyfile)
    const broker = await tlsBroker(t, certs, { certfile, keyfile })
    const first = await openSecure(t, broker, 'mqtts', { protocolVersion: 5, ca: certs.ca, clientId: 'before-reload' })
    const peer = (o: Opened): string => (o.client.stream as TLSSocket).getPeerCertificate().fingerprint256
    t.equal(peer(first), fingerprint(certs.serverCertFile))

    copyFileSync(join(certs.dir, 'server2.pem'), certfile)
    copyFileSync(join(certs.dir, 'server2-key.pem'), keyfile)
    const result = await broker.broker.reload()
    t.same(result.failed, [])
    const second = await openSecure(t, broker, 'mqtts', { protocolVersion: 5, ca: certs.ca, clientId: 'after-reload' })
    t.equal(peer(second), fingerprint(join(certs.dir, 'server2.pem')), 'a new handshake gets the new certificate')

    t.ok(first.client.connected, 'the client connected before the reload is still connected')
    await first.client.subscribeAsync('reload/x', { qos: 1 })
    await second.client.publishAsync('reload/x', 'still here', { qos: 1 })
    const [message] = await first.got.next(1)
    t.equal(message?.payload, 'still here')

    writeFileSync(certfile, 'not a certificate')
    const broken = await broker.broker.reload()
    t.equal(broken.failed.length, 1, 'a broken certificate is reported')
    const third = await openSecure(t, broker, 'mqtts', { protocolVersion: 5, ca: certs.ca, clientId: 'after-broken-reload' })
    t.equal(peer(third), fingerprint(join(certs.dir, 'server2.pem')), 'and the certificate in force stays')
  })

  t.test('a TLS listener without certfile and keyfile does not start', async (t) => {
    await t.rejects(startBroker({ memory: true, config: { tlsPort: -1 } }), { code: 'CONFIG_CONFLICT', message: /certfile and keyfile/ })
  })
}
