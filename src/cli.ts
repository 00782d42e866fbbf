#!/usr/bin/env node
/**
 * The `halyard` command: load the configuration, start the broker, stop it on a signal.
 *
 * Exit codes: 0 after `--help` or a clean shutdown, 1 when the broker cannot start or stop
 * (with one line saying what to do), 2 for a bad configuration or command line.
 */
import type { Logger } from 'pino'
import type { createBroker } from './broker.js'
import { isConfigError, loadConfig, settings, type BrokerConfig, type ListenerName } from './config/index.js'
import { createLogger } from './logger.js'

type Broker = Awaited<ReturnType<typeof createBroker>>
type Address = { host: string; port: number }

const EXIT_FAILURE = 1
const EXIT_USAGE = 2

async function main(): Promise<void> {
  if (process.argv[2] === 'passwd') {
    // `halyard passwd`: Mosquitto-format password files (src/auth/passwd-command.ts).
    const { runPasswd } = await import('./auth/passwd-command.js')
    process.exitCode = await runPasswd(process.argv.slice(3), process)
    return
  }
  let loaded
  try {
    loaded = loadConfig({ argv: process.argv.slice(2), env: process.env, cwd: process.cwd() })
  } catch (err) {
    if (!isConfigError(err)) throw err
    process.stderr.write(`halyard: ${err.message}\n`)
    process.exitCode = EXIT_USAGE
    return
  }
  if (loaded.help !== undefined) {
    process.stdout.write(loaded.help)
    return
  }
  const { config, configFile } = loaded
  const log = createLogger(config.logLevel)
  log.info({ configFile, dataDir: config.dataDir ?? 'memory only' }, 'starting halyard')
  for (const warning of loaded.warnings) log.warn(warning)

  let broker: Broker | undefined
  // Some listener errors arrive as 'error' events rather than rejections; during startup
  // they get the same one-line explanation instead of a stack trace.
  const onCrash = (err: unknown): void => void failStartup(err, config, log, broker)
  process.on('uncaughtException', onCrash)
  try {
    // Loaded only now so that --help and config errors answer without opening the store.
    const { createBroker } = await import('./broker.js')
    broker = await createBroker({ config, logger: log })
    stopOnSignals(broker, log)
    reloadOnHangup(broker, log)
    await broker.listen()
  } catch (err) {
    return failStartup(err, config, log, broker)
  }
  process.off('uncaughtException', onCrash)
  logListening(broker.addresses(), config, log)
}

let isFailing = false

/** Says what went wrong (in one line when the user can fix it), closes what started, exits 1. */
async function failStartup(err: unknown, config: BrokerConfig, log: Logger, broker: Broker | undefined): Promise<void> {
  if (isFailing) return
  isFailing = true
  const advice = explainStartupError(err, config)
  if (advice === undefined) log.error({ err }, 'startup failed')
  process.stderr.write(`halyard: ${advice ?? `could not start: ${String(err)}`}\n`)
  setTimeout(() => process.exit(EXIT_FAILURE), 5000).unref()
  await broker?.close().catch(() => undefined)
  process.exit(EXIT_FAILURE)
}

/** SIGINT/SIGTERM close the broker and exit 0; a second signal while closing exits 1 at once. */
function stopOnSignals(broker: Broker, log: Logger): void {
  let isStopping = false
  const stop = async (signal: NodeJS.Signals): Promise<void> => {
    if (isStopping) {
      log.warn({ signal }, 'second signal: exiting without finishing the shutdown')
      process.exit(EXIT_FAILURE)
    }
    isStopping = true
    log.info({ signal }, 'shutting down')
    try {
      await broker.close()
      log.info('stopped')
      exitWhenLogged(0)
    } catch (err) {
      log.error({ err }, 'shutdown failed')
      exitWhenLogged(EXIT_FAILURE)
    }
  }
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, (s) => void stop(s))
}

/**
 * Exits with `code` once pino's last lines are written: the event loop ends by itself when
 * they are, and a handle left open is not waited for beyond a second. `process.exit()` at
 * once would leave those lines to pino's exit-time flushSync, which retries forever when
 * stdout is a pipe nobody reads any more (EPIPE: `halyard | head`, a log collector that died),
 * and SIGTERM would never end the process.
 */
function exitWhenLogged(code: number): void {
  process.exitCode = code
  setTimeout(() => process.exit(code), 1000).unref()
}

/** SIGHUP re-reads the password file, ACL file and TLS certificate; connections stay up. */
function reloadOnHangup(broker: Broker, log: Logger): void {
  process.on('SIGHUP', () => {
    log.info('SIGHUP: reloading security files')
    broker.reload().catch((err: unknown) => log.error({ err }, 'reload failed'))
  })
}

function logListening(addresses: ReturnType<Broker['addresses']>, config: BrokerConfig, log: Logger): void {
  const urls = Object.entries(addresses).flatMap(([name, address]: [string, Address | undefined]) => {
    if (address === undefined) return []
    const path = name === 'ws' || name === 'wss' ? config.wsPath : ''
    return [`${urlSchemes[name] ?? name}://${hostPort(address)}${path}`]
  })
  log.info({ ...addresses }, `listening on ${urls.join(' and ')}`)
  const { allowAnonymous, host } = config
  const anonymous = (Object.keys(addresses) as ListenerName[])
    .filter((name) => (typeof allowAnonymous === 'object' ? allowAnonymous[name] : allowAnonymous) === true)
  if (anonymous.length > 0 && !['127.0.0.1', '::1', 'localhost'].includes(host)) {
    log.warn(`listening on ${host} with allowAnonymous on ${anonymous.join(', ')}: anyone who can reach this machine can connect there`)
  }
}

const urlSchemes: Record<string, string> = { tcp: 'mqtt', tls: 'mqtts', ws: 'ws', wss: 'wss' }
const hostPort = ({ host, port }: Address): string => `${host.includes(':') ? `[${host}]` : host}:${port}`

/** The flag that sets the listener on `port`, from the settings table (`--ws-port`, ...). */
function portFlag(port: number, config: BrokerConfig): string {
  const setting = settings.find((s) => s.placeholder === 'PORT' && s.read(config) === port)
  return `--${setting?.flag ?? 'port'}`
}

/** One line telling the user what to do about a failure they can fix; undefined for bugs. */
function explainStartupError(err: unknown, config: BrokerConfig): string | undefined {
  for (let e = err; typeof e === 'object' && e !== null; e = (e as { cause?: unknown }).cause) {
    const { code, port, syscall, path } = e as { code?: unknown; port?: unknown; syscall?: unknown; path?: unknown }
    const portNumber = typeof port === 'number' ? port : config.port
    const flag = portFlag(portNumber, config)
    switch (code) {
      case 'EADDRINUSE':
        return `port ${portNumber} is in use: stop the other broker or pass ${flag}`
      case 'EACCES':
        if (syscall === 'listen') {
          return `not allowed to listen on port ${portNumber}: ports below 1024 need root or CAP_NET_BIND_SERVICE; pass ${flag} with a higher port`
        }
        return `no permission to write ${typeof path === 'string' ? path : config.dataDir}: pass --data-dir with a writable directory, or --memory`
      case 'EADDRNOTAVAIL':
        return `${config.host} is not an address of this machine: pass --host with one of its addresses, or 0.0.0.0 for all`
      case 'ENOTFOUND':
        return `host name ${config.host} does not resolve: pass --host with an address`
      case 'LEVEL_LOCKED':
        return `data directory ${config.dataDir} is in use by another process: stop it, or pass --data-dir or --memory`
      case 'CONFIG_INSECURE':
      case 'CONFIG_CONFLICT':
      case 'CONFIG_FILE_UNREADABLE':
      case 'CONFIG_FILE_INVALID':
      case 'AUTH_FILE_UNREADABLE':
      case 'AUTH_PASSWORD_FILE_INVALID':
      case 'AUTH_ACL_FILE_INVALID':
        // Security files and TLS certificates are checked at start; their messages name the fix.
        return (e as Error).message
    }
  }
  return undefined
}

main().catch((err: unknown) => {
  process.stderr.write(`halyard: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
  process.exit(EXIT_FAILURE)
})
