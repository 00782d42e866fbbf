import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import type { IClientOptions } from 'mqtt'
import { startBroker, type TestBroker } from '../../helpers/broker.js'
import { closeClient, delay, open, type Opened, type Version } from '../../helpers/client.js'

/*
 * Mosquitto ACL files applied to SUBSCRIBE, PUBLISH, wills, retained messages and each
 * delivered message, over TCP and WebSocket at 3.1.1 and 5.0. Refusals: SUBACK 0x87 (3.1.1:
 * 0x80); PUBACK/PUBREC 0x87 at 5.0, a silently dropped message at 3.1.1.
 *
 * No password file here: usernames are taken as given (allowAnonymous on loopback), which is
 * what lets one test play several users.
 */

const dir = mkdtempSync(join(tmpdir(), 'halyard-acl-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
let files = 0

const ACL = `# anonymous clients: only the lines before the first user
topic read public/#

user alice
topic readwrite alice/#
topic write shared/#
topic write other/#
# even an ACL line cannot open $SYS/ to clients
topic readwrite $SYS/#

user bob
topic read shared/#
topic deny shared/secret

user carol
topic read #
topic read $SYS/#

pattern write devices/%c/#
pattern read users/%u/#
`

const SUBACK_REFUSED = { 4: 0x80, 5: 0x87 } as const

function aclFile(text: string): string {
  const path = join(dir, `acl-${++files}`)
  writeFileSync(path, text)
  return path
}

async function aclBroker(t: Test, text = ACL, extra: Parameters<typeof startBroker>[0] = {}): Promise<TestBroker & { aclPath: string }> {
  const aclPath = aclFile(text)
  const broker = await startBroker({ memory: true, ws: true, ...extra, config: { aclFile: aclPath, allowAnonymous: true, ...extra.config } })
  t.teardown(() => broker.close())
  return { ...broker, aclPath }
}

/** Waits long enough for a message that must NOT arrive to have arrived if it were sent. */
const settle = (): Promise<void> => delay(150)

for (const transport of ['tcp', 'ws'] as const) {
  for (const protocolVersion of [4, 5] as Version[]) {
    const tag = `${transport}-v${protocolVersion}`
    t.test(`${transport} v${protocolVersion}`, async (t) => {
      const url = (b: TestBroker): string => (transport === 'tcp' ? b.url : `ws://127.0.0.1:${b.wsPort}/mqtt`)
      const as = async (t: Test, b: TestBroker, username: string | undefined, opts: IClientOptions = {}): Promise<Opened> => {
        const opened = await open(url(b), { protocolVersion, clientId: `${tag}-${username ?? 'anon'}-${++files}`, ...(username === undefined ? {} : { username }), ...opts })
        t.teardown(() => closeClient(opened.client))
        return opened
      }
      // MQTT.js rejects a SUBACK holding any failure code; the SUBACK rides on the error.
      const granted = async (o: Opened, filters: string[]): Promise<number[]> =>
        o.client.subscribeAsync(filters, { qos: 1 }).then(
          (grants) => grants.map((g) => g.qos),
          (err: { packet?: { granted?: number[] } }) => {
            if (err.packet?.granted === undefined) throw err
            return err.packet.granted
          })

      t.test('SUBSCRIBE: a filter is granted only when a readable line covers all of it', async (t) => {
        const b = await aclBroker(t)
        const alice = await as(t, b, 'alice')
        t.same(await granted(alice, ['alice/#', 'alice/+/x', 'shared/#', 'other/x', '#']),
          [1, 1, SUBACK_REFUSED[protocolVersion], SUBACK_REFUSED[protocolVersion], SUBACK_REFUSED[protocolVersion]])
        const bob = await as(t, b, 'bob')
        t.same(await granted(bob, ['shared/#', 'shared/secret', 'shared/open']), [1, SUBACK_REFUSED[protocolVersion], 1],
          'a deny line covering the whole filter refuses it')
      })

      t.test('PUBLISH to a topic the ACL does not allow is refused (5.0: 0x87) or dropped (3.1.1)', async (t) => {
        const b = await aclBroker(t)
        const carol = await as(t, b, 'carol')
        await carol.client.subscribeAsync(['#', '$SYS/#'], { qos: 1 })
        const alice = await as(t, b, 'alice')
        const outcome = async (topic: string, qos: 1 | 2): Promise<string> => {
          try {
            await alice.client.publishAsync(topic, 'x', { qos })
            return 'acked'
          } catch (err) {
            return `refused ${(err as { code?: number }).code ?? '?'}`
          }
        }
        const refused = protocolVersion === 5 ? 'refused 135' : 'acked'
        t.equal(await outcome('other/x', 1), 'acked', 'allowed (write)')
        t.equal(await outcome('bob/x', 1), refused, 'QoS 1 outside the ACL')
        t.equal(await outcome('bob/y', 2), refused, 'QoS 2 outside the ACL')
        alice.client.publish('bob/z', 'x', { qos: 0 })
        t.equal(await outcome('$SYS/broker/uptime', 1), refused, '$SYS/ is refused whatever the ACL says')
        await carol.got.next(1)
        await settle()
        t.same(carol.got.messages.map((m) => m.topic), ['other/x'], 'only the allowed message was published')
      })

      t.test('a wildcard subscription only delivers topics the subscriber may read', async (t) => {
        const b = await aclBroker(t)
        const bob = await as(t, b, 'bob')
        const carol = await as(t, b, 'carol')
        t.same(await granted(bob, ['shared/#']), [1])
        await granted(carol, ['shared/#'])
        const alice = await as(t, b, 'alice')
        for (const topic of ['shared/a', 'shared/secret', 'shared/b']) await alice.client.publishAsync(topic, topic, { qos: 1 })
        await carol.got.next(3)
        await bob.got.next(2)
        await settle()
        t.same(bob.got.messages.map((m) => m.topic), ['shared/a', 'shared/b'], 'the denied topic was not delivered to bob')
        t.same(carol.got.messages.map((m) => m.topic), ['shared/a', 'shared/secret', 'shared/b'], 'but was to carol')
      })

      t.test('retained messages are delivered on SUBSCRIBE per topic the subscriber may read', async (t) => {
        const b = await aclBroker(t)
        const alice = await as(t, b, 'alice')
        for (const topic of ['shared/r1', 'shared/secret', 'shared/r2']) await alice.client.publishAsync(topic, topic, { qos: 1, retain: true })
        const bob = await as(t, b, 'bob')
        await granted(bob, ['shared/#'])
        await bob.got.next(2)
        await settle()
        t.same(bob.got.messages.map((m) => m.topic).sort(), ['shared/r1', 'shared/r2'])
        t.ok(bob.got.messages.every((m) => m.retain))
      })

      t.test('a will to a forbidden topic is never published; an allowed one is', async (t) => {
        const b = await aclBroker(t)
        const carol = await as(t, b, 'carol')
        await granted(carol, ['#'])
        const bad = await as(t, b, 'alice', { will: { topic: 'bob/will', payload: Buffer.from('no'), qos: 1, retain: false } })
        const good = await as(t, b, 'alice', { will: { topic: 'alice/will', payload: Buffer.from('yes'), qos: 1, retain: false } })
        bad.client.stream.destroy()
        good.client.stream.destroy()
        const [message] = await carol.got.next(1)
        await settle()
        t.equal(message?.topic, 'alice/will')
        t.equal(carol.got.messages.length, 1)
      })

      t.test('pattern lines: %c and %u, never widened by a client id or username holding + # /', async (t) => {
        const b = await aclBroker(t)
        const dev = await as(t, b, undefined, { clientId: `${tag}-dev1` })
        const outcome = async (o: Opened, topic: string): Promise<boolean> =>
          o.client.publishAsync(topic, 'x', { qos: 1 }).then(() => true, () => false)
        if (protocolVersion === 5) {
          t.equal(await outcome(dev, `devices/${tag}-dev1/temp`), true, 'its own device topic')
          t.equal(await outcome(dev, 'devices/other/temp'), false, 'another device\'s topic')
        }
        const uma = await as(t, b, 'uma')
        t.same(await granted(uma, ['users/uma/#', 'users/other/#']), [1, SUBACK_REFUSED[protocolVersion]])
        const hash = await as(t, b, '#')
        t.same(await granted(hash, ['users/#', 'users/+']), [SUBACK_REFUSED[protocolVersion], SUBACK_REFUSED[protocolVersion]],
          'username "#" does not turn users/%u/# into users/#/#')
        const slash = await as(t, b, 'uma/x')
        t.same(await granted(slash, ['users/uma/x/#']), [SUBACK_REFUSED[protocolVersion]], 'a username with / matches no pattern')
        const plus = await as(t, b, 'x', { clientId: `${tag}+dev` })
        t.same(await granted(plus, ['users/x/#']), [SUBACK_REFUSED[protocolVersion]], 'a client id with + matches no pattern either')
      })

      t.test('lines before the first user are for anonymous clients only', async (t) => {
        const b = await aclBroker(t)
        const anon = await as(t, b, undefined)
        t.same(await granted(anon, ['public/#', 'alice/#']), [1, SUBACK_REFUSED[protocolVersion]])
        const bob = await as(t, b, 'bob')
        t.same(await granted(bob, ['public/#']), [SUBACK_REFUSED[protocolVersion]])
      })

      t.test('an empty ACL file denies everything', async (t) => {
        const b = await aclBroker(t, '')
        const alice = await as(t, b, 'alice')
        t.same(await granted(alice, ['alice/#', '#']), [SUBACK_REFUSED[protocolVersion], SUBACK_REFUSED[protocolVersion]])
        if (protocolVersion === 5) await t.rejects(alice.client.publishAsync('alice/x', 'x', { qos: 1 }), { code: 0x87 })
      })

      t.test('a resumed persistent session is re-checked: subscriptions and queued messages no longer allowed are dropped', async (t) => {
        const b = await aclBroker(t, ACL, { memory: false })
        const clientId = `${tag}-bob-persistent`
        const session: IClientOptions = protocolVersion === 5
          ? { clientId, clean: false, properties: { sessionExpiryInterval: 300 } }
          : { clientId, clean: false }
        const bob = await as(t, b, 'bob', session)
        t.same(await granted(bob, ['shared/#']), [1])
        await closeClient(bob.client)
        const alice = await as(t, b, 'alice')
        await alice.client.publishAsync('shared/queued', 'q', { qos: 1 })

        writeFileSync(b.aclPath, 'user bob\ntopic read other/#\n\nuser alice\ntopic write #\n')
        t.same((await b.broker.reload()).failed, [])
        const back = await as(t, b, 'bob', session)
        t.equal(back.connack.sessionPresent, true)
        // A barrier instead of a wait: a queued message would come before the SUBACK, and
        // alice's messages arrive in the order she sent them [MQTT-4.6.0-6].
        t.same(await granted(back, ['other/barrier']), [1])
        await alice.client.publishAsync('shared/after', 'a', { qos: 1 })
        await alice.client.publishAsync('other/barrier', 'b', { qos: 1 })
        await back.got.next(1)
        t.same(back.got.messages.map((m) => m.topic), ['other/barrier'], 'neither the queued message nor a new one arrives')
      })

      t.test('a reload that fails keeps the rules in force', async (t) => {
        const b = await aclBroker(t)
        writeFileSync(b.aclPath, 'user bob\ntopic read #\nusr alice\ntopic readwrite #\n')
        const result = await b.broker.reload()
        t.match(result.failed[0]?.error.message, /line 3: unknown keyword "usr"/)
        const bob = await as(t, b, 'bob')
        t.same(await granted(bob, ['shared/#', 'other/#']), [1, SUBACK_REFUSED[protocolVersion]], 'the previous rules')
      })
    })
  }
}
