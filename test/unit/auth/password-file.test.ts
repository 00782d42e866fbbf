import { createHash, createHmac, pbkdf2Sync } from 'node:crypto'
import t from 'tap'
import { AuthFileError, hashPassword, hashScramSha256, parsePasswordFile } from '../../../src/auth/index.js'

/*
 * Mosquitto's password file format. The fixed entries below were made with node:crypto
 * the way mosquitto_passwd makes them (and checked against Debian's mosquitto_passwd 2.0.11);
 * test/integration/security/passwords.test.ts runs mosquitto_passwd itself.
 */

const salt = Buffer.from('0123456789ab')
const pbkdf2Entry = (password: string, iterations = 101): string =>
  `$7$${iterations}$${salt.toString('base64')}$${pbkdf2Sync(password, salt, iterations, 64, 'sha512').toString('base64')}`
const sha512Entry = (password: string): string =>
  `$6$${salt.toString('base64')}$${createHash('sha512').update(password).update(salt).digest('base64')}`
// Written by mosquitto_passwd 2.0.11: `mosquitto_passwd -c -b f alice secret`.
const FROM_MOSQUITTO = 'alice:$7$101$NEut+43NhpHhqScL$jqDPm7ps/Te344bJlAknI+cTaZ+4hDjGBavwMo9MeeqdTn+NhGHBanhGPWkmEPA9FBS1y7iLpn1ZO1zqlD/mtw=='

function parseError(text: string): AuthFileError {
  try {
    parsePasswordFile(text, 'pw')
  } catch (err) {
    if (err instanceof AuthFileError) return err
    throw err
  }
  throw new Error('expected an AuthFileError')
}

t.test('an entry written by mosquitto_passwd 2.x verifies its password and no other', async (t) => {
  const file = parsePasswordFile(`${FROM_MOSQUITTO}\n`, 'pw')
  t.equal(await file.verify('alice', Buffer.from('secret')), true)
  t.equal(await file.verify('alice', Buffer.from('Secret')), false)
  t.equal(await file.verify('alice', undefined), false)
  t.equal(await file.verify('bob', Buffer.from('secret')), false)
})

t.test('$7$ (PBKDF2-SHA512, any iteration count) and $6$ (salted SHA-512) entries', async (t) => {
  const file = parsePasswordFile(
    `a:${pbkdf2Entry('one')}\nb:${pbkdf2Entry('two', 1000)}\r\nc:${sha512Entry('three')}\n`, 'pw')
  t.equal(file.size, 3)
  t.equal(await file.verify('a', Buffer.from('one')), true)
  t.equal(await file.verify('b', Buffer.from('two')), true, 'CRLF line endings are fine')
  t.equal(await file.verify('c', Buffer.from('three')), true)
  t.equal(await file.verify('c', Buffer.from('one')), false)
})

t.test('a password is bytes: non-UTF-8 and empty passwords are compared as given', async (t) => {
  const binary = Buffer.from([0xff, 0x00, 0x80])
  const hash = pbkdf2Sync(binary, salt, 101, 64, 'sha512').toString('base64')
  const file = parsePasswordFile(`bin:$7$101$${salt.toString('base64')}$${hash}\n`, 'pw')
  t.equal(await file.verify('bin', binary), true)
  t.equal(await file.verify('bin', Buffer.alloc(0)), false)
})

t.test('comments are skipped; a username may hold spaces and non-ASCII', async (t) => {
  const file = parsePasswordFile(`# made by hand\nJosé Ñ:${pbkdf2Entry('x')}\n`, 'pw')
  t.ok(file.has('José Ñ'))
  t.equal(await file.verify('José Ñ', Buffer.from('x')), true)
})

/** A SCRAM-SHA-256 verifier made here with node:crypto from RFC 5802 section 3, not with the broker's code. */
function scramEntry(password: string, iterations = 4096, scramSalt = Buffer.from('0123456789abcdef')): string {
  const salted = pbkdf2Sync(password, scramSalt, iterations, 32, 'sha256')
  const storedKey = createHash('sha256').update(createHmac('sha256', salted).update('Client Key').digest()).digest()
  const serverKey = createHmac('sha256', salted).update('Server Key').digest()
  return `SCRAM-SHA-256$${iterations}:${scramSalt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`
}
const [scramHead = '', scramKeys = ''] = scramEntry('x').split('$').slice(1)
const key32 = Buffer.alloc(32, 7).toString('base64')

t.test('a SCRAM-SHA-256 verifier (PostgreSQL format) verifies its password and no other', async (t) => {
  const file = parsePasswordFile(`dora:${scramEntry('explorer')}
max:${scramEntry('m4x', 10_000)}
`, 'pw')
  t.equal(file.size, 2)
  t.equal(await file.verify('dora', Buffer.from('explorer')), true)
  t.equal(await file.verify('dora', Buffer.from('Explorer')), false)
  t.equal(await file.verify('dora', undefined), false)
  t.equal(await file.verify('max', Buffer.from('m4x')), true, 'any iteration count in bounds')
  t.equal(await file.verify('max', Buffer.from('explorer')), false)
})

t.test('SCRAM credentials come only from the matching kind of entry', async (t) => {
  const file = parsePasswordFile(`dora:${scramEntry('explorer')}
alice:${pbkdf2Entry('secret')}
`, 'pw')
  const [, , keys = ''] = scramEntry('explorer').split('$')
  const [storedKey = '', serverKey = ''] = keys.split(':')
  const sha256 = file.scramSha256('dora')
  t.equal(sha256?.iterations, 4096)
  t.equal(sha256?.salt.toString(), '0123456789abcdef')
  t.equal(sha256?.storedKey.toString('base64'), storedKey)
  t.equal(sha256?.serverKey.toString('base64'), serverKey)
  t.equal(file.scramSha512('dora'), undefined, 'a SCRAM-SHA-256 user has no SCRAM-SHA-512 credentials')
  t.equal(file.scramSha256('alice'), undefined, 'a $7$ user has no SCRAM-SHA-256 credentials')
  t.equal(file.scramSha256('nobody'), undefined)
  const salted = pbkdf2Sync('secret', salt, 101, 64, 'sha512')
  t.same(file.scramSha512('alice')?.serverKey, createHmac('sha512', salted).update('Server Key').digest(), '$7$ hash is SCRAM-SHA-512\'s salted password')
})

t.test('hashScramSha256 writes PostgreSQL-style verifiers: 4096 iterations, 16-byte salt, 32-byte keys', async (t) => {
  const entry = await hashScramSha256('s3cret')
  t.match(entry, /^SCRAM-SHA-256\$4096:[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=:[A-Za-z0-9+/]{43}=$/)
  t.equal(await parsePasswordFile(`u:${entry}\n`, 'pw').verify('u', Buffer.from('s3cret')), true)
  t.not(await hashScramSha256('s3cret'), entry, 'a fresh salt each time')
  t.equal(await hashScramSha256('x', 4096, Buffer.from('0123456789abcdef')), scramEntry('x'), 'matches an independent derivation')
  t.match(await hashScramSha256('x', 5000), /^SCRAM-SHA-256\$5000:/)
})

const malformed: Array<[string, string, number, RegExp]> = [
  ['a blank line', `a:${pbkdf2Entry('x')}\n\nb:${pbkdf2Entry('y')}\n`, 2, /blank line/],
  ['a line of spaces', '   \n', 1, /blank line/],
  ['a user with an empty hash', 'bob:\n', 1, /user "bob" has no password hash/],
  ['a user without a colon', 'bob\n', 1, /no ":"/],
  ['an empty username', `:${pbkdf2Entry('x')}\n`, 1, /empty username/],
  ['a plain-text password', 'bob:secret\n', 1, /not a \$6\$ or \$7\$ hash/],
  ['an unknown hash type', 'bob:$5$abc$def\n', 1, /not a \$6\$ or \$7\$ hash/],
  ['a $7$ with a missing part', `bob:$7$101$${salt.toString('base64')}\n`, 1, /\$7\$iterations\$salt\$hash/],
  ['a $7$ with zero iterations', pbkdf2Entry('x').replace('$101$', '$0$').replace(/^/, 'bob:') + '\n', 1, /iterations must be/],
  ['a $7$ with absurd iterations', pbkdf2Entry('x').replace('$101$', '$99999999999$').replace(/^/, 'bob:') + '\n', 1, /iterations must be/],
  ['a salt that is not base64', 'bob:$6$not base64!$AAAA\n', 1, /salt is not base64/],
  ['a truncated hash', `bob:$6$${salt.toString('base64')}$AAAA\n`, 1, /hash is 3 bytes/],
  ['a SCRAM-SHA-256 verifier without its keys', `bob:SCRAM-SHA-256$${scramHead}\n`, 1, /SCRAM-SHA-256\$iterations:salt\$StoredKey:ServerKey/],
  ['a SCRAM-SHA-256 verifier with one key', `bob:SCRAM-SHA-256$${scramHead}$${key32}\n`, 1, /SCRAM-SHA-256\$iterations:salt\$StoredKey:ServerKey/],
  ['a SCRAM-SHA-256 verifier with a third part', `bob:SCRAM-SHA-256$${scramHead}$${scramKeys}$${key32}\n`, 1, /SCRAM-SHA-256\$iterations:salt\$StoredKey:ServerKey/],
  ['a SCRAM-SHA-256 verifier with a missing salt', `bob:SCRAM-SHA-256$4096$${scramKeys}\n`, 1, /SCRAM-SHA-256\$iterations:salt\$StoredKey:ServerKey/],
  ['a SCRAM-SHA-256 verifier with an empty salt', `bob:SCRAM-SHA-256$4096:$${scramKeys}\n`, 1, /salt is not base64/],
  ['a SCRAM-SHA-256 verifier with fewer than 4096 iterations', `bob:${scramEntry('x', 4095)}\n`, 1, /iterations must be an integer from 4096/],
  ['a SCRAM-SHA-256 verifier with absurd iterations', `bob:SCRAM-SHA-256$10000001:${scramHead.split(':')[1] ?? ''}$${scramKeys}\n`, 1, /iterations must be .* to 10000000/],
  ['a SCRAM-SHA-256 verifier with non-numeric iterations', `bob:SCRAM-SHA-256$4096x:${scramHead.split(':')[1] ?? ''}$${scramKeys}\n`, 1, /iterations must be/],
  ['a SCRAM-SHA-256 verifier with a leading zero in iterations', `bob:SCRAM-SHA-256$04096:${scramHead.split(':')[1] ?? ''}$${scramKeys}\n`, 1, /iterations must be/],
  ['a SCRAM-SHA-256 StoredKey that is not base64', `bob:SCRAM-SHA-256$${scramHead}$not*base64:${key32}\n`, 1, /StoredKey is not base64/],
  ['a SCRAM-SHA-256 ServerKey that is not base64', `bob:SCRAM-SHA-256$${scramHead}$${key32}:\n`, 1, /ServerKey is not base64/],
  ['a truncated SCRAM-SHA-256 StoredKey', `bob:SCRAM-SHA-256$${scramHead}$AAAA:${key32}\n`, 1, /StoredKey is 3 bytes, a SCRAM-SHA-256 key is 32/],
  ['a SCRAM-SHA-512 key in a SCRAM-SHA-256 verifier', `bob:SCRAM-SHA-256$${scramHead}$${key32}:${Buffer.alloc(64).toString('base64')}\n`, 1, /ServerKey is 64 bytes/],
  ['a lower-case scheme name', `bob:${scramEntry('x').toLowerCase()}\n`, 1, /not a \$6\$ or \$7\$ hash, nor a SCRAM-SHA-256\$ verifier/],
  ['another SCRAM scheme', `bob:${scramEntry('x').replace('SCRAM-SHA-256', 'SCRAM-SHA-1')}\n`, 1, /nor a SCRAM-SHA-256\$ verifier/],
  ['the same user twice', `a:${pbkdf2Entry('x')}\n# c\na:${pbkdf2Entry('y')}\n`, 3, /already defined on line 1/],
]

for (const [what, text, line, message] of malformed) {
  t.test(`${what} is an error naming line ${line}, never a user`, async (t) => {
    const err = parseError(text)
    t.equal(err.code, 'AUTH_PASSWORD_FILE_INVALID')
    t.equal(err.line, line)
    t.match(err.message, new RegExp(`^pw line ${line}: `))
    t.match(err.message, message)
    t.notMatch(err.message, /[A-Za-z0-9+/]{40,}/, 'the message never quotes a hash')
  })
}

t.test('hashPassword writes $7$ entries like mosquitto_passwd: 101 iterations, 12-byte salt, 64-byte hash', async (t) => {
  const entry = await hashPassword('s3cret')
  const [, kind, iterations, saltB64, hashB64] = entry.split('$')
  t.equal(kind, '7')
  t.equal(iterations, '101')
  t.equal(Buffer.from(saltB64 ?? '', 'base64').length, 12)
  t.equal(Buffer.from(hashB64 ?? '', 'base64').length, 64)
  const file = parsePasswordFile(`u:${entry}\n`, 'pw')
  t.equal(await file.verify('u', Buffer.from('s3cret')), true)
  t.not(await hashPassword('s3cret'), entry, 'a fresh salt each time')
})
