import { parseArgs, type ParseArgsConfig } from 'node:util'
import { ConfigError, nearest } from './errors.js'
import { metaOptions, settings } from './settings.js'

type Options = NonNullable<ParseArgsConfig['options']>

/** One flag as given: `name` is the long name, `shownAs` what the user typed (`-p`, `--port`). */
export interface Flag {
  readonly name: string
  readonly shownAs: string
  /** `true` for a switch, the text otherwise. */
  readonly value: string | true
}

const options: Options = {}
const add = (flag: string, isSwitch: boolean, short: string | undefined): void => {
  // parseArgs rejects `short: undefined`, so the key is left out instead
  options[flag] = { type: isSwitch ? 'boolean' : 'string', ...(short === undefined ? {} : { short }) }
}
for (const option of Object.values(metaOptions)) add(option.flag, option.placeholder === undefined, option.short)
for (const setting of settings) {
  add(setting.flag, setting.isSwitch, setting.short)
  if (setting.isSwitch) add(`no-${setting.flag}`, true, undefined)
}
const longNames = Object.keys(options)

/** True if `--help` or `-h` appears before any `--`, whatever else is wrong with the line. */
export function wantsHelp(argv: readonly string[]): boolean {
  const end = argv.indexOf('--')
  return (end === -1 ? argv : argv.slice(0, end)).some((arg) => arg === '--help' || arg === '-h')
}

/** The flags in the order given, so that a later flag beats an earlier one. */
export function parseFlags(argv: readonly string[]): Flag[] {
  let tokens
  try {
    tokens = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false, tokens: true }).tokens
  } catch (err) {
    throw translate(err)
  }
  const flags: Flag[] = []
  for (const token of tokens) {
    if (token.kind === 'option') flags.push({ name: token.name, shownAs: token.rawName, value: token.value ?? true })
  }
  return flags
}

const SEE_HELP = 'run halyard --help to see every flag'

/** Turns `parseArgs`' TypeErrors into `ConfigError`s that point at `--help`. */
function translate(err: unknown): unknown {
  if (!(err instanceof Error) || !('code' in err)) return err
  const firstLine = err.message.split('\n')[0] ?? err.message
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION': {
      const given = /'(-[^']*)'/.exec(firstLine)?.[1] ?? firstLine
      const typo = given.startsWith('--') ? nearest(given.slice(2).split('=')[0] ?? '', longNames) : undefined
      const didYouMean = typo === undefined ? '' : ` (did you mean --${typo}?)`
      return new ConfigError('CONFIG_UNKNOWN_FLAG', `unknown flag ${given}${didYouMean}; ${SEE_HELP}`, { key: given, cause: err })
    }
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return new ConfigError('CONFIG_BAD_ARGUMENTS', `${firstLine.replace(/\.$/, '')}; ${SEE_HELP}`, { cause: err })
    default:
      return err
  }
}
