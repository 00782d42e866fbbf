import { ConfigError } from './errors.js'
import type { BrokerConfig } from './schema.js'

/** Settings that name files; the loader resolves them against the working directory. */
export const fileSettings = ['passwordFile', 'aclFile', 'certfile', 'keyfile', 'cafile'] as const

/**
 * Checks that the listeners can start as configured: distinct ports, and the files TLS needs.
 * Run by the loader and again by the broker (embedders skip the loader). Throws `ConfigError`.
 */
export function checkListeners(config: BrokerConfig): void {
  const ports: Array<[string, number]> = [
    ['port', config.port], ['wsPort', config.wsPort], ['tlsPort', config.tlsPort], ['wssPort', config.wssPort],
  ]
  for (const [i, [a, portA]] of ports.entries()) {
    for (const [b, portB] of ports.slice(i + 1)) {
      // port and wsPort are checked by the loader with its own message; 0 and -1 never clash.
      if (a === 'port' && b === 'wsPort') continue
      if (portA > 0 && portA === portB) {
        throw new ConfigError('CONFIG_CONFLICT', `${a} and ${b} are both ${portA}: every listener needs its own port`, { key: b })
      }
    }
  }
  const tls = [config.tlsPort !== 0 ? 'tlsPort' : undefined, config.wssPort !== 0 ? 'wssPort' : undefined].filter((k) => k !== undefined)
  if (tls.length > 0 && (config.certfile === null || config.keyfile === null)) {
    const missing = config.certfile === null ? 'certfile' : 'keyfile'
    throw new ConfigError('CONFIG_CONFLICT',
      `${tls.join(' and ')} ${tls.length > 1 ? 'need' : 'needs'} a certificate: set certfile and keyfile (PEM files)`, { key: missing })
  }
  for (const key of ['requireCertificate', 'useIdentityAsUsername'] as const) {
    if (config[key] && config.cafile === null) {
      throw new ConfigError('CONFIG_CONFLICT',
        `${key} needs cafile: the CA certificate(s) that client certificates are checked against`, { key: 'cafile' })
    }
  }
}
