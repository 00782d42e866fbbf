import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto'

/** The client side of SCRAM (RFC 5802), written from the RFC for tests: not the broker's code. */
export class ScramClient {
  readonly #hash: 'sha256' | 'sha512'
  readonly #user: string
  readonly #password: string
  readonly #nonce = randomBytes(12).toString('base64')
  #firstBare = ''
  #serverSignature: Buffer | undefined

  constructor(hash: 'sha256' | 'sha512', user: string, password: string) {
    this.#hash = hash
    this.#user = user
    this.#password = password
  }

  first(): Buffer {
    this.#firstBare = `n=${this.#user},r=${this.#nonce}`
    return Buffer.from(`n,,${this.#firstBare}`)
  }

  final(serverFirst: Buffer): Buffer {
    const text = serverFirst.toString()
    const attrs = new Map(text.split(',').map((p) => [p.slice(0, 1), p.slice(2)] as const))
    const nonce = attrs.get('r') ?? ''
    if (!nonce.startsWith(this.#nonce)) throw new Error('server nonce does not extend ours')
    const salt = Buffer.from(attrs.get('s') ?? '', 'base64')
    const iterations = Number(attrs.get('i'))
    const salted = pbkdf2Sync(this.#password, salt, iterations, this.#hash === 'sha256' ? 32 : 64, this.#hash)
    const withoutProof = `c=biws,r=${nonce}`
    const authMessage = `${this.#firstBare},${text},${withoutProof}`
    const clientKey = createHmac(this.#hash, salted).update('Client Key').digest()
    const storedKey = createHash(this.#hash).update(clientKey).digest()
    const signature = createHmac(this.#hash, storedKey).update(authMessage).digest()
    const proof = Buffer.alloc(clientKey.length)
    for (let i = 0; i < proof.length; i++) proof[i] = (clientKey[i] ?? 0) ^ (signature[i] ?? 0)
    const serverKey = createHmac(this.#hash, salted).update('Server Key').digest()
    this.#serverSignature = createHmac(this.#hash, serverKey).update(authMessage).digest()
    return Buffer.from(`${withoutProof},p=${proof.toString('base64')}`)
  }

  /** True when the server proved it knows the password too. */
  verify(serverFinal: Buffer | undefined): boolean {
    return serverFinal !== undefined && this.#serverSignature !== undefined &&
      serverFinal.toString() === `v=${this.#serverSignature.toString('base64')}`
  }
}
