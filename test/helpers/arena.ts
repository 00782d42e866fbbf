import { readFileSync } from 'node:fs'
import type { Test as Tap } from 'tap'
import { spawnBroker, type BrokerProcess } from './process.js'
import { HealthyTraffic, assertTraffic } from './traffic.js'

/**
 * The adversarial suite's setting: the real `halyard` command in a process of its own (so its
 * memory can be read from outside, in /proc/PID/status, untouched by the test's own sockets),
 * with a healthy publisher/subscriber pair working beside the attacks the whole time.
 * `assertArena` is each file's last check: the process is alive, the pair lost nothing, no
 * line was logged at error level, and memory stayed within bounds.
 */
export interface Arena {
  proc: BrokerProcess
  port: number
  url: string
  traffic: HealthyTraffic
  /** Resident memory when the arena opened, kB. */
  baselineKb: number
  /** Highest resident memory seen by `sampleRss`, kB. */
  peakKb: number
}

/**
 * V8 lets short-lived garbage pile up in its young generation, which grows to 16 MB per
 * semi-space under a burst of allocation before a scavenge clears it: resident memory jumps by
 * 20-30 MB after any thousand connections come and go, whatever they sent. Capped at 1 MB here,
 * so that what the arena measures is what the broker keeps, not when V8 chose to collect.
 */
const NODE_ARGS = ['--max-semi-space-size=1']

export async function openArena(t: Tap, args: string[] = []): Promise<Arena> {
  const proc = await spawnBroker(['--memory', ...args], 10_000, NODE_ARGS)
  t.teardown(() => { proc.child.kill('SIGKILL') })
  const url = `mqtt://127.0.0.1:${proc.port}`
  const traffic = await HealthyTraffic.start(url)
  t.teardown(() => traffic.stop(0).then(() => undefined))
  // Let the pair's first messages grow the heap to its working size before the baseline.
  await new Promise((resolve) => setTimeout(resolve, 300))
  const baselineKb = rssKb(proc)
  return { proc, port: proc.port, url, traffic, baselineKb, peakKb: baselineKb }
}

/** The broker process's resident set size, kB (VmRSS). */
export function rssKb(proc: BrokerProcess): number {
  const pid = proc.child.pid
  if (pid === undefined) throw new Error('the broker process has no pid')
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  if (match === null) throw new Error(`no VmRSS in /proc/${pid}/status`)
  return Number(match[1])
}

/** Reads the RSS now, keeps the peak, and returns the growth over the baseline in MB. */
export function sampleRss(arena: Arena): number {
  arena.peakKb = Math.max(arena.peakKb, rssKb(arena.proc))
  return (arena.peakKb - arena.baselineKb) / 1024
}

/** Samples the RSS every `everyMs` until `stop()`; returns the peak growth in MB. */
export function watchRss(arena: Arena, everyMs = 20): { stop(): number } {
  const timer = setInterval(() => sampleRss(arena), everyMs)
  return {
    stop(): number {
      clearInterval(timer)
      return sampleRss(arena)
    },
  }
}

/** Log lines at error level or above (50+): a broker bug, whatever the client sent. */
export function errorLines(proc: BrokerProcess): string[] {
  return proc.logs.flatMap((chunk) => chunk.split('\n')).filter((line) => {
    if (!line.startsWith('{')) return line.trim() !== '' && !line.includes('"level"') && /error|exception/i.test(line)
    try {
      return ((JSON.parse(line) as { level?: number }).level ?? 0) >= 50
    } catch {
      return false
    }
  })
}

export async function assertArena(t: Tap, arena: Arena, maxGrowthMb: number): Promise<void> {
  t.equal(arena.proc.child.exitCode, null, 'the broker process is still running')
  assertTraffic(t, await arena.traffic.stop())
  t.same(errorLines(arena.proc), [], 'the broker logged nothing at error level')
  const growth = sampleRss(arena)
  t.ok(growth < maxGrowthMb,
    `resident memory grew ${growth.toFixed(1)} MB at its peak (< ${maxGrowthMb} MB; baseline ${(arena.baselineKb / 1024).toFixed(0)} MB)`)
}
