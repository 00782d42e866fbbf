import type { ConnectionInfo } from '../connection/index.js'

type Listener = ConnectionInfo['transport']

export interface AdmissionLimits {
  /** Connections open at once, all listeners together. */
  maxConnections: number
  /** Connections open at once on each listener (tcp, tls, ws, wss); 0: no cap of its own. */
  maxConnectionsPerListener: number
  /** New connections accepted per second, all listeners together; 0: no limit. */
  maxConnectionRate: number
}

/**
 * The door before a socket becomes a connection: counts open connections (in all and per
 * listener) and new ones per second. A socket that is refused never costs a decoder, a timer or
 * a log line of its own: the caller destroys it at once, and refusals are reported at most once
 * a second (`report`), so a flood of connections cannot turn into a flood of log lines.
 *
 * The rate is a token bucket holding one second's worth: a burst of `maxConnectionRate` after
 * a quiet second is accepted, a steady stream above the rate is cut down to it.
 */
export class Admission {
  readonly #limits: AdmissionLimits
  readonly #open = new Map<Listener, number>()
  #total = 0
  #tokens: number
  #refilledAt = Date.now()
  #refused = 0
  #lastReason = ''
  #reportedAt = 0

  constructor(limits: AdmissionLimits) {
    this.#limits = limits
    this.#tokens = limits.maxConnectionRate
  }

  /** Counts the connection in and returns null, or returns why it is refused (and counts nothing). */
  admit(listener: Listener, now = Date.now()): string | null {
    const reason = this.#check(listener, now)
    if (reason !== null) {
      this.#refused++
      this.#lastReason = reason
      return reason
    }
    this.#open.set(listener, (this.#open.get(listener) ?? 0) + 1)
    this.#total++
    return null
  }

  /** An admitted connection has gone. */
  release(listener: Listener): void {
    this.#open.set(listener, (this.#open.get(listener) ?? 1) - 1)
    this.#total--
  }

  /**
   * Refusals since the last report, at most once a second: `{ refused, reason }` (the latest
   * reason), or undefined when there is nothing to say yet.
   */
  report(now = Date.now()): { refused: number; reason: string } | undefined {
    if (this.#refused === 0 || now - this.#reportedAt < 1000) return undefined
    const report = { refused: this.#refused, reason: this.#lastReason }
    this.#refused = 0
    this.#reportedAt = now
    return report
  }

  #check(listener: Listener, now: number): string | null {
    const { maxConnections, maxConnectionsPerListener, maxConnectionRate } = this.#limits
    if (this.#total >= maxConnections) return `limits.maxConnections (${maxConnections}) reached`
    if (maxConnectionsPerListener > 0 && (this.#open.get(listener) ?? 0) >= maxConnectionsPerListener) {
      return `limits.maxConnectionsPerListener (${maxConnectionsPerListener}) reached on the ${listener} listener`
    }
    if (maxConnectionRate > 0) {
      this.#tokens = Math.min(maxConnectionRate, this.#tokens + (now - this.#refilledAt) * maxConnectionRate / 1000)
      this.#refilledAt = now
      if (this.#tokens < 1) return `limits.maxConnectionRate (${maxConnectionRate} new connections per second) exceeded`
      this.#tokens--
    }
    return null
  }
}
