import { readFile } from 'node:fs/promises'
import { createSecureContext, type SecureContextOptions } from 'node:tls'
import { ConfigError } from './errors.js'
import type { BrokerConfig } from './schema.js'

const TLS_VERSIONS = { 'tlsv1.2': 'TLSv1.2', 'tlsv1.3': 'TLSv1.3' } as const

/**
 * Reads `certfile`, `keyfile` and `cafile` and checks that they make a usable TLS context
 * (the key matches the certificate, the PEM parses), so a mistake is reported at start or at
 * reload, naming the file, instead of at the first handshake. Throws `ConfigError`.
 */
export async function readTlsCredentials(config: BrokerConfig): Promise<SecureContextOptions> {
  const { certfile, keyfile, cafile } = config
  if (certfile === null || keyfile === null) {
    throw new ConfigError('CONFIG_CONFLICT', 'TLS listeners need certfile and keyfile', { key: certfile === null ? 'certfile' : 'keyfile' })
  }
  const [cert, key, ca] = await Promise.all([
    read('certfile', certfile),
    read('keyfile', keyfile),
    cafile === null ? undefined : read('cafile', cafile),
  ])
  const options: SecureContextOptions = { cert, key, minVersion: TLS_VERSIONS[config.tlsVersion] }
  if (ca !== undefined) options.ca = ca
  if (config.ciphers !== null) options.ciphers = config.ciphers
  try {
    createSecureContext(options)
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err)
    throw new ConfigError('CONFIG_FILE_INVALID',
      `certfile ${certfile}, keyfile ${keyfile}${cafile === null ? '' : `, cafile ${cafile}`} or ciphers are not usable: ${reason}`,
      { key: 'certfile', cause: err })
  }
  return options
}

async function read(key: string, path: string): Promise<Buffer> {
  try {
    return await readFile(path)
  } catch (err) {
    const code = (err as { code?: unknown }).code
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : String(err)
    throw new ConfigError('CONFIG_FILE_UNREADABLE', `cannot read ${key} ${path}: ${reason}`, { key, cause: err })
  }
}
