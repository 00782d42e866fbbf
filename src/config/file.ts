import { readFileSync } from 'node:fs'
import { ConfigError, nearest, type Source } from './errors.js'
import type { BrokerConfig } from './schema.js'
import { fileKeys, settings, type Setting } from './settings.js'

const byKey = new Map<string, Setting>(settings.map((s) => [s.key, s]))

/**
 * Reads a JSON config file and applies every key in it to `config`. `shownAs` is the path as
 * the user gave it, which is what error messages quote.
 */
export function applyConfigFile(config: BrokerConfig, path: string, shownAs: string): void {
  const source: Source = { name: shownAs, isText: false }
  const json = readJson(path, shownAs)
  for (const [key, value] of entries(json, shownAs, 'a JSON object of settings')) {
    if (key === 'limits') {
      for (const [limitKey, limitValue] of entries(value, shownAs, 'a JSON object under "limits"')) {
        applyKey(config, `limits.${limitKey}`, limitValue, source)
      }
    } else {
      applyKey(config, key, value, source)
    }
  }
}

function readJson(path: string, shownAs: string): unknown {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    const where = path === shownAs ? path : `${shownAs} (${path})`
    const reason = errorCode(err) === 'ENOENT' ? 'no such file' : String(err)
    throw new ConfigError('CONFIG_FILE_UNREADABLE', `cannot read config file ${where}: ${reason}`, { cause: err })
  }
  try {
    return JSON.parse(text) as unknown
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err)
    throw new ConfigError('CONFIG_FILE_INVALID', `${shownAs} is not valid JSON: ${reason}`, { cause: err })
  }
}

function entries(value: unknown, shownAs: string, what: string): [string, unknown][] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigError('CONFIG_FILE_INVALID', `${shownAs} must hold ${what}, found ${JSON.stringify(value)}`)
  }
  return Object.entries(value)
}

function applyKey(config: BrokerConfig, key: string, value: unknown, source: Source): void {
  const setting = byKey.get(key)
  if (setting === undefined) throw unknownKey(key, source.name)
  setting.apply(config, value, source)
}

function unknownKey(key: string, shownAs: string): ConfigError {
  const inLimits = key.startsWith('limits.')
  const leaf = inLimits ? key.slice('limits.'.length) : key
  const here = inLimits ? fileKeys.limits : fileKeys.top
  // a limit written at the top level (or the reverse) is the likeliest mistake; then typos
  const elsewhere = settings.find((s) => s.key !== key && s.key.split('.').pop() === leaf)?.key
  const typo = nearest(leaf, here)
  const suggestion = elsewhere ?? (typo === undefined ? undefined : inLimits ? `limits.${typo}` : typo)
  const didYouMean = suggestion === undefined ? '' : ` (did you mean "${suggestion}"?)`
  const allowed = `allowed keys${inLimits ? ' in limits' : ''}: ${here.join(', ')}`
  return new ConfigError('CONFIG_UNKNOWN_KEY', `unknown key "${key}" in ${shownAs}${didYouMean}; ${allowed}`, { key })
}

function errorCode(err: unknown): unknown {
  return typeof err === 'object' && err !== null && 'code' in err ? err.code : undefined
}
