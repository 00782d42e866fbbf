import { createHash, createHmac, timingSafeEqual } from 'node:crypto'
import t from 'tap'
import { hashScramSha256, parsePasswordFile } from '../../../src/auth/index.js'

/*
 * RFC 7677 section 3's SCRAM-SHA-256 exchange (user "user", password "pencil"): the verifier
 * `halyard passwd --scram-sha-256` would write for that password, salt and iteration count must
 * be the one that accepts the RFC's ClientProof and produces the RFC's ServerSignature. The
 * checks below are node:crypto written from RFC 5802 section 3, not the broker's SCRAM code.
 */
const clientFirstBare = 'n=user,r=rOprNGfwEbeRWgbNEkqO'
const serverFirst = 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096'
const clientFinalWithoutProof = 'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0'
const clientProof = Buffer.from('dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=', 'base64')
const serverSignature = 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4='
const authMessage = `${clientFirstBare},${serverFirst},${clientFinalWithoutProof}`

t.test('the verifier derived for RFC 7677\'s "pencil" accepts its proof and yields its server signature', async (t) => {
  const entry = await hashScramSha256('pencil', 4096, Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64'))
  const [scheme, head = '', keys = ''] = entry.split('$')
  t.equal(scheme, 'SCRAM-SHA-256')
  t.equal(head, '4096:W22ZaJ0SNY7soEsUEjb6gQ==', 'iterations and salt as in the RFC')
  const [storedB64 = '', serverB64 = ''] = keys.split(':')
  const storedKey = Buffer.from(storedB64, 'base64')
  const serverKey = Buffer.from(serverB64, 'base64')

  // ClientKey = ClientProof XOR HMAC(StoredKey, AuthMessage); the proof holds iff H(ClientKey) = StoredKey.
  const clientSignature = createHmac('sha256', storedKey).update(authMessage).digest()
  const clientKey = Buffer.from(clientProof.map((byte, i) => byte ^ (clientSignature[i] ?? 0)))
  t.ok(timingSafeEqual(createHash('sha256').update(clientKey).digest(), storedKey), 'the RFC\'s ClientProof verifies against our StoredKey')
  t.equal(`v=${createHmac('sha256', serverKey).update(authMessage).digest('base64')}`, serverSignature, 'our ServerKey signs as the RFC\'s server did')

  const file = parsePasswordFile(`user:${entry}\n`, 'pw')
  t.equal(await file.verify('user', Buffer.from('pencil')), true, 'and the entry logs "user" in with "pencil"')
  t.equal(await file.verify('user', Buffer.from('pencils')), false)
})

t.test('a different password gives a verifier that rejects the RFC\'s proof (the check above can fail)', async (t) => {
  const entry = await hashScramSha256('pencils', 4096, Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64'))
  const [storedB64 = '', serverB64 = ''] = (entry.split('$')[2] ?? '').split(':')
  const storedKey = Buffer.from(storedB64, 'base64')
  const clientSignature = createHmac('sha256', storedKey).update(authMessage).digest()
  const clientKey = Buffer.from(clientProof.map((byte, i) => byte ^ (clientSignature[i] ?? 0)))
  t.notOk(createHash('sha256').update(clientKey).digest().equals(storedKey))
  t.not(`v=${createHmac('sha256', Buffer.from(serverB64, 'base64')).update(authMessage).digest('base64')}`, serverSignature)
})
