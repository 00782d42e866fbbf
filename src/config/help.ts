import { defaultConfig } from './schema.js'
import { metaOptions, settings, type MetaOption, type Setting } from './settings.js'

const COLUMN = 32

/** `--help`, generated from the settings table: every flag, its variable, default and range. */
export function helpText(): string {
  const lines = [
    'Usage: halyard [options]',
    '       halyard passwd [-c | -D] FILE USER    (password files; halyard passwd --help)',
    '',
    'Runs the Halyard MQTT broker (MQTT 3.1.1 and 5.0 over TCP, TLS, WebSocket and secure WebSocket).',
    '',
    'Each setting takes the first of: its flag, its HALYARD_* environment variable, its key in',
    'the --config file, the built-in default shown below. An empty variable counts as unset.',
    '',
    'Options:',
    ...meta(metaOptions.config),
    ...meta(metaOptions.help),
    '',
    'Broker:',
  ]
  for (const setting of settings) {
    if (setting.key === 'limits.maxPacketSize') lines.push('', 'Limits (config file: inside "limits"):')
    lines.push(...describe(setting))
    if (setting.key === 'dataDir') lines.push(...meta(metaOptions.memory))
  }
  return lines.join('\n') + '\n'
}

function describe(setting: Setting): string[] {
  const names = setting.isSwitch
    ? `--${setting.flag}, --no-${setting.flag}`
    : `${setting.short === undefined ? '' : `-${setting.short}, `}--${setting.flag} ${setting.placeholder}`
  const fallback = formatDefault(setting.read(defaultConfig))
  return [
    row(names, setting.help),
    row('', `${setting.expected}; default ${fallback}`),
    row('', `env ${setting.env}, file key ${setting.key}`),
  ]
}

function meta(option: MetaOption): string[] {
  const short = option.short === undefined ? '' : `-${option.short}, `
  const value = option.placeholder === undefined ? '' : ` ${option.placeholder}`
  const lines = [row(`${short}--${option.flag}${value}`, option.help)]
  if (option.env !== undefined) lines.push(row('', `env ${option.env}${option.placeholder === undefined ? '=true' : ''}`))
  return lines
}

function row(left: string, right: string): string {
  const padded = `  ${left}`
  return padded.length < COLUMN ? padded.padEnd(COLUMN) + right : `${padded}\n${' '.repeat(COLUMN)}${right}`
}

function formatDefault(value: unknown): string {
  if (value === undefined) return 'not set'
  if (Array.isArray(value)) return value.length === 0 ? 'none' : value.join(',')
  return value === null ? 'none' : String(value)
}
