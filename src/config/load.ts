import { resolve } from 'node:path'
import { ConfigError, nearest, type Source } from './errors.js'
import { applyConfigFile } from './file.js'
import { parseFlags, wantsHelp, type Flag } from './flags.js'
import { helpText } from './help.js'
import { checkListeners, fileSettings } from './listeners.js'
import { defaultConfig, type BrokerConfig } from './schema.js'
import { memoryKind, metaOptions, parse, settings, type Setting } from './settings.js'

export interface LoadConfigOptions {
  /** Command-line arguments without node and the script: `process.argv.slice(2)`. */
  argv: readonly string[]
  env: Readonly<Record<string, string | undefined>>
  /** Relative paths (the config file, `dataDir`) are resolved against this directory. */
  cwd: string
}

export interface LoadedConfig {
  config: BrokerConfig
  /** Absolute path of the config file read, if any. */
  configFile?: string
  /** Set when `--help` was asked for: print it and exit; `config` is then the defaults. */
  help?: string
  /** Things worth telling the user that do not stop the broker (an unknown HALYARD_* variable). */
  warnings: string[]
}

/**
 * Builds the broker's configuration from four layers, each overriding the one before:
 * built-in defaults < JSON config file < HALYARD_* environment variables < flags.
 * Every value is validated where it is read, so a mistake is reported against the layer
 * that made it; throws `ConfigError`.
 */
export function loadConfig({ argv, env, cwd }: LoadConfigOptions): LoadedConfig {
  if (wantsHelp(argv)) return { config: structuredClone(defaultConfig), help: helpText(), warnings: [] }
  const flags = parseFlags(argv)
  const config = structuredClone(defaultConfig)

  const configFlag = flags.filter((f) => f.name === metaOptions.config.flag).pop()
  const configPath = typeof configFlag?.value === 'string' ? configFlag.value : nonEmpty(env[metaOptions.config.env])
  const configFile = configPath === undefined ? undefined : resolve(cwd, configPath)
  if (configFile !== undefined && configPath !== undefined) applyConfigFile(config, configFile, configPath)

  applyEnv(config, env)
  applyFlags(config, flags)
  if (config.dataDir !== null) config.dataDir = resolve(cwd, config.dataDir)
  if (config.serveStatic !== null) config.serveStatic = resolve(cwd, config.serveStatic)
  for (const key of fileSettings) {
    const path = config[key]
    if (path !== null) config[key] = resolve(cwd, path)
  }
  if (config.wsPort !== 0 && config.wsPort === config.port) {
    throw new ConfigError('CONFIG_CONFLICT',
      `port and wsPort are both ${config.port}: the TCP and WebSocket listeners need different ports`, { key: 'wsPort' })
  }
  checkListeners(config)
  const warnings = unknownEnv(env)
  return configFile === undefined ? { config, warnings } : { config, configFile, warnings }
}

const PREFIX = 'HALYARD_'
const knownEnv = [...settings.map((s) => s.env), metaOptions.config.env, metaOptions.memory.env]

/**
 * HALYARD_* variables that no setting reads: most likely a typo that would otherwise be
 * silently ignored. A warning rather than an error: other tools may share the prefix.
 */
function unknownEnv(env: LoadConfigOptions['env']): string[] {
  const warnings: string[] = []
  for (const name of Object.keys(env)) {
    if (!name.startsWith(PREFIX) || knownEnv.includes(name)) continue
    const typo = nearest(name.slice(PREFIX.length), knownEnv.map((known) => known.slice(PREFIX.length)))
    const didYouMean = typo === undefined ? '' : ` (did you mean ${PREFIX}${typo}?)`
    warnings.push(`environment variable ${name} is not a Halyard setting and is ignored${didYouMean}; --help lists every variable`)
  }
  return warnings
}

function applyEnv(config: BrokerConfig, env: LoadConfigOptions['env']): void {
  const layer = new DataDirLayer()
  for (const setting of settings) {
    const value = nonEmpty(env[setting.env])
    if (value !== undefined) {
      setting.apply(config, value, { name: setting.env, isText: true })
      layer.saw(setting, setting.env)
    }
  }
  const memory = nonEmpty(env[metaOptions.memory.env])
  const source: Source = { name: metaOptions.memory.env, isText: true }
  if (memory !== undefined && parse(memoryKind, 'dataDir', memory, source)) {
    layer.sawMemory(source.name)
    config.dataDir = null
  }
}

const settingByFlag = new Map<string, Setting>(settings.map((s) => [s.flag, s]))

function applyFlags(config: BrokerConfig, flags: readonly Flag[]): void {
  const layer = new DataDirLayer()
  for (const flag of flags) {
    const negated = flag.name.startsWith('no-') ? settingByFlag.get(flag.name.slice(3)) : undefined
    const setting = settingByFlag.get(flag.name) ?? negated
    const source: Source = { name: flag.shownAs, isText: true }
    if (setting !== undefined) {
      setting.apply(config, negated === undefined ? flag.value : false, source)
      layer.saw(setting, flag.shownAs)
    } else if (flag.name === metaOptions.memory.flag) {
      layer.sawMemory(flag.shownAs)
      config.dataDir = null
    }
  }
}

/** Refuses a directory and "memory only" from the same layer: neither can sensibly win. */
class DataDirLayer {
  #dataDir: string | undefined
  #memory: string | undefined

  saw(setting: Setting, name: string): void {
    if (setting.key === 'dataDir') this.#dataDir = name
    this.#check()
  }

  sawMemory(name: string): void {
    this.#memory = name
    this.#check()
  }

  #check(): void {
    if (this.#dataDir !== undefined && this.#memory !== undefined) {
      throw new ConfigError('CONFIG_CONFLICT',
        `dataDir: ${this.#dataDir} and ${this.#memory} contradict each other; give one of them`, { key: 'dataDir' })
    }
  }
}

const nonEmpty = (value: string | undefined): string | undefined => (value === '' ? undefined : value)
