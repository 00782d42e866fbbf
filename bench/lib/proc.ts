/** Linux /proc readings for another process: CPU ticks and memory, in plain numbers. */
import { readFileSync } from 'node:fs'

/** utime + stime of `pid` in clock ticks, or NaN when the process is gone. */
export function cpuTicks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1')
    // The command name (field 2) may hold spaces; fields are counted after its closing ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    // Fields 14 and 15 of proc(5); fields[0] here is field 3.
    return Number(fields[11]) + Number(fields[12])
  } catch {
    return Number.NaN
  }
}

/** A `Vm*` line of /proc/PID/status in KiB (VmRSS: now, VmHWM: peak), or NaN when gone. */
export function memoryKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'latin1')
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)
    return match === null ? Number.NaN : Number(match[1])
  } catch {
    return Number.NaN
  }
}

/** Busy ticks (everything but idle and iowait) of one `cpuN` line of /proc/stat, or of all. */
export function busyTicks(core: number | null): number {
  try {
    const name = core === null ? 'cpu' : `cpu${core}`
    const line = readFileSync('/proc/stat', 'latin1').split('\n').find((l) => l.startsWith(`${name} `))
    if (line === undefined) return Number.NaN
    const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number)
    return user! + nice! + system! + irq! + softirq! + steal!
  } catch {
    return Number.NaN
  }
}

/** Tick counts are coarse (10 ms): over a short window a difference can leave 0..max. */
function clampPct(value: number, max = 100): number {
  return Math.min(max, Math.max(0, value))
}

export interface CpuWindowResult {
  seconds: number
  /** Broker and load process, in % of one core (100 = one core fully busy). */
  brokerCpuPct: number
  loadCpuPct: number
  /**
   * CPU that neither used on their cores, in % of one core: other processes of the machine,
   * interrupts, hypervisor steal. When pinned: broker core busy − broker, load core busy −
   * load; unpinned: whole-machine busy − both, reported as `brokerCoreOtherPct`.
   */
  brokerCoreOtherPct: number
  loadCoreOtherPct: number
}

/**
 * CPU use of this process, of the broker and of everything else over one window, so a run
 * can say both who was the bottleneck and whether the machine was quiet.
 */
export class CpuWindow {
  readonly #brokerPid: number
  readonly #clockTicks: number
  readonly #cores: { broker: number | null; load: number | null }
  readonly #startedAt: number
  readonly #startTicks: number
  readonly #startUsage: NodeJS.CpuUsage
  readonly #startBrokerCore: number
  readonly #startLoadCore: number

  constructor(brokerPid: number, clockTicks: number, cores: { broker: number | null; load: number | null }) {
    this.#brokerPid = brokerPid
    this.#clockTicks = clockTicks
    this.#cores = cores
    this.#startedAt = performance.now()
    this.#startTicks = cpuTicks(brokerPid)
    this.#startUsage = process.cpuUsage()
    this.#startBrokerCore = busyTicks(cores.broker)
    this.#startLoadCore = cores.load === null ? Number.NaN : busyTicks(cores.load)
  }

  stop(): CpuWindowResult {
    const seconds = (performance.now() - this.#startedAt) / 1000
    const usage = process.cpuUsage(this.#startUsage)
    const pct = (ticks: number): number => (100 * ticks) / this.#clockTicks / seconds
    const brokerCpuPct = pct(cpuTicks(this.#brokerPid) - this.#startTicks)
    const loadCpuPct = (100 * (usage.user + usage.system)) / 1e6 / seconds
    const brokerCoreBusy = pct(busyTicks(this.#cores.broker) - this.#startBrokerCore)
    const isPinned = this.#cores.broker !== null && this.#cores.load !== null
    return {
      seconds, brokerCpuPct, loadCpuPct,
      brokerCoreOtherPct: isPinned
        ? clampPct(brokerCoreBusy - brokerCpuPct)
        : clampPct(brokerCoreBusy - brokerCpuPct - loadCpuPct, Number.POSITIVE_INFINITY),
      loadCoreOtherPct: isPinned ? clampPct(pct(busyTicks(this.#cores.load) - this.#startLoadCore) - loadCpuPct) : Number.NaN,
    }
  }
}
