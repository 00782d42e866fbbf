import { resolve } from 'node:path'
import t, { type Test } from 'tap'
import { settings } from '../../../src/config/index.js'
import { configError, load } from './load-helpers.js'

const topLevelKeys = [...settings.filter((s) => !s.key.includes('.')).map((s) => s.key), 'limits'].join(', ')

const withFile = (t: Test, content: string): string => t.testdir({ 'cfg.json': content })
const loadFile = (cwd: string) => () => load({ cwd, argv: ['--config', 'cfg.json'] })

t.test('an unknown top-level key is named, with a suggestion and the allowed keys', async (t) => {
  const err = configError(loadFile(withFile(t, '{"prot": 1883}')))
  t.equal(err.code, 'CONFIG_UNKNOWN_KEY')
  t.equal(err.key, 'prot')
  t.equal(err.message, `config: unknown key "prot" in cfg.json (did you mean "port"?); allowed keys: ${topLevelKeys}`)
  t.match(err.message, 'allowed keys: host, port, ')
})

t.test('an unknown key inside limits lists the allowed limits', async (t) => {
  const err = configError(loadFile(withFile(t, '{"limits": {"maxPackteSize": 10}}')))
  t.equal(err.key, 'limits.maxPackteSize')
  t.match(err.message, 'unknown key "limits.maxPackteSize" in cfg.json (did you mean "limits.maxPacketSize"?)')
  t.match(err.message, 'allowed keys in limits: maxPacketSize, maxInflight, receiveMaximum,')
  t.match(err.message, 'maxSessionExpiryInterval')
})

t.test('a limit at the top level (or a top-level key inside limits) is pointed to its place', async (t) => {
  const misplacedLimit = configError(loadFile(withFile(t, '{"maxPacketSize": 10}')))
  t.match(misplacedLimit.message, 'unknown key "maxPacketSize" in cfg.json (did you mean "limits.maxPacketSize"?)')
  const misplacedTop = configError(loadFile(withFile(t, '{"limits": {"port": 1}}')))
  t.match(misplacedTop.message, 'unknown key "limits.port" in cfg.json (did you mean "port"?)')
})

t.test('no suggestion when nothing is close', async (t) => {
  const err = configError(loadFile(withFile(t, '{"flamingo": true}')))
  t.match(err.message, /^config: unknown key "flamingo" in cfg\.json; allowed keys: host,/)
})

t.test('a file that is not a JSON object of settings is refused', async (t) => {
  const invalid = configError(loadFile(withFile(t, '{"port": 1883,}')))
  t.equal(invalid.code, 'CONFIG_FILE_INVALID')
  t.match(invalid.message, /^config: cfg\.json is not valid JSON: /)
  const array = configError(loadFile(withFile(t, '[1, 2]')))
  t.equal(array.message, 'config: cfg.json must hold a JSON object of settings, found [1,2]')
  const limits = configError(loadFile(withFile(t, '{"limits": 5}')))
  t.equal(limits.message, 'config: cfg.json must hold a JSON object under "limits", found 5')
})

t.test('a missing file names both the given and the resolved path', async (t) => {
  const cwd = t.testdir()
  const err = configError(() => load({ cwd, argv: ['--config', 'nope.json'] }))
  t.equal(err.code, 'CONFIG_FILE_UNREADABLE')
  t.equal(err.message, `config: cannot read config file nope.json (${resolve(cwd, 'nope.json')}): no such file`)
})

t.test('an empty object is a valid file: every default stays', async (t) => {
  const { config } = loadFile(withFile(t, '{"limits": {}}'))()
  t.equal(config.port, 1883)
})
