import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import pino from 'pino'
import t, { type Test } from 'tap'
import {
  Security, anonymousExposure, anonymousOn, hashPassword, isLoopbackHost, isSysTopic,
  type AuthenticateRequest, type BrokerHooks, type ListenerName, type SecurityOptions,
} from '../../../src/auth/index.js'

/*
 * How the password file, the authenticate hook and allowAnonymous compose (src/auth/security.ts
 * explains the order), reloads that fail closed, the per-session read cache, and the
 * "beyond loopback" rule.
 */

const log = pino({ level: 'silent' })
const OK = 0
const BAD_CREDENTIALS = 0x86
const NOT_AUTHORIZED = 0x87

async function security(t: Test, opts: Partial<SecurityOptions> & { users?: Record<string, string>; acl?: string }): Promise<Security> {
  const dir = t.testdir()
  let passwordFile: string | null = null
  if (opts.users !== undefined) {
    passwordFile = join(dir, 'passwd')
    const lines = await Promise.all(Object.entries(opts.users).map(async ([u, p]) => `${u}:${await hashPassword(p)}`))
    writeFileSync(passwordFile, `${lines.join('\n')}\n`)
  }
  let aclFile: string | null = null
  if (opts.acl !== undefined) {
    aclFile = join(dir, 'acl')
    writeFileSync(aclFile, opts.acl)
  }
  const s = new Security({ passwordFile, aclFile, allowAnonymous: undefined, hooks: {}, log, ...opts })
  await s.load()
  return s
}

const req = (username?: string, password?: string): AuthenticateRequest => ({
  clientId: 'c', username, password: password === undefined ? undefined : Buffer.from(password), remoteAddress: '127.0.0.1', protocolVersion: 5,
})

t.test('CONNECT decisions: password file, hook and allowAnonymous', async (t) => {
  const hook: BrokerHooks = { authenticate: async ({ username, password }) => username === 'hooked' || (username === undefined && password === undefined) }
  const cases: Array<[string, Partial<SecurityOptions> & { users?: Record<string, string> }, AuthenticateRequest, number]> = [
    ['nothing configured: anonymous allowed (loopback only, see anonymousExposure)', {}, req(), OK],
    ['nothing configured: a username proves nothing but is let in', {}, req('x', 'y'), OK],
    ['allowAnonymous false, nothing else: everyone refused', { allowAnonymous: false }, req('x', 'y'), NOT_AUTHORIZED],
    ['password file: right password', { users: { alice: 'pw' } }, req('alice', 'pw'), OK],
    ['password file: wrong password', { users: { alice: 'pw' } }, req('alice', 'nope'), BAD_CREDENTIALS],
    ['password file: unknown user', { users: { alice: 'pw' } }, req('eve', 'pw'), BAD_CREDENTIALS],
    ['password file, allowAnonymous not set: anonymous refused', { users: { alice: 'pw' } }, req(), NOT_AUTHORIZED],
    ['password file, allowAnonymous true: anonymous allowed', { users: { alice: 'pw' }, allowAnonymous: true }, req(), OK],
    ['password file + hook: the file decides for its users', { users: { hooked: 'pw' }, hooks: hook }, req('hooked', 'wrong'), BAD_CREDENTIALS],
    ['password file + hook: the hook decides for others', { users: { alice: 'pw' }, hooks: hook }, req('hooked', 'any'), OK],
    ['password file + hook: the hook can refuse others', { users: { alice: 'pw' }, hooks: hook }, req('eve', 'any'), BAD_CREDENTIALS],
    ['hook: anonymous clients are the hook\'s to decide', { hooks: hook }, req(), OK],
    ['hook, allowAnonymous false: anonymous refused before the hook', { hooks: hook, allowAnonymous: false }, req(), NOT_AUTHORIZED],
  ]
  for (const [what, opts, request, expected] of cases) {
    const s = await security(t, opts)
    t.equal(await s.authenticate(request, 'tcp', undefined), expected, what)
  }
  const s = await security(t, { users: { alice: 'pw' }, allowAnonymous: false })
  t.equal(await s.authenticate(req(), 'tls', 'alice'), OK, 'a verified certificate identity needs no password')
})

t.test('allowAnonymous per listener: each listener its own answer, listeners not named stay unset', async (t) => {
  const hook: BrokerHooks = { authenticate: async ({ username }) => username === undefined }
  const cases: Array<[string, Partial<SecurityOptions> & { users?: Record<string, string> }, AuthenticateRequest, ListenerName, number]> = [
    ['password file, { ws: true }: anonymous on ws let in', { users: { alice: 'pw' }, allowAnonymous: { ws: true } }, req(), 'ws', OK],
    ['password file, { ws: true }: anonymous on tcp refused (not set there)', { users: { alice: 'pw' }, allowAnonymous: { ws: true } }, req(), 'tcp', NOT_AUTHORIZED],
    ['password file, { ws: true }: anonymous on wss refused (ws names only ws)', { users: { alice: 'pw' }, allowAnonymous: { ws: true } }, req(), 'wss', NOT_AUTHORIZED],
    ['password file, { ws: true }: a user still logs in on tcp', { users: { alice: 'pw' }, allowAnonymous: { ws: true } }, req('alice', 'pw'), 'tcp', OK],
    ['password file, { ws: true }: a wrong password is still wrong on ws', { users: { alice: 'pw' }, allowAnonymous: { ws: true } }, req('alice', 'no'), 'ws', BAD_CREDENTIALS],
    ['password file, { tcp: true, ws: false }: anonymous on tcp let in', { users: { alice: 'pw' }, allowAnonymous: { tcp: true, ws: false } }, req(), 'tcp', OK],
    ['nothing configured, { tcp: false }: anonymous on tcp refused', { allowAnonymous: { tcp: false } }, req(), 'tcp', NOT_AUTHORIZED],
    ['nothing configured, { tcp: false }: an unchecked username on tcp refused', { allowAnonymous: { tcp: false } }, req('x', 'y'), 'tcp', NOT_AUTHORIZED],
    ['nothing configured, { tcp: false }: anonymous on ws let in (not set, nothing authenticates)', { allowAnonymous: { tcp: false } }, req(), 'ws', OK],
    ['hook, { ws: false }: anonymous on ws refused before the hook', { hooks: hook, allowAnonymous: { ws: false } }, req(), 'ws', NOT_AUTHORIZED],
    ['hook, { ws: false }: anonymous on tcp is the hook\'s to decide', { hooks: hook, allowAnonymous: { ws: false } }, req(), 'tcp', OK],
    ['an empty object: every listener not set', { users: { alice: 'pw' }, allowAnonymous: {} }, req(), 'ws', NOT_AUTHORIZED],
  ]
  for (const [what, opts, request, listener, expected] of cases) {
    const s = await security(t, opts)
    t.equal(await s.authenticate(request, listener, undefined), expected, what)
  }
  t.equal(anonymousOn(true, 'wss'), true, 'a boolean applies to every listener')
  t.equal(anonymousOn(undefined, 'tcp'), undefined)
  t.equal(anonymousOn({ tls: false }, 'tls'), false)
  t.equal(anonymousOn({ tls: false }, 'tcp'), undefined)
})

t.test('a hook answering a reason code passes it through', async (t) => {
  const s = await security(t, { hooks: { authenticate: async () => 0x8a } })
  t.equal(await s.authenticate(req('x', 'y'), 'tcp', undefined), 0x8a)
})

t.test('$SYS/ is never publishable; without an ACL file everything else is', async (t) => {
  const s = await security(t, {})
  const who = { clientId: 'c', username: 'u' }
  t.equal(s.canPublish(who, '$SYS/broker/uptime'), false)
  t.equal(s.canPublish(who, '$SYS'), false)
  t.equal(s.canPublish(who, '$SYSTEM/x'), true, 'only $SYS itself is reserved')
  t.equal(s.canPublish(who, 'a/b'), true)
  t.equal(s.canSubscribe(who, '#'), true)
  t.equal(s.reader(who), undefined, 'no ACL: no per-message check at all')
  t.ok(isSysTopic('$SYS/x'))
  t.notOk(isSysTopic('x/$SYS'))
})

t.test('reload: new rules apply to existing read checks; a broken file keeps the old rules', async (t) => {
  const s = await security(t, { acl: 'user u\ntopic read a/#\n' })
  const who = { clientId: 'c', username: 'u' }
  const canRead = s.reader(who)
  if (canRead === undefined) throw new Error('expected a reader')
  t.equal(canRead('a/1'), true)
  t.equal(canRead('b/1'), false)
  t.equal(canRead('a/1'), true, 'cached answer')

  const aclFile = join(t.testdirName, 'acl')
  writeFileSync(aclFile, 'user u\ntopic read b/#\n')
  t.same((await s.reload()).failed, [])
  t.equal(canRead('a/1'), false, 'the cache was emptied by the reload')
  t.equal(canRead('b/1'), true)

  writeFileSync(aclFile, 'user u\ntopic nonsense access here\nbogus line\n')
  const result = await s.reload()
  t.equal(result.failed.length, 1)
  t.match(result.failed[0]?.error.message, /line 3: unknown keyword "bogus"/)
  t.equal(canRead('b/1'), true, 'the previous rules stay in force')
})

t.test('PUBLISH checks are cached per connection and follow a reload', async (t) => {
  const s = await security(t, { acl: 'user u\ntopic write a/#\n' })
  const connection = { clientId: 'c', username: 'u' }
  t.equal(s.canPublish(connection, 'a/1'), true)
  t.equal(s.canPublish(connection, 'b/1'), false)
  writeFileSync(join(t.testdirName, 'acl'), 'user u\ntopic write b/#\n')
  await s.reload()
  t.equal(s.canPublish(connection, 'a/1'), false)
  t.equal(s.canPublish(connection, 'b/1'), true)
  t.equal(s.canPublish({ clientId: 'c', username: 'other' }, 'b/1'), false, 'another connection has its own answers')
})

t.test('reload of a password file that vanished keeps the users', async (t) => {
  const s = await security(t, { users: { alice: 'pw' } })
  const { rmSync } = await import('node:fs')
  rmSync(join(t.testdirName, 'passwd'))
  const result = await s.reload()
  t.match(result.failed[0]?.error, { code: 'AUTH_FILE_UNREADABLE' })
  t.equal(await s.authenticate(req('alice', 'pw'), 'tcp', undefined), OK)
})

t.test('read answers stay right past the size of the (bounded) cache', async (t) => {
  const s = await security(t, { acl: 'user u\ntopic read t/#\n' })
  const canRead = s.reader({ clientId: 'c', username: 'u' })
  let allowed = 0
  for (let i = 0; i < 10_000; i++) if (canRead?.(`t/${i % 700}`) === true) allowed++
  t.equal(allowed, 10_000)
  t.equal(canRead?.('x'), false)
})

t.test('loopback hosts, and refusing to start beyond loopback with nothing that authenticates', async (t) => {
  for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', 'LOCALHOST', '::1', '[::1]', '::ffff:127.0.0.1']) t.ok(isLoopbackHost(host), host)
  for (const host of ['0.0.0.0', '::', '192.168.1.2', '10.0.0.1', 'example.com', '128.0.0.1', '127.0.0.1.example.com']) t.notOk(isLoopbackHost(host), host)
  const tcp = ['tcp'] as const
  t.equal(anonymousExposure('127.0.0.1', tcp, undefined, false), undefined)
  t.match(anonymousExposure('0.0.0.0', tcp, undefined, false),
    /host 0\.0\.0\.0 accepts connections from other machines on the tcp listener,.*allowAnonymous is not set for it/)
  t.match(anonymousExposure('0.0.0.0', tcp, undefined, false), /to false \(--allow-anonymous false, or tcp=false\) when clients log in with certificates/,
    'and names the way out for a broker whose clients authenticate by certificate')
  t.equal(anonymousExposure('0.0.0.0', tcp, true, false), undefined, 'explicitly allowed')
  t.equal(anonymousExposure('0.0.0.0', tcp, false, false), undefined, 'explicitly refused: nobody gets in without a certificate identity')
  t.equal(anonymousExposure('0.0.0.0', tcp, undefined, true), undefined, 'a password file or hook')
})

t.test('the refusal to start beyond loopback is decided per listener that starts, and names the ones left open', async (t) => {
  const both = ['tcp', 'ws'] as const
  const tcpOnly = anonymousExposure('0.0.0.0', both, { ws: true }, false)
  t.match(tcpOnly, /on the tcp listener, .*not set for it, so anyone who can reach it could connect/)
  t.match(tcpOnly, /--allow-anonymous tcp=true for the tcp listener only/, 'says how to fix it for that listener')
  t.notMatch(tcpOnly, /\bws\b/, 'the ws listener, set explicitly, is not named')
  t.match(anonymousExposure('0.0.0.0', both, undefined, false), /on the tcp and ws listeners, .*not set for them.*--allow-anonymous tcp=true,ws=true/)
  t.equal(anonymousExposure('0.0.0.0', both, { tcp: false, ws: true }, false), undefined, 'every started listener set')
  t.match(anonymousExposure('::', ['ws', 'wss'], { ws: false, tcp: true }, false), /on the wss listener,/,
    'a setting for a listener that is not started does not count for one that is')
  t.equal(anonymousExposure('0.0.0.0', ['tls'], { tls: false }, false), undefined)
  t.equal(anonymousExposure('0.0.0.0', [], undefined, false), undefined, 'no listener, nothing exposed')
  t.equal(anonymousExposure('localhost', both, { ws: true }, false), undefined, 'loopback: unset is fine')
})
