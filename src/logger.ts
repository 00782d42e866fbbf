import { pino, type DestinationStream, type Logger } from 'pino'
import pretty from 'pino-pretty'
import type { BrokerConfig } from './config/index.js'

export interface LoggerOptions {
  /** Human-readable lines instead of JSON; defaults to whether stdout is a terminal. */
  pretty?: boolean
  /** Where lines go; stdout when omitted. */
  destination?: DestinationStream
}

/**
 * Payloads and passwords never reach a log line, whatever a caller passes in: the paths are
 * censored by pino itself, so a careless `log.debug({ packet })` is still safe.
 */
export const redactedPaths = ['password', '*.password', 'payload', '*.payload']

/**
 * The broker's one root logger; pass it down and take `log.child({ clientId })` per connection.
 * Pretty printing runs in this thread (not a pino transport worker) so that the last lines
 * before `process.exit()` are not lost.
 */
export function createLogger(level: BrokerConfig['logLevel'], opts: LoggerOptions = {}): Logger {
  const isPretty = opts.pretty ?? process.stdout.isTTY === true
  const options = { level, redact: { paths: redactedPaths, censor: '[redacted]' } }
  if (!isPretty) return opts.destination === undefined ? pino(options) : pino(options, opts.destination)
  const colorize = opts.destination === undefined && process.stdout.isTTY === true
  const stream = pretty({
    colorize,
    sync: true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname',
    ...(opts.destination === undefined ? {} : { destination: opts.destination }),
  })
  return pino(options, stream)
}
