import { resolve } from 'node:path'
import t from 'tap'
import { checkListeners, defaultConfig, enabledListeners, helpText, type BrokerConfig } from '../../../src/config/index.js'
import { configError, load } from './load-helpers.js'

/*
 * The security settings (docs/security.md): Mosquitto-like names as keys, flags and
 * variables; file paths resolved against the working directory; TLS settings that cannot
 * work together refused before anything starts.
 */

t.test('defaults: no files, TLS off, anonymous access not set (decided by where the broker listens)', async (t) => {
  t.match(defaultConfig, {
    passwordFile: null, aclFile: null, tlsPort: 0, wssPort: 0, certfile: null, keyfile: null, cafile: null,
    tlsVersion: 'tlsv1.2', ciphers: null, requireCertificate: false, useIdentityAsUsername: false,
  })
  t.equal(defaultConfig.allowAnonymous, undefined)
  t.match(helpText(), /--allow-anonymous true\|false\|tcp=false,ws=true\n[^\n]*per listener[^\n]*\n[^\n]*\(tcp, tls, ws, wss\)[^\n]*default not set/,
    '--help shows the boolean and the per-listener forms, and names the listeners')
})

t.test('every setting from flags, with Mosquitto\'s names in camelCase, and paths resolved against the cwd', async (t) => {
  const cwd = t.testdir()
  const { config } = load({
    cwd,
    argv: [
      '--password-file', 'etc/passwd', '--acl-file', '/etc/halyard/acl', '--tls-port', '8883', '--wss-port', '8081',
      '--certfile', 'certs/server.pem', '--keyfile', 'certs/server-key.pem', '--cafile', 'certs/ca.pem',
      '--tls-version', 'tlsv1.3', '--ciphers', 'ECDHE-ECDSA-AES128-GCM-SHA256:TLS_AES_128_GCM_SHA256',
      '--require-certificate', '--use-identity-as-username', '--allow-anonymous', 'false',
    ],
  })
  t.match(config, {
    passwordFile: resolve(cwd, 'etc/passwd'),
    aclFile: '/etc/halyard/acl',
    tlsPort: 8883,
    wssPort: 8081,
    certfile: resolve(cwd, 'certs/server.pem'),
    keyfile: resolve(cwd, 'certs/server-key.pem'),
    cafile: resolve(cwd, 'certs/ca.pem'),
    tlsVersion: 'tlsv1.3',
    ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256:TLS_AES_128_GCM_SHA256',
    requireCertificate: true,
    useIdentityAsUsername: true,
    allowAnonymous: false,
  })
})

t.test('from the environment and a config file (null means none)', async (t) => {
  const cwd = t.testdir({ 'cfg.json': JSON.stringify({ passwordFile: null, aclFile: 'acl', allowAnonymous: true }) })
  const { config } = load({ cwd, argv: ['--config', 'cfg.json'], env: { HALYARD_PASSWORD_FILE: 'pw' } })
  t.equal(config.passwordFile, resolve(cwd, 'pw'), 'the variable beats the file')
  t.equal(config.aclFile, resolve(cwd, 'acl'))
  t.equal(config.allowAnonymous, true)
})

t.test('allowAnonymous per listener: an object in a config file, a list in a flag or variable; a boolean still means every listener', async (t) => {
  const cwd = t.testdir({
    'per.json': JSON.stringify({ allowAnonymous: { tcp: false, ws: true } }),
    'all.json': JSON.stringify({ allowAnonymous: false }),
    'none.json': JSON.stringify({ allowAnonymous: {} }),
  })
  t.same(load({ cwd, argv: ['--config', 'per.json'] }).config.allowAnonymous, { tcp: false, ws: true })
  t.equal(load({ cwd, argv: ['--config', 'all.json'] }).config.allowAnonymous, false)
  t.same(load({ cwd, argv: ['--config', 'none.json'] }).config.allowAnonymous, {}, 'an empty object: no listener set')
  t.same(load({ cwd, env: { HALYARD_ALLOW_ANONYMOUS: 'tcp=false, ws=TRUE' } }).config.allowAnonymous, { tcp: false, ws: true })
  t.same(load({ cwd, argv: ['--allow-anonymous', 'wss=true'] }).config.allowAnonymous, { wss: true })
  t.same(load({ cwd, argv: ['--allow-anonymous', 'TLS=False'] }).config.allowAnonymous, { tls: false }, 'text ignores case, as for other words')
  t.equal(load({ cwd, argv: ['--allow-anonymous', 'true'] }).config.allowAnonymous, true)
  t.equal(load({ cwd, env: { HALYARD_ALLOW_ANONYMOUS: 'false' } }).config.allowAnonymous, false)
  t.same(load({ cwd, argv: ['--config', 'per.json', '--allow-anonymous', 'tls=true'] }).config.allowAnonymous, { tls: true },
    'a later layer replaces the whole setting: what it does not name is not set')
})

t.test('allowAnonymous: an unknown listener, a name given twice or a value not true/false is refused, naming the key and the listeners', async (t) => {
  const cwd = t.testdir({
    'typo.json': JSON.stringify({ allowAnonymous: { tcp: false, websocket: true } }),
    'text.json': JSON.stringify({ allowAnonymous: { ws: 'true' } }),
    'list.json': JSON.stringify({ allowAnonymous: ['ws'] }),
  })
  const allowed = 'expected true or false, or true/false per listener (tcp, tls, ws, wss) such as tcp=false,ws=true ' +
    'on the command line or {"tcp": false, "ws": true} in a config file'
  const typo = configError(() => load({ cwd, argv: ['--config', 'typo.json'] }))
  t.equal(typo.code, 'CONFIG_INVALID_VALUE')
  t.equal(typo.key, 'allowAnonymous')
  t.equal(typo.message, `config: allowAnonymous = {"tcp":false,"websocket":true} (from typo.json): ${allowed}`)
  t.match(configError(() => load({ cwd, argv: ['--config', 'text.json'] })).message, 'allowAnonymous = {"ws":"true"} (from text.json)')
  t.match(configError(() => load({ cwd, argv: ['--config', 'list.json'] })).message, 'allowAnonymous = ["ws"] (from list.json)')
  for (const text of ['tcp=true,mqtt=false', 'tcp=true,tcp=false', 'ws=yes', 'ws', 'ws=', 'ws=true,', '=true', 'ws=true=false']) {
    const err = configError(() => load({ cwd, argv: ['--allow-anonymous', text] }))
    t.equal(err.message, `config: allowAnonymous = ${JSON.stringify(text)} (from --allow-anonymous): ${allowed}`, text)
  }
  const fromEnv = configError(() => load({ cwd, env: { HALYARD_ALLOW_ANONYMOUS: 'ws=on' } }))
  t.match(fromEnv.message, '(from HALYARD_ALLOW_ANONYMOUS)')
})

t.test('an embedder\'s allowAnonymous naming no listener is refused when the broker checks its config', async (t) => {
  const typo = { ws: true, mqtt: true } as unknown as BrokerConfig['allowAnonymous']
  t.throws(() => checkListeners({ ...defaultConfig, allowAnonymous: typo }), {
    code: 'CONFIG_INVALID_VALUE', key: 'allowAnonymous', message: /allowAnonymous = \{"ws":true,"mqtt":true\} \(from the broker's config\): expected .*\(tcp, tls, ws, wss\)/,
  })
  t.doesNotThrow(() => checkListeners({ ...defaultConfig, allowAnonymous: { ws: true } }))
  t.doesNotThrow(() => checkListeners({ ...defaultConfig, allowAnonymous: undefined }))
})

t.test('the listeners a config starts, which the refusal to start is decided for', async (t) => {
  t.same(enabledListeners(defaultConfig), ['tcp'])
  t.same(enabledListeners({ ...defaultConfig, port: -1, wsPort: 9001, tlsPort: -1, wssPort: 8081 }), ['tls', 'ws', 'wss'])
})

t.test('--port=-1 turns plain MQTT off (a TLS-only broker)', async (t) => {
  t.equal(load({ cwd: t.testdir(), argv: ['--port=-1'] }).config.port, -1)
  t.equal(configError(() => load({ cwd: t.testdir(), argv: ['--port=-2'] })).code, 'CONFIG_INVALID_VALUE')
})

t.test('TLS settings that cannot work are refused at load, naming what to set', async (t) => {
  const cwd = t.testdir()
  const noCert = configError(() => load({ cwd, argv: ['--tls-port', '8883'] }))
  t.equal(noCert.code, 'CONFIG_CONFLICT')
  t.equal(noCert.key, 'certfile')
  t.match(noCert.message, 'tlsPort needs a certificate: set certfile and keyfile')
  const noKey = configError(() => load({ cwd, argv: ['--wss-port', '8081', '--certfile', 'c.pem'] }))
  t.equal(noKey.key, 'keyfile')
  const noCa = configError(() => load({ cwd, argv: ['--tls-port', '8883', '--certfile', 'c', '--keyfile', 'k', '--require-certificate'] }))
  t.match(noCa.message, 'requireCertificate needs cafile')
  const identity = configError(() => load({ cwd, argv: ['--use-identity-as-username'] }))
  t.match(identity.message, 'useIdentityAsUsername needs cafile')
  const clash = configError(() => load({ cwd, argv: ['--tls-port', '1883', '--certfile', 'c', '--keyfile', 'k'] }))
  t.match(clash.message, 'port and tlsPort are both 1883: every listener needs its own port')
  const wsClash = configError(() => load({ cwd, argv: ['--ws-port', '9001', '--wss-port', '9001', '--certfile', 'c', '--keyfile', 'k'] }))
  t.match(wsClash.message, 'wsPort and wssPort are both 9001')
})

t.test('the stock and example configs: anonymous only on loopback, the network examples authenticate', async (t) => {
  const repo = resolve(import.meta.dirname, '../../..')
  const stock = load({ cwd: repo, argv: ['--config', 'config/default.json'] }).config
  t.equal(stock.host, '127.0.0.1')
  t.equal(stock.allowAnonymous, undefined, 'not set: anonymous on loopback, a refusal to start on --host 0.0.0.0')
  for (const example of ['config/example-network.json', 'config/example-tls.json']) {
    const config = load({ cwd: repo, argv: ['--config', example] }).config
    t.equal(config.host, '0.0.0.0', example)
    t.equal(config.passwordFile, resolve(repo, 'passwd'), example)
    t.equal(config.aclFile, resolve(repo, 'acl'), example)
    const anonymous = config.allowAnonymous
    t.notOk(anonymous === true || (typeof anonymous === 'object' && Object.values(anonymous).includes(true)),
      `${example} does not open the broker to anonymous clients`)
  }
  const tls = load({ cwd: repo, argv: ['--config', 'config/example-tls.json'] }).config
  t.match(tls, { port: -1, tlsPort: 8883, wssPort: 8081, tlsVersion: 'tlsv1.2' })
})
