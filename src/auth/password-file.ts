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
 * and one format of Halyard's own, which Mosquitto cannot read:
 *
 *   carol:SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>
 *                                a SCRAM-SHA-256 verifier exactly as PostgreSQL stores it
 *                                (RFC 5802 section 3, RFC 7677); `halyard passwd --scram-sha-256`
 *
 * A line is split at its first ":" (a username cannot hold one; the verifier does). Salts,
 * hashes and keys are standard base64. Lines starting with `#` are comments. Anything else —
 * a blank line, a user without a hash, a plain-text password, a hash that does not decode,
 * the same user twice — is an error naming the line, so a damaged file can never turn into a
 * user who needs no password.
 *
 * Verification runs the same work whether or not the user exists (unknown users are checked
 * against a dummy entry shaped like the file's most common kind and iteration count) and
 * compares with `crypto.timingSafeEqual`.
 */
import { createHash, createHmac, pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto'
import { promisify } from 'node:util'
import { AuthFileError } from './errors.js'
import { scramKeys, type ScramCredentials, type ScramDecoy } from './scram.js'

const pbkdf2Async = promisify(pbkdf2)

/** What `mosquitto_passwd` 2.x writes. */
export const PBKDF2_ITERATIONS = 101
const SALT_BYTES = 12
const HASH_BYTES = 64
/** A file asking for more would let whoever wrote it stall every CONNECT. */
const MAX_ITERATIONS = 10_000_000
/** RFC 7677 section 4 and PostgreSQL: at least 4096 iterations for SCRAM-SHA-256. */
export const SCRAM_SHA256_ITERATIONS = 4096
/** PostgreSQL's salt length for SCRAM verifiers. */
const SCRAM_SALT_BYTES = 16
const SCRAM_KEY_BYTES = 32
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/
const SCRAM_SHA256 = /^SCRAM-SHA-256\$([^:$]*):([^:$]*)\$([^:$]*):([^:$]*)$/

/** The kinds of entry that back a SCRAM method. */
export type ScramEntryKind = 'pbkdf2-sha512' | 'scram-sha256'

type Hash =
  | { kind: 'sha512'; salt: Buffer; hash: Buffer }
  | { kind: 'pbkdf2-sha512'; iterations: number; salt: Buffer; hash: Buffer }
  /** `hash` is the StoredKey: what a plain CONNECT password is checked against. */
  | { kind: 'scram-sha256'; iterations: number; salt: Buffer; hash: Buffer; serverKey: Buffer }

export class PasswordFile {
  readonly #users: ReadonlyMap<string, Hash>
  readonly #dummy: Hash
  /** Worked out once per load: every SCRAM exchange for an unknown user asks. */
  readonly #typical: Record<ScramEntryKind, ScramDecoy | undefined>

  constructor(users: ReadonlyMap<string, Hash>) {
    this.#users = users
    this.#dummy = dummyLike(users.values())
    const entries = [...users.values()]
    this.#typical = {
      'pbkdf2-sha512': shapeOf(mostCommon(entries.filter((e) => e.kind === 'pbkdf2-sha512'))),
      'scram-sha256': shapeOf(mostCommon(entries.filter((e) => e.kind === 'scram-sha256'))),
    }
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
   * it is. Other entries cannot, and give undefined, as an unknown user does.
   */
  scramSha512(username: string): ScramCredentials | undefined {
    const entry = this.#users.get(username)
    if (entry?.kind !== 'pbkdf2-sha512') return undefined
    return { salt: entry.salt, iterations: entry.iterations, ...scramKeys('sha512', entry.hash) }
  }

  /** SCRAM-SHA-256 credentials for a `SCRAM-SHA-256$` entry; other entries give undefined. */
  scramSha256(username: string): ScramCredentials | undefined {
    const entry = this.#users.get(username)
    if (entry?.kind !== 'scram-sha256') return undefined
    return { salt: entry.salt, iterations: entry.iterations, storedKey: entry.hash, serverKey: entry.serverKey }
  }

  /** The iteration count and salt length most entries of this kind have, for SCRAM decoys. */
  typical(kind: ScramEntryKind): ScramDecoy | undefined {
    return this.#typical[kind]
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
  switch (entry.kind) {
    case 'sha512': return createHash('sha512').update(password).update(entry.salt).digest()
    case 'pbkdf2-sha512': return pbkdf2Async(password, entry.salt, entry.iterations, entry.hash.length, 'sha512')
    case 'scram-sha256': {
      // StoredKey = H(HMAC(Hi(password, salt, i), "Client Key")) (RFC 5802 section 3).
      const salted = await pbkdf2Async(password, entry.salt, entry.iterations, SCRAM_KEY_BYTES, 'sha256')
      return createHash('sha256').update(createHmac('sha256', salted).update('Client Key').digest()).digest()
    }
    default: {
      const unreachable: never = entry
      return unreachable
    }
  }
}

function shapeOf(entry: Hash | undefined): ScramDecoy | undefined {
  return entry === undefined || entry.kind === 'sha512' ? undefined : { iterations: entry.iterations, saltBytes: entry.salt.length }
}

/** The entry whose kind, iteration count and salt length most entries share (the first on a tie). */
function mostCommon(entries: Iterable<Hash>): Hash | undefined {
  const counts = new Map<string, { entry: Hash; count: number }>()
  let best: { entry: Hash; count: number } | undefined
  for (const entry of entries) {
    const key = `${entry.kind}:${entry.kind === 'sha512' ? 0 : entry.iterations}:${entry.salt.length}`
    const seen = counts.get(key) ?? { entry, count: 0 }
    seen.count++
    counts.set(key, seen)
    if (best === undefined || seen.count > best.count) best = seen
  }
  return best?.entry
}

/** A random entry costing what a typical user of the file costs, so unknown users take as long. */
function dummyLike(entries: Iterable<Hash>): Hash {
  const model = mostCommon(entries) ?? { kind: 'pbkdf2-sha512', iterations: PBKDF2_ITERATIONS, salt: Buffer.alloc(SALT_BYTES), hash: Buffer.alloc(HASH_BYTES) }
  return { ...model, salt: randomBytes(model.salt.length), hash: randomBytes(model.hash.length) }
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

const decode = (b64: string | undefined, what: string): Buffer | string =>
  b64 !== undefined && b64 !== '' && BASE64.test(b64) ? Buffer.from(b64, 'base64') : `${what} is not base64`

/** The hash part of a line, or why it is not one. */
function parseHash(text: string): Hash | string {
  if (text.startsWith('SCRAM-SHA-256$')) return parseScramSha256(text)
  const parts = text.split('$')
  if (parts[0] !== '' || (parts[1] !== '6' && parts[1] !== '7')) {
    return 'not a $6$ or $7$ hash, nor a SCRAM-SHA-256$ verifier (plain-text passwords are not accepted: ' +
      'hash the file with mosquitto_passwd -U, or use halyard passwd)'
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

/** `SCRAM-SHA-256$iterations:salt$StoredKey:ServerKey`, or why it is not one. */
function parseScramSha256(text: string): Hash | string {
  const match = SCRAM_SHA256.exec(text)
  if (match === null) return 'a SCRAM-SHA-256 verifier is SCRAM-SHA-256$iterations:salt$StoredKey:ServerKey'
  const [, iterationText = '', saltText, storedText, serverText] = match
  const iterations = /^[1-9]\d{0,7}$/.test(iterationText) ? Number(iterationText) : NaN
  if (!(iterations >= SCRAM_SHA256_ITERATIONS && iterations <= MAX_ITERATIONS)) {
    return `iterations must be an integer from ${SCRAM_SHA256_ITERATIONS} (RFC 7677's minimum) to ${MAX_ITERATIONS}: make the entry again with halyard passwd --scram-sha-256`
  }
  const salt = decode(saltText, 'salt')
  const storedKey = decode(storedText, 'StoredKey')
  const serverKey = decode(serverText, 'ServerKey')
  if (typeof salt === 'string') return salt
  if (typeof storedKey === 'string') return storedKey
  if (typeof serverKey === 'string') return serverKey
  for (const [key, what] of [[storedKey, 'StoredKey'], [serverKey, 'ServerKey']] as const) {
    if (key.length !== SCRAM_KEY_BYTES) return `${what} is ${key.length} bytes, a SCRAM-SHA-256 key is ${SCRAM_KEY_BYTES}`
  }
  return { kind: 'scram-sha256', iterations, salt, hash: storedKey, serverKey }
}

/** A `$7$` entry as `mosquitto_passwd` 2.x writes it: PBKDF2-SHA512, 101 iterations, 12-byte salt. */
export async function hashPassword(password: string | Buffer, iterations = PBKDF2_ITERATIONS): Promise<string> {
  const salt = randomBytes(SALT_BYTES)
  const hash = await pbkdf2Async(password, salt, iterations, HASH_BYTES, 'sha512')
  return `$7$${iterations}$${salt.toString('base64')}$${hash.toString('base64')}`
}

/**
 * A `SCRAM-SHA-256$` entry as PostgreSQL writes one: 16-byte salt, 4096 iterations by default.
 * Only the keys are kept: neither the password nor the salted password can be read back.
 */
export async function hashScramSha256(password: string | Buffer, iterations = SCRAM_SHA256_ITERATIONS, salt = randomBytes(SCRAM_SALT_BYTES)): Promise<string> {
  const { storedKey, serverKey } = scramKeys('sha256', await pbkdf2Async(password, salt, iterations, SCRAM_KEY_BYTES, 'sha256'))
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`
}
