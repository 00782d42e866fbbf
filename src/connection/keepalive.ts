/**
 * Keep Alive without a timer per connection.
 *
 * A server must close a connection that sent nothing for one and a half Keep Alive periods
 * [MQTT-3.1.2-24]. A timer per connection costs a Timeout object and a closure for each of
 * thousands of idle clients, and reading the clock on every socket read. Instead all
 * connections with the same allowed silence share one sweep: an interval of a tenth of that
 * silence. Traffic only sets a flag on the connection; the sweep turns the flag into "last seen
 * in this round", and closes a connection once ten rounds have passed without traffic.
 *
 * Rounds, not clock readings: an interval never fires early, so ten rounds are at least the
 * allowed silence, and the first round is counted only from the first sweep after the
 * connection was last heard from. A connection is therefore closed between 1.0 and 1.1 times
 * its allowed silence after its last packet (plus the interval's own lateness). And a process
 * that stalled (a long GC, a blocked loop) does not close clients whose packets were sitting in
 * its socket buffers meanwhile: the rounds did not pass for them either.
 */

/** What a sweep needs from a connection. */
export interface Watched {
  /**
   * One sweep round: true when the connection was silent for `rounds` rounds and has been
   * closed; the sweep then forgets it.
   */
  keepaliveRound(round: number, rounds: number): boolean
}

const ROUNDS = 10

class Sweep {
  readonly members = new Set<Watched>()
  readonly timer: NodeJS.Timeout
  round = 0

  constructor(silenceMs: number) {
    this.timer = setInterval(() => this.#run(), Math.max(1, Math.floor(silenceMs / ROUNDS)))
    this.timer.unref()
  }

  #run(): void {
    const round = ++this.round
    for (const member of this.members) {
      if (member.keepaliveRound(round, ROUNDS)) this.members.delete(member)
    }
  }
}

/** One sweep per allowed silence (in ms) in use, in the whole process. */
const sweeps = new Map<number, Sweep>()

/** Starts watching; returns the current round, which the connection records as "seen". */
export function watch(member: Watched, silenceMs: number): number {
  let sweep = sweeps.get(silenceMs)
  if (sweep === undefined) {
    sweep = new Sweep(silenceMs)
    sweeps.set(silenceMs, sweep)
  }
  sweep.members.add(member)
  return sweep.round
}

export function unwatch(member: Watched, silenceMs: number): void {
  const sweep = sweeps.get(silenceMs)
  if (sweep === undefined || !sweep.members.delete(member) || sweep.members.size > 0) return
  clearInterval(sweep.timer)
  sweeps.delete(silenceMs)
}
