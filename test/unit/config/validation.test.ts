import t from 'tap'
import { settings } from '../../../src/config/index.js'
import { configError, load } from './load-helpers.js'

/**
 * Values no setting should accept: as text, "abc" is no integer, boolean or level, and
 * surrounding white space is refused by every string kind; as JSON, an object fits nothing.
 * Generic on purpose, so settings added to the table are covered without touching this file.
 */
const badTexts = ['abc', ' two words ']
const badJson = { nested: true }

for (const setting of settings) {
  t.test(`${setting.key}: every source's error names key, value, source and what is allowed`, async (t) => {
    const cwd = t.testdir({ 'bad.json': JSON.stringify(nest(setting.key, badJson)) })
    const expected = (shown: string, from: string): string =>
      `config: ${setting.key} = ${shown} (from ${from}): expected ${setting.expected}`

    const fromFile = configError(() => load({ cwd, argv: ['--config', 'bad.json'] }))
    t.equal(fromFile.message, expected(JSON.stringify(badJson), 'bad.json'))
    t.equal(fromFile.code, 'CONFIG_INVALID_VALUE')
    t.equal(fromFile.key, setting.key)

    const text = badTexts.find((candidate) => isRejected(cwd, setting.env, candidate))
    if (text === undefined) return t.fail(`${setting.env} accepts every one of ${JSON.stringify(badTexts)}`)
    const fromEnv = configError(() => load({ cwd, env: { [setting.env]: text } }))
    t.equal(fromEnv.message, expected(JSON.stringify(text), setting.env))

    if (!setting.isSwitch) {
      const fromFlag = configError(() => load({ cwd, argv: [`--${setting.flag}=${text}`] }))
      t.equal(fromFlag.message, expected(JSON.stringify(text), `--${setting.flag}`))
    }
  })
}

function isRejected(cwd: string, env: string, text: string): boolean {
  try {
    load({ cwd, env: { [env]: text } })
    return false
  } catch (err) {
    return err instanceof Error && 'code' in err && err.code === 'CONFIG_INVALID_VALUE'
  }
}

t.test('the message reads exactly as documented', async (t) => {
  const err = configError(() => load({ cwd: t.testdir(), argv: ['--max-packet-size', 'abc'] }))
  t.equal(err.message, 'config: limits.maxPacketSize = "abc" (from --max-packet-size): expected an integer from 1 to 268435455')
  t.equal(err.name, 'ConfigError')
  const short = configError(() => load({ cwd: t.testdir(), argv: ['-p', '70000'] }))
  t.equal(short.message, `config: port = "70000" (from -p): expected ${expectedFor('port')}`, 'a short flag is named as typed')
})

/** Ranges the broker relies on; checked at both ends from the environment. */
const ranges: [key: string, env: string, min: number, max: number][] = [
  ['wsPort', 'HALYARD_WS_PORT', 0, 65535],
  ['limits.maxPacketSize', 'HALYARD_MAX_PACKET_SIZE', 1, 268435455],
  ['limits.receiveMaximum', 'HALYARD_RECEIVE_MAXIMUM', 1, 65535],
  ['limits.maxInflight', 'HALYARD_MAX_INFLIGHT', 1, 65535],
  ['limits.topicAliasMaximum', 'HALYARD_TOPIC_ALIAS_MAXIMUM', 0, 65535],
  ['limits.maxKeepalive', 'HALYARD_MAX_KEEPALIVE', 0, 65535],
  ['limits.maxTopicLength', 'HALYARD_MAX_TOPIC_LENGTH', 1, 65535],
  ['limits.maxClientIdLength', 'HALYARD_MAX_CLIENT_ID_LENGTH', 23, 65535],
  // The trie walk recurses once per level (src/config/settings.ts MAX_TOPIC_LEVELS).
  ['limits.maxTopicLevels', 'HALYARD_MAX_TOPIC_LEVELS', 1, 1024],
  ['limits.maxSessionExpiryInterval', 'HALYARD_MAX_SESSION_EXPIRY_INTERVAL', 0, 4294967295],
  ['limits.connectTimeout', 'HALYARD_CONNECT_TIMEOUT', 1, 2147483647],
  ['limits.maxConnectionsPerListener', 'HALYARD_MAX_CONNECTIONS_PER_LISTENER', 0, 2147483647],
  ['limits.maxConnectionRate', 'HALYARD_MAX_CONNECTION_RATE', 0, 2147483647],
  ['limits.maxPublishRate', 'HALYARD_MAX_PUBLISH_RATE', 0, 2147483647],
  ['limits.maxPublishByteRate', 'HALYARD_MAX_PUBLISH_BYTE_RATE', 0, 2147483647],
  ['limits.maxClientBufferBytes', 'HALYARD_MAX_CLIENT_BUFFER_BYTES', 1, Number.MAX_SAFE_INTEGER],
  ['limits.slowClientTimeout', 'HALYARD_SLOW_CLIENT_TIMEOUT', 1, 2147483647],
]

for (const [key, env, min, max] of ranges) {
  t.test(`${key} accepts ${min}..${max} and nothing outside`, async (t) => {
    const cwd = t.testdir()
    const read = (text: string): unknown => {
      const { config } = load({ cwd, env: { [env]: text } })
      return key.startsWith('limits.') ? config.limits[key.slice(7) as keyof typeof config.limits] : config[key as 'port']
    }
    t.equal(read(String(min)), min)
    t.equal(read(String(max)), max)
    for (const outside of [min - 1, max + 1]) {
      const err = configError(() => read(String(outside)))
      t.match(err.message, `expected an integer from ${min} to ${max}`)
    }
  })
}

t.test('port accepts up to 65535 and 0 (a free port)', async (t) => {
  const cwd = t.testdir()
  t.equal(load({ cwd, env: { HALYARD_PORT: '65535' } }).config.port, 65535)
  t.equal(load({ cwd, env: { HALYARD_PORT: '0' } }).config.port, 0)
  for (const outside of ['65536', '-2']) {
    t.throws(() => load({ cwd, env: { HALYARD_PORT: outside } }), { code: 'CONFIG_INVALID_VALUE' }, outside)
  }
})

t.test('integers must be plain decimal integers', async (t) => {
  const cwd = t.testdir()
  for (const text of ['1.5', '1e3', '0x10', '', '12abc', 'Infinity']) {
    t.throws(() => load({ cwd, argv: ['--port', text] }), { code: 'CONFIG_INVALID_VALUE' }, JSON.stringify(text))
  }
  t.equal(load({ cwd, argv: ['--port', '08'] }).config.port, 8, 'leading zeros are still decimal')
})

t.test('a Kubernetes service-link value in HALYARD_PORT gets a hint', async (t) => {
  const err = configError(() => load({ cwd: t.testdir(), env: { HALYARD_PORT: 'tcp://10.96.0.12:1883' } }))
  t.match(err.message, `port = "tcp://10.96.0.12:1883" (from HALYARD_PORT): expected ${expectedFor('port')}`)
  t.match(err.message, 'enableServiceLinks: false')
})

t.test('a huge bad value is clipped in the message', async (t) => {
  const err = configError(() => load({ cwd: t.testdir(), argv: ['--port', 'x'.repeat(500)] }))
  t.ok(err.message.length < 200)
  t.match(err.message, 'xxx... (from --port)')
})

function expectedFor(key: string): string {
  return settings.find((s) => s.key === key)?.expected ?? `no setting ${key}`
}

function nest(key: string, value: unknown): Record<string, unknown> {
  const [top, leaf] = key.split('.')
  return leaf === undefined ? { [key]: value } : { [top ?? '']: { [leaf]: value } }
}
