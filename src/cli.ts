#!/usr/bin/env node
/**
 * The `halyard` command: load the configuration, start the broker, stop it on a signal.
 *
 * Exit codes: 0 after `--help` or a clean shutdown, 1 when the broker cannot start or stop
 * (with one line saying what to do), 2 for a bad configuration or command line.
 */
import type { Logger } from 'pino'
import type { createBroker } from './broker.js'
import { isConfigError, loadConfig, type BrokerConfig } from './config/index.js'
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

  let broker: Broker | undefined
  try {
    // Loaded only now so that --help and config errors answer without opening the store.
    const { createBroker } = await import('./broker.js')
    broker = await createBroker({ config, logger: log })
    stopOnSignals(broker, log)
    reloadOnHangup(broker, log)
    await broker.listen()
  } catch (err) {
    const advice = explainStartupError(err, config)
    if (advice === undefined) log.error({ err }, 'startup failed')
    process.stderr.write(`halyard: ${advice ?? `could not start: ${String(err)}`}\n`)
    await broker?.close().catch(() => undefined)
    process.exit(EXIT_FAILURE)
  }
  logListening(broker.addresses(), config, log)
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
      process.exit(0)
    } catch (err) {
      log.error({ err }, 'shutdown failed')
      process.exit(EXIT_FAILURE)
    }
  }
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, (s) => void stop(s))
}

/** SIGHUP re-reads the password file, ACL file and TLS certificate; connections stay up. */
function reloadOnHangup(broker: Broker, log: Logger): void {
  process.on('SIGHUP', () => {
    log.info('SIGHUP: reloading security files')
    broker.reload().catch((err: unknown) => log.error({ err }, 'reload failed'))
  })
}

function logListening(addresses: ReturnType<Broker['addresses']>, config: BrokerConfig, log: Logger): void {
  const urls = [
    addresses.tcp && `mqtt://${hostPort(addresses.tcp)}`,
    addresses.ws && `ws://${hostPort(addresses.ws)}${config.wsPath}`,
  ].filter((url) => url !== undefined)
  log.info({ ...addresses }, `listening on ${urls.join(' and ')}`)
  if (config.allowAnonymous && !['127.0.0.1', '::1', 'localhost'].includes(config.host)) {
    log.warn(`listening on ${config.host} with allowAnonymous: anyone who can reach this machine can connect`)
  }
}

const hostPort = ({ host, port }: Address): string => `${host.includes(':') ? `[${host}]` : host}:${port}`

/** One line telling the user what to do about a failure they can fix; undefined for bugs. */
function explainStartupError(err: unknown, config: BrokerConfig): string | undefined {
  for (let e = err; typeof e === 'object' && e !== null; e = (e as { cause?: unknown }).cause) {
    const { code, port, syscall, path } = e as { code?: unknown; port?: unknown; syscall?: unknown; path?: unknown }
    const portNumber = typeof port === 'number' ? port : config.port
    const flag = portNumber === config.wsPort ? '--ws-port' : '--port'
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
