import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { requireProgram } from './programs.js'

/** PEM file paths, and their contents for MQTT.js's `ca` / `cert` / `key` options. */
export interface TestCerts {
  dir: string
  caFile: string
  ca: Buffer
  serverCertFile: string
  serverKeyFile: string
  /** Signed by the CA, CN=alice. */
  clientCert: Buffer
  clientKey: Buffer
  /** Signed by a CA the broker does not trust, CN=mallory. */
  strangerCert: Buffer
  strangerKey: Buffer
}

/**
 * Makes a throw-away CA, a server certificate for localhost/127.0.0.1 and client certificates
 * with Debian's `openssl`, in `dir` (a test's temp dir; keys are never committed). Returns
 * `{ skip }` when openssl is missing outside CI.
 */
export function makeCerts(dir: string): TestCerts | { skip: string } {
  const openssl = requireProgram('openssl', 'openssl')
  if ('skip' in openssl) return openssl
  const run = (...args: string[]): void => {
    execFileSync(openssl.path, args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] })
  }
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2']
  const leaf = ['-addext', 'basicConstraints=critical,CA:FALSE']
  run('req', '-x509', ...ec, '-keyout', 'ca-key.pem', '-out', 'ca.pem', '-subj', '/CN=Halyard Test CA')
  run('req', '-x509', ...ec, '-keyout', 'other-ca-key.pem', '-out', 'other-ca.pem', '-subj', '/CN=Someone Else CA')
  const server = (name: string): void => run('req', '-x509', ...ec, '-keyout', `${name}-key.pem`, '-out', `${name}.pem`,
    '-subj', '/CN=localhost', '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', ...leaf,
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-addext', 'extendedKeyUsage=serverAuth')
  server('server')
  // A second server certificate, to show a reload taking effect.
  server('server2')
  const client = (name: string, cn: string, ca: string): void => run('req', '-x509', ...ec, '-keyout', `${name}-key.pem`,
    '-out', `${name}.pem`, '-subj', `/CN=${cn}`, '-CA', `${ca}.pem`, '-CAkey', `${ca}-key.pem`, ...leaf,
    '-addext', 'extendedKeyUsage=clientAuth')
  client('client', 'alice', 'ca')
  client('stranger', 'mallory', 'other-ca')
  const read = (name: string): Buffer => readFileSync(join(dir, name))
  return {
    dir,
    caFile: join(dir, 'ca.pem'),
    ca: read('ca.pem'),
    serverCertFile: join(dir, 'server.pem'),
    serverKeyFile: join(dir, 'server-key.pem'),
    clientCert: read('client.pem'),
    clientKey: read('client-key.pem'),
    strangerCert: read('stranger.pem'),
    strangerKey: read('stranger-key.pem'),
  }
}
