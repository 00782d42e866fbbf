import { ConfigError } from './errors.js'
import type { BrokerConfig, ListenerName } from './schema.js'
import { anonymousKind, parse } from './settings.js'

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
  // The loader has parsed it already; an embedder's object (plain JavaScript, or a cast) has
  // not, and a misspelt listener name must not quietly leave that listener unset.
  if (config.allowAnonymous !== undefined) {
    parse(anonymousKind, 'allowAnonymous', config.allowAnonymous, { name: 'the broker\'s config', isText: false })
  }
  for (const key of ['requireCertificate', 'useIdentityAsUsername'] as const) {
    if (config[key] && config.cafile === null) {
      throw new ConfigError('CONFIG_CONFLICT',
        `${key} needs cafile: the CA certificate(s) that client certificates are checked against`, { key: 'cafile' })
    }
  }
}

/** The listeners this config starts (the broker's own test: a negative `port`, a zero other port, is off). */
export function enabledListeners(config: BrokerConfig): ListenerName[] {
  const isOn: Record<ListenerName, boolean> = {
    tcp: config.port >= 0, tls: config.tlsPort !== 0, ws: config.wsPort !== 0, wss: config.wssPort !== 0,
  }
  return (Object.keys(isOn) as ListenerName[]).filter((name) => isOn[name])
}
