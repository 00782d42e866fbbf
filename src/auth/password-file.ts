/**
 * Mosquitto's password file, so that a user can bring the file they already have.
 *
 * One user a line, `username:hash`, as `mosquitto_passwd` writes it:
 *
 *   alice:$7$101$<salt>$<hash>   PBKDF2-HMAC-SHA512, 101 iterations, 12-byte salt, 64-byte key
 *                                (mosquitto_passwd 2.x, the default)
 *   bob:$6$<salt>$<hash>         SHA-512 of the password bytes followed by the salt bytes
 *                                (mosquitto_passwd -H sha512, and Mosquitto 1.x)
 *
 * Salt and hash are standard base64. Lines starting with `#` are comments. Anything else —
 * a blank line, a user without a hash, a plain-text password, a hash that does not decode,
 * the same user twice — is an error naming the line, so a damaged file can never turn into a
 * user who needs no password.
 *
 * Verification runs the same work whether or not the user exists (a dummy hash for unknown
 * users) and compares with `crypto.timingSafeEqual`.
 */
import { createHash, pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto'
import { promisify } from 'node:util'
import { AuthFileError } from './errors.js'

const pbkdf2Async = promisify(pbkdf2)

/** What `mosquitto_passwd` 2.x writes. */
export const PBKDF2_ITERATIONS = 101
const SALT_BYTES = 12
const HASH_BYTES = 64
/** A file asking for more would let whoever wrote it stall every CONNECT. */
const MAX_ITERATIONS = 10_000_000
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

type Hash =
  | { kind: 'sha512'; salt: Buffer; hash: Buffer }
  | { kind: 'pbkdf2-sha512'; iterations: number; salt: Buffer; hash: Buffer }

export class PasswordFile {
  readonly #users: ReadonlyMap<string, Hash>
  readonly #dummy: Hash

  constructor(users: ReadonlyMap<string, Hash>) {
    this.#users = users
    this.#dummy = { kind: 'pbkdf2-sha512', iterations: PBKDF2_ITERATIONS, salt: randomBytes(SALT_BYTES), hash: randomBytes(HASH_BYTES) }
  }

  get size(): number {
    return this.#users.size
  }

  has(username: string): boolean {
    return this.#users.has(username)
  }

  /**
   * SCRAM-SHA-512 credentials for a `$7$` entry: its PBKDF2-HMAC-SHA512 hash is exactly
   * SCRAM's SaltedPassword (RFC 5802), so the file backs MQTT 5.0 enhanced authentication as
   * it is. `$6$` entries cannot, and give undefined.
   */
  scramSha512(username: string): { salt: Buffer; iterations: number; saltedPassword: Buffer } | undefined {
    const entry = this.#users.get(username)
    if (entry?.kind !== 'pbkdf2-sha512') return undefined
    return { salt: entry.salt, iterations: entry.iterations, saltedPassword: entry.hash }
  }

  /** True only for a known user with the right password. */
  async verify(username: string, password: Buffer | undefined): Promise<boolean> {
    const entry = this.#users.get(username)
    const computed = await digest(entry ?? this.#dummy, password ?? Buffer.alloc(0))
    const expected = (entry ?? this.#dummy).hash
    const isEqual = computed.length === expected.length && timingSafeEqual(computed, expected)
    return entry !== undefined && password !== undefined && isEqual
  }
}

async function digest(entry: Hash, password: Buffer): Promise<Buffer> {
  if (entry.kind === 'sha512') return createHash('sha512').update(password).update(entry.salt).digest()
  return pbkdf2Async(password, entry.salt, entry.iterations, entry.hash.length, 'sha512')
}

/** Parses the text of a password file; `path` is only for messages. Throws `AuthFileError`. */
export function parsePasswordFile(text: string, path: string): PasswordFile {
  const users = new Map<string, Hash>()
  const firstSeen = new Map<string, number>()
  const lines = text.split('\n')
  // A final newline ends the last line; it does not start an empty one.
  if (lines.at(-1) === '') lines.pop()
  for (const [index, raw] of lines.entries()) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw
    if (line.startsWith('#')) continue
    const invalid = (message: string): AuthFileError =>
      new AuthFileError('AUTH_PASSWORD_FILE_INVALID', path, message, { line: index + 1 })
    if (line.trim() === '') throw invalid('blank line: remove it (every line must be username:hash or a # comment)')
    const colon = line.indexOf(':')
    if (colon === -1) throw invalid('no ":" — expected username:hash as written by mosquitto_passwd or halyard passwd')
    const username = line.slice(0, colon)
    if (username === '') throw invalid('empty username before ":"')
    const hashText = line.slice(colon + 1)
    if (hashText === '') throw invalid(`user "${username}" has no password hash: set one with halyard passwd FILE ${username}`)
    const previous = firstSeen.get(username)
    if (previous !== undefined) throw invalid(`user "${username}" is already defined on line ${previous}: keep one entry`)
    const hash = parseHash(hashText)
    if (typeof hash === 'string') throw invalid(`user "${username}": ${hash}`)
    users.set(username, hash)
    firstSeen.set(username, index + 1)
  }
  return new PasswordFile(users)
}

/** The hash part of a line, or why it is not one. */
function parseHash(text: string): Hash | string {
  const parts = text.split('$')
  const decode = (b64: string | undefined, what: string): Buffer | string =>
    b64 !== undefined && b64 !== '' && BASE64.test(b64) ? Buffer.from(b64, 'base64') : `${what} is not base64`
  if (parts[0] !== '' || (parts[1] !== '6' && parts[1] !== '7')) {
    return 'not a $6$ or $7$ hash (plain-text passwords are not accepted: hash the file with mosquitto_passwd -U, or use halyard passwd)'
  }
  if (parts[1] === '6') {
    if (parts.length !== 4) return 'a $6$ hash is $6$salt$hash'
    const salt = decode(parts[2], 'salt')
    const hash = decode(parts[3], 'hash')
    if (typeof salt === 'string') return salt
    if (typeof hash === 'string') return hash
    if (hash.length !== HASH_BYTES) return `hash is ${hash.length} bytes, a SHA-512 hash is ${HASH_BYTES}`
    return { kind: 'sha512', salt, hash }
  }
  if (parts.length !== 5) return 'a $7$ hash is $7$iterations$salt$hash'
  const iterations = /^[1-9]\d{0,7}$/.test(parts[2] ?? '') ? Number(parts[2]) : NaN
  if (!(iterations <= MAX_ITERATIONS)) return `iterations must be an integer from 1 to ${MAX_ITERATIONS}`
  const salt = decode(parts[3], 'salt')
  const hash = decode(parts[4], 'hash')
  if (typeof salt === 'string') return salt
  if (typeof hash === 'string') return hash
  if (hash.length !== HASH_BYTES) return `hash is ${hash.length} bytes, a PBKDF2-SHA512 hash here is ${HASH_BYTES}`
  return { kind: 'pbkdf2-sha512', iterations, salt, hash }
}

/** A `$7$` entry as `mosquitto_passwd` 2.x writes it: PBKDF2-SHA512, 101 iterations, 12-byte salt. */
export async function hashPassword(password: string | Buffer, iterations = PBKDF2_ITERATIONS): Promise<string> {
  const salt = randomBytes(SALT_BYTES)
  const hash = await pbkdf2Async(password, salt, iterations, HASH_BYTES, 'sha512')
  return `$7$${iterations}$${salt.toString('base64')}$${hash.toString('base64')}`
}
