import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto'
import { ReasonCode } from '../protocol/index.js'
import type { AuthExchange, AuthStep, EnhancedAuthenticator } from './enhanced.js'

/**
 * SCRAM (RFC 5802, RFC 7677) as an MQTT 5.0 Authentication Method:
 *
 *   CONNECT  auth data = client-first   "n,,n=user,r=cnonce"
 *   AUTH 18  auth data = server-first   "r=cnonce+snonce,s=salt,i=iterations"
 *   AUTH 18  auth data = client-final   "c=biws,r=nonce,p=proof"
 *   CONNACK  auth data = server-final   "v=signature"
 *
 * The server keeps what RFC 5802 section 3 says it needs — salt, iteration count, StoredKey and
 * ServerKey — never the password, nor the salted password (which would let whoever reads the
 * store log in as the user). A Mosquitto `$7$` password-file entry is PBKDF2-HMAC-SHA512 of the
 * password, which is exactly SCRAM-SHA-512's SaltedPassword, so its keys are derived from it;
 * a `SCRAM-SHA-256$` entry (PostgreSQL's verifier format) holds the keys themselves.
 */
export type ScramHash = 'sha256' | 'sha512'

export interface ScramCredentials {
  salt: Buffer
  iterations: number
  /** H(HMAC(SaltedPassword, "Client Key")): checks the client's proof. */
  storedKey: Buffer
  /** HMAC(SaltedPassword, "Server Key"): signs the server-final message. */
  serverKey: Buffer
}

export type ScramLookup = (username: string) => ScramCredentials | undefined

/** What a probe for an unknown user is shown: make it look like the store's real users. */
export interface ScramDecoy {
  iterations: number
  saltBytes: number
}

const DEFAULT_DECOY: ScramDecoy = { iterations: 4096, saltBytes: 16 }
const METHOD: Record<ScramHash, string> = { sha256: 'SCRAM-SHA-256', sha512: 'SCRAM-SHA-512' }
export const SCRAM_KEY_LENGTH: Record<ScramHash, number> = { sha256: 32, sha512: 64 }

/** StoredKey and ServerKey from SaltedPassword = Hi(password, salt, i) (RFC 5802 section 3). */
export function scramKeys(hash: ScramHash, saltedPassword: Buffer): { storedKey: Buffer; serverKey: Buffer } {
  const clientKey = hmac(hash, saltedPassword, 'Client Key')
  return { storedKey: createHash(hash).update(clientKey).digest(), serverKey: hmac(hash, saltedPassword, 'Server Key') }
}

/** Derives the credentials to store for a password (for tests and credential tools). */
export function scramCredentials(hash: ScramHash, password: string, iterations = 4096, salt = randomBytes(16)): ScramCredentials {
  return { salt, iterations, ...scramKeys(hash, pbkdf2Sync(password, salt, iterations, SCRAM_KEY_LENGTH[hash], hash)) }
}

/**
 * `decoy` is what unknown users are shown (default: 4096 iterations, 16-byte salt); a function
 * is asked at each exchange, for stores that change.
 */
export function scramAuthenticator(hash: ScramHash, lookup: ScramLookup, decoy: ScramDecoy | (() => ScramDecoy) = DEFAULT_DECOY): EnhancedAuthenticator {
  // Unknown users get a made-up but stable salt, so a probe cannot tell them from real ones.
  const decoySecret = randomBytes(32)
  return {
    method: METHOD[hash],
    begin: () => new ScramExchange(hash, lookup, decoySecret, typeof decoy === 'function' ? decoy() : decoy),
  }
}

const fail = (reason: string, reasonCode: number = ReasonCode.BadUserNameOrPassword): AuthStep =>
  ({ kind: 'failure', reasonCode, reason })

function attributes(message: string): Map<string, string> {
  const map = new Map<string, string>()
  for (const part of message.split(',')) {
    const eq = part.indexOf('=')
    if (eq === 1) map.set(part.slice(0, 1), part.slice(2))
  }
  return map
}

/** RFC 5802 saslname: "=2C" is ",", "=3D" is "=". */
const unescapeName = (name: string): string => name.replace(/=2C/g, ',').replace(/=3D/g, '=')

class ScramExchange implements AuthExchange {
  readonly #hash: ScramHash
  readonly #lookup: ScramLookup
  readonly #decoySecret: Buffer
  readonly #decoy: ScramDecoy
  #state: 'first' | 'final' | 'done' = 'first'
  #username = ''
  #clientFirstBare = ''
  #serverFirst = ''
  #nonce = ''
  #credentials: ScramCredentials | undefined

  constructor(hash: ScramHash, lookup: ScramLookup, decoySecret: Buffer, decoy: ScramDecoy) {
    this.#hash = hash
    this.#lookup = lookup
    this.#decoySecret = decoySecret
    this.#decoy = decoy
  }

  async start(data: Buffer | undefined): Promise<AuthStep> {
    if (this.#state !== 'first' || data === undefined) return fail('SCRAM client-first message missing', ReasonCode.ProtocolError)
    const text = data.toString('utf8')
    // Channel binding is not offered over MQTT: only the "n" GS2 flag is accepted.
    if (!text.startsWith('n,,')) return fail('SCRAM: only the "n,," GS2 header is supported', ReasonCode.BadAuthenticationMethod)
    this.#clientFirstBare = text.slice(3)
    const attrs = attributes(this.#clientFirstBare)
    const user = attrs.get('n')
    const clientNonce = attrs.get('r')
    if (user === undefined || user === '' || clientNonce === undefined || clientNonce === '') {
      return fail('SCRAM client-first message lacks n= or r=', ReasonCode.ProtocolError)
    }
    this.#username = unescapeName(user)
    this.#credentials = this.#lookup(this.#username)
    const salt = this.#credentials?.salt ?? decoySalt(this.#decoySecret, this.#username, this.#decoy.saltBytes)
    const iterations = this.#credentials?.iterations ?? this.#decoy.iterations
    this.#nonce = clientNonce + randomBytes(18).toString('base64')
    this.#serverFirst = `r=${this.#nonce},s=${salt.toString('base64')},i=${iterations}`
    this.#state = 'final'
    return { kind: 'continue', data: Buffer.from(this.#serverFirst) }
  }

  async next(data: Buffer | undefined): Promise<AuthStep> {
    if (this.#state !== 'final' || data === undefined) return fail('unexpected SCRAM message', ReasonCode.ProtocolError)
    this.#state = 'done'
    const clientFinal = data.toString('utf8')
    const proofAt = clientFinal.lastIndexOf(',p=')
    if (proofAt < 0) return fail('SCRAM client-final message lacks p=', ReasonCode.ProtocolError)
    const withoutProof = clientFinal.slice(0, proofAt)
    const attrs = attributes(clientFinal)
    if (attrs.get('r') !== this.#nonce) return fail('SCRAM nonce mismatch')
    if (attrs.get('c') !== 'biws') return fail('SCRAM channel binding mismatch')
    const credentials = this.#credentials
    if (credentials === undefined) return fail('SCRAM authentication failed')
    const proof = Buffer.from(attrs.get('p') ?? '', 'base64')
    const authMessage = `${this.#clientFirstBare},${this.#serverFirst},${withoutProof}`
    const { storedKey, serverKey } = credentials
    // ClientKey = ClientProof XOR ClientSignature; the proof is right when H(ClientKey) = StoredKey.
    const signature = hmac(this.#hash, storedKey, authMessage)
    if (proof.length !== signature.length) return fail('SCRAM authentication failed')
    const recovered = Buffer.alloc(proof.length)
    for (let i = 0; i < proof.length; i++) recovered[i] = (proof[i] ?? 0) ^ (signature[i] ?? 0)
    const recoveredStored = createHash(this.#hash).update(recovered).digest()
    if (recoveredStored.length !== storedKey.length || !timingSafeEqual(recoveredStored, storedKey)) return fail('SCRAM authentication failed')
    const verifier = hmac(this.#hash, serverKey, authMessage).toString('base64')
    return { kind: 'success', data: Buffer.from(`v=${verifier}`), username: this.#username }
  }
}

/** Stable per user (a retry sees the same salt) and as long as real salts. */
function decoySalt(secret: Buffer, username: string, bytes: number): Buffer {
  const parts: Buffer[] = []
  for (let block = 0; parts.length * 32 < bytes; block++) parts.push(createHmac('sha256', secret).update(`${block}:${username}`).digest())
  return Buffer.concat(parts).subarray(0, bytes)
}

function hmac(hash: ScramHash, key: Buffer, text: string): Buffer {
  return createHmac(hash, key).update(text).digest()
}
