import type { Logger } from 'pino'
import type { ClientLog, LogLevel } from '../handlers/index.js'

/** Who a connection is, as its log lines name it. */
export interface LogIdentity {
  readonly remoteAddress: string | undefined
  readonly remotePort: number | undefined
  readonly transport: string
  /** Empty until CONNECT chose one. */
  readonly clientId: string
}

/**
 * A connection's logger. Its lines carry the same fields a `log.child({ remote, transport })`
 * (and, from CONNECT on, `{ clientId }`) would give them, but no child logger is made: pino's
 * `child()` serialises the bindings and creates a new logger object per call, about 1 KB of heap
 * for every one of thousands of idle connections that may never write a line. Here the
 * identity is merged into a line only when one is written, at a level the root logger has
 * enabled; a disabled level costs one comparison. The root's level is read at every call, so
 * changing it at run time reaches every connection.
 */
export class ConnectionLog implements ClientLog {
  readonly #root: Logger
  readonly #who: LogIdentity

  constructor(root: Logger, who: LogIdentity) {
    this.#root = root
    this.#who = who
  }

  isLevelEnabled(level: LogLevel): boolean {
    return this.#root.isLevelEnabled(level)
  }

  trace(objOrMsg: object | string, msg?: string): void {
    if (this.#root.isLevelEnabled('trace')) this.#write('trace', objOrMsg, msg)
  }

  debug(objOrMsg: object | string, msg?: string): void {
    if (this.#root.isLevelEnabled('debug')) this.#write('debug', objOrMsg, msg)
  }

  info(objOrMsg: object | string, msg?: string): void {
    if (this.#root.isLevelEnabled('info')) this.#write('info', objOrMsg, msg)
  }

  warn(objOrMsg: object | string, msg?: string): void {
    if (this.#root.isLevelEnabled('warn')) this.#write('warn', objOrMsg, msg)
  }

  error(objOrMsg: object | string, msg?: string): void {
    if (this.#root.isLevelEnabled('error')) this.#write('error', objOrMsg, msg)
  }

  #write(level: LogLevel, objOrMsg: object | string, msg: string | undefined): void {
    const who = this.#who
    const fields: Record<string, unknown> = {
      remote: `${who.remoteAddress ?? '?'}:${who.remotePort ?? '?'}`,
      transport: who.transport,
    }
    if (who.clientId !== '') fields.clientId = who.clientId
    if (typeof objOrMsg === 'string') {
      this.#root[level](fields, objOrMsg)
      return
    }
    this.#root[level]({ ...fields, ...objOrMsg }, msg)
  }
}
