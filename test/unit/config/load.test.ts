import { resolve } from 'node:path'
import t from 'tap'
import { defaultConfig } from '../../../src/config/index.js'
import { configError, load } from './load-helpers.js'

const file = (settings: unknown): string => JSON.stringify(settings)

t.test('no file, no environment, no flags gives the defaults with dataDir resolved', async (t) => {
  const cwd = t.testdir()
  const { config, configFile, help } = load({ cwd })
  t.same(config, { ...defaultConfig, dataDir: resolve(cwd, 'data') })
  t.equal(configFile, undefined)
  t.equal(help, undefined)
  t.equal(defaultConfig.dataDir, './data', 'the shared defaults are not mutated')
})

t.test('precedence: defaults < file < environment < flags', async (t) => {
  const cwd = t.testdir({
    'halyard.json': file({ host: '10.0.0.1', port: 1001, logLevel: 'warn', limits: { maxInflight: 7, maxPacketSize: 500 } }),
  })
  const argv = ['--config', 'halyard.json', '--port', '3003', '--max-inflight', '9']
  const env = { HALYARD_PORT: '2002', HALYARD_LOG_LEVEL: 'debug', HALYARD_MAX_INFLIGHT: '8' }
  const { config, configFile } = load({ argv, env, cwd })
  t.equal(configFile, resolve(cwd, 'halyard.json'))
  t.equal(config.host, '10.0.0.1', 'file beats default')
  t.equal(config.limits.maxPacketSize, 500, 'file beats default inside limits')
  t.equal(config.logLevel, 'debug', 'environment beats file')
  t.equal(config.port, 3003, 'flag beats environment and file')
  t.equal(config.limits.maxInflight, 9, 'limit flag beats limit env beats limit in file')
  t.equal(config.limits.receiveMaximum, defaultConfig.limits.receiveMaximum, 'untouched limits keep defaults')
})

t.test('every setting can be set from the environment and from its flag', async (t) => {
  const cwd = t.testdir()
  const { config: fromEnv } = load({
    cwd,
    env: {
      HALYARD_HOST: '::', HALYARD_PORT: '0', HALYARD_WS_PORT: '9001', HALYARD_WS_PATH: '/ws',
      HALYARD_DATA_DIR: 'state', HALYARD_SYNC_WRITES: 'true', HALYARD_LOG_LEVEL: 'TRACE',
      HALYARD_ALLOW_ANONYMOUS: 'false', HALYARD_MAX_PACKET_SIZE: '268435455', HALYARD_CONNECT_TIMEOUT: '1',
      HALYARD_TOPIC_ALIAS_MAXIMUM: '0', HALYARD_MAX_SESSION_EXPIRY_INTERVAL: '4294967295',
    },
  })
  t.match(fromEnv, {
    host: '::', port: 0, wsPort: 9001, wsPath: '/ws', dataDir: resolve(cwd, 'state'), syncWrites: true,
    logLevel: 'trace', allowAnonymous: false,
    limits: { maxPacketSize: 268435455, connectTimeout: 1, topicAliasMaximum: 0, maxSessionExpiryInterval: 0xffffffff },
  })
  const { config: fromFlags } = load({
    cwd,
    argv: [
      '--host', '0.0.0.0', '-p', '1884', '--ws-port=9002', '--ws-path', '/mqtt2', '--data-dir', '/var/lib/halyard',
      '--sync-writes', '--log-level', 'silent', '--allow-anonymous', 'false', '--max-keepalive', '0',
      '--receive-maximum', '65535', '--max-client-id-length', '23',
    ],
  })
  t.match(fromFlags, {
    host: '0.0.0.0', port: 1884, wsPort: 9002, wsPath: '/mqtt2', dataDir: '/var/lib/halyard', syncWrites: true,
    logLevel: 'silent', allowAnonymous: false, limits: { maxKeepalive: 0, receiveMaximum: 65535, maxClientIdLength: 23 },
  })
})

t.test('a switch can be turned off again by its --no- form, and the last flag wins', async (t) => {
  const cwd = t.testdir({ 'on.json': file({ syncWrites: true }) })
  t.equal(load({ cwd, argv: ['-c', 'on.json', '--no-sync-writes'] }).config.syncWrites, false)
  t.equal(load({ cwd, argv: ['--no-sync-writes', '--sync-writes'] }).config.syncWrites, true)
  t.equal(load({ cwd, argv: ['--port', '1', '--port', '2'] }).config.port, 2)
})

t.test('an empty environment variable counts as unset', async (t) => {
  const cwd = t.testdir()
  const { config } = load({ cwd, env: { HALYARD_PORT: '', HALYARD_CONFIG: '', HALYARD_MEMORY: '' } })
  t.equal(config.port, defaultConfig.port)
  t.equal(config.dataDir, resolve(cwd, 'data'))
})

t.test('HALYARD_CONFIG names the file; --config beats it', async (t) => {
  const cwd = t.testdir({ 'a.json': file({ port: 1111 }), 'b.json': file({ port: 2222 }) })
  t.equal(load({ cwd, env: { HALYARD_CONFIG: 'a.json' } }).config.port, 1111)
  const both = load({ cwd, env: { HALYARD_CONFIG: 'a.json' }, argv: ['--config', 'b.json'] })
  t.equal(both.config.port, 2222)
  t.equal(both.configFile, resolve(cwd, 'b.json'))
})

t.test('the config file path is relative to cwd, and so is dataDir (not to the file)', async (t) => {
  const cwd = t.testdir({ etc: { 'halyard.json': file({ dataDir: 'store/level' }) } })
  const { config, configFile } = load({ cwd, argv: ['--config', 'etc/halyard.json'] })
  t.equal(configFile, resolve(cwd, 'etc/halyard.json'))
  t.equal(config.dataDir, resolve(cwd, 'store/level'))
  t.equal(load({ cwd, argv: ['--data-dir', '../x'] }).config.dataDir, resolve(cwd, '../x'))
  t.equal(load({ cwd, argv: ['--data-dir', '/abs/dir'] }).config.dataDir, '/abs/dir', 'absolute paths are kept')
})

t.test('--memory, HALYARD_MEMORY and dataDir: null keep everything in memory', async (t) => {
  const cwd = t.testdir({ 'mem.json': file({ dataDir: null }), 'disk.json': file({ dataDir: 'disk' }) })
  t.equal(load({ cwd, argv: ['--memory'] }).config.dataDir, null)
  t.equal(load({ cwd, env: { HALYARD_MEMORY: 'true' } }).config.dataDir, null)
  t.equal(load({ cwd, env: { HALYARD_MEMORY: 'false' } }).config.dataDir, resolve(cwd, 'data'))
  t.equal(load({ cwd, argv: ['-c', 'mem.json'] }).config.dataDir, null)
  t.equal(load({ cwd, argv: ['-c', 'disk.json', '--memory'] }).config.dataDir, null, '--memory beats the file')
  t.equal(load({ cwd, env: { HALYARD_MEMORY: 'true' }, argv: ['--data-dir', 'd'] }).config.dataDir, resolve(cwd, 'd'),
    '--data-dir beats HALYARD_MEMORY')
  t.equal(load({ cwd, env: { HALYARD_DATA_DIR: 'e' }, argv: ['--memory'] }).config.dataDir, null,
    '--memory beats HALYARD_DATA_DIR')
})

t.test('--memory and --data-dir together are refused', async (t) => {
  const cwd = t.testdir()
  const flags = configError(() => load({ cwd, argv: ['--data-dir', 'x', '--memory'] }))
  t.equal(flags.code, 'CONFIG_CONFLICT')
  t.match(flags.message, /^config: dataDir: --data-dir and --memory contradict each other/)
  const env = configError(() => load({ cwd, env: { HALYARD_DATA_DIR: 'x', HALYARD_MEMORY: 'true' } }))
  t.match(env.message, /HALYARD_DATA_DIR and HALYARD_MEMORY contradict each other/)
})

t.test('the TCP and WebSocket listeners cannot share a port', async (t) => {
  const err = configError(() => load({ cwd: t.testdir(), argv: ['--port', '8080', '--ws-port', '8080'] }))
  t.equal(err.code, 'CONFIG_CONFLICT')
  t.match(err.message, 'port and wsPort are both 8080')
  t.equal(load({ cwd: t.testdir(), argv: ['--port', '0', '--ws-port', '0'] }).config.wsPort, 0, 'both 0 is fine')
})

t.test('the stock config files load and say what the README promises', async (t) => {
  const repo = resolve(import.meta.dirname, '../../..')
  const stock = load({ cwd: repo, argv: ['--config', 'config/default.json'] }).config
  t.match(stock, { host: '127.0.0.1', port: 1883, wsPort: 8080, dataDir: resolve(repo, 'data'), logLevel: 'info' })
  t.not(stock.allowAnonymous, false, 'anonymous clients may connect on loopback')
  const network = load({ cwd: repo, argv: ['--config', 'config/example-network.json'] }).config
  t.equal(network.host, '0.0.0.0')
})

t.test('an unknown HALYARD_* variable is reported as a warning with the likely name, and changes nothing', async (t) => {
  const cwd = t.testdir()
  const env = { HALYARD_PROT: '2002', HALYARD_MAX_INFLIGHT: '8', HALYARD_SOMETHING_ELSE: 'x', OTHER_PORT: '1' }
  const { config, warnings } = load({ env, cwd })
  t.equal(config.port, defaultConfig.port, 'the misspelt variable sets nothing')
  t.equal(config.limits.maxInflight, 8, 'the known one still applies')
  t.same(warnings, [
    'environment variable HALYARD_PROT is not a Halyard setting and is ignored (did you mean HALYARD_PORT?); --help lists every variable',
    'environment variable HALYARD_SOMETHING_ELSE is not a Halyard setting and is ignored; --help lists every variable',
  ])
  t.same(load({ env: { HALYARD_PORT: '2002' }, cwd }).warnings, [], 'no warning when every variable is known')
})
