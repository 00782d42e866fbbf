import t from 'tap'
import { defaultConfig, helpText, metaOptions, settings } from '../../../src/config/index.js'
import { configError, load } from './load-helpers.js'

t.test('an unknown flag is named, with a suggestion and a pointer to --help', async (t) => {
  const err = configError(() => load({ cwd: t.testdir(), argv: ['--prot', '1883'] }))
  t.equal(err.code, 'CONFIG_UNKNOWN_FLAG')
  t.equal(err.message, 'config: unknown flag --prot (did you mean --port?); run halyard --help to see every flag')
  const far = configError(() => load({ cwd: t.testdir(), argv: ['--verbose'] }))
  t.equal(far.message, 'config: unknown flag --verbose; run halyard --help to see every flag')
  const short = configError(() => load({ cwd: t.testdir(), argv: ['-x'] }))
  t.match(short.message, 'unknown flag -x; run halyard --help')
})

t.test('a positional argument, a missing value or a value for a switch points at --help', async (t) => {
  const cwd = t.testdir()
  for (const argv of [['start'], ['--port'], ['--sync-writes=true'], ['--memory=yes']]) {
    const err = configError(() => load({ cwd, argv }))
    t.equal(err.code, 'CONFIG_BAD_ARGUMENTS', argv.join(' '))
    t.match(err.message, /; run halyard --help to see every flag$/)
    t.notMatch(err.message, '\n', 'one line')
  }
})

t.test('--help and -h return the help text and the defaults, whatever else is on the line', async (t) => {
  for (const argv of [['--help'], ['-h'], ['--bogus', '--port', 'abc', '--help']]) {
    const { help, config } = load({ cwd: t.testdir(), argv })
    t.equal(help, helpText(), argv.join(' '))
    t.equal(config.port, defaultConfig.port)
  }
  t.throws(() => load({ cwd: t.testdir(), argv: ['--', '--help'] }), { code: 'CONFIG_BAD_ARGUMENTS' },
    'after -- it is an argument, and halyard takes none')
})

t.test('--help lists every flag with its env variable, file key, default and range', async (t) => {
  const help = helpText()
  for (const s of settings) {
    const line = help.indexOf(`--${s.flag}`)
    t.ok(line >= 0, `--${s.flag} is listed`)
    // the three lines describing one setting: flag + help, range + default, env + key
    const block = help.slice(line).split('\n').slice(0, 4).join('\n')
    t.match(block, `env ${s.env}, file key ${s.key}`, `${s.flag}: env and key`)
    t.match(block, `${s.expected}; default `, `${s.flag}: range and default`)
    if (s.isSwitch) t.match(block, `--no-${s.flag}`)
  }
  for (const option of Object.values(metaOptions)) {
    t.match(help, `--${option.flag}`)
    if (option.env !== undefined) t.match(help, `env ${option.env}`)
  }
  t.match(help, 'default 1883')
  t.match(help, 'default ./data')
  t.match(help, '-p, --port PORT')
  t.match(help, '-c, --config FILE')
})

t.test('environment names and flags are derived from the keys', async (t) => {
  const byKey = new Map(settings.map((s) => [s.key, s]))
  t.match(byKey.get('limits.maxPacketSize'), { flag: 'max-packet-size', env: 'HALYARD_MAX_PACKET_SIZE' })
  t.match(byKey.get('wsPort'), { flag: 'ws-port', env: 'HALYARD_WS_PORT' })
  t.match(byKey.get('limits.connectTimeout'), { flag: 'connect-timeout', env: 'HALYARD_CONNECT_TIMEOUT' })
  t.match(byKey.get('allowAnonymous'), { flag: 'allow-anonymous', env: 'HALYARD_ALLOW_ANONYMOUS' })
  const flags = settings.map((s) => s.flag)
  t.equal(new Set(flags).size, flags.length, 'no two settings share a flag')
})
