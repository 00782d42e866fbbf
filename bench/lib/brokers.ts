/**
 * The brokers under test, each started fresh for every run on a free loopback port and pinned
 * to core 0 when `taskset` exists:
 *
 * - halyard: `node dist/cli.js --memory` (from a copy of dist/); halyard-level with a LevelDB directory of its own;
 *   halyard-sync the same with `--sync-writes` (fsync before every acknowledgement).
 * - mosquitto: the system binary with a generated config (queue and inflight limits raised so
 *   it never drops for configuration reasons, TCP_NODELAY on, no persistence file).
 * - aedes: `bench/aedes-server.mjs` (aedes with its default in-memory persistence).
 *
 * Every broker gets the same limits where it has them: 100 outbound messages in flight per
 * client, a per-session queue of 1,000,000 messages, no connection cap below 20,000, no cap on
 * subscriptions per client below 1,000,000.
 */
import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { connect, createServer } from 'node:net'
import { userInfo } from 'node:os'
import { join } from 'node:path'
import { isRunning, pinned, startChild, stopChild } from './children.js'

export const TARGETS = ['halyard', 'halyard-level', 'halyard-sync', 'mosquitto', 'aedes'] as const
export type TargetName = (typeof TARGETS)[number]

export interface Environment {
  repoRoot: string
  /** Halyard's CLI: a private copy of dist/ taken when the bench starts (see run.ts). */
  halyardCli: string
  tmpRoot: string
  /** Core to pin brokers to, or null when taskset is missing or pinning is off. */
  brokerCore: number | null
  mosquittoPath: string | null
  /** Extra node options for Halyard's process (`--node-arg`; `--profile DIR` adds `--cpu-prof`). */
  halyardNodeArgs: string[]
}

export interface RunningBroker {
  readonly target: TargetName
  readonly port: number
  readonly pid: number
  readonly child: ChildProcess
  /** The last few KB the broker wrote to stdout/stderr. */
  output(): string
  /** SIGTERM, SIGKILL after `graceMs` (default 3 s); then removes the run's directory. */
  stop(graceMs?: number): Promise<void>
}

export interface StartOptions {
  /**
   * Keep the broker's data here instead of in a fresh directory: halyard-level and
   * halyard-sync use it as `--data-dir`, Mosquitto gets `persistence true` with it as
   * `persistence_location` (and saves there when stopped). Used by the cold-start scenario.
   */
  dataDir?: string
  /** Resolve as soon as the process has spawned, without waiting for the port. */
  isNoWait?: boolean
}

const OUTPUT_TAIL = 8 * 1024
const QUEUE_LIMIT = 1_000_000
const INFLIGHT = 100
const MAX_CONNECTIONS = 20_000
const SUBSCRIPTIONS_PER_CLIENT = 1_000_000

export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  const address = server.address()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  if (address === null || typeof address === 'string') throw new Error('no port from the kernel')
  return address.port
}

function mosquittoConfig(port: number, dataDir: string | undefined): string {
  return [
    `listener ${port} 127.0.0.1`,
    'allow_anonymous true',
    // Started as root, Mosquitto switches to the user `mosquitto`, who may not write our directory.
    ...(dataDir === undefined
      ? ['persistence false']
      : ['persistence true', `persistence_location ${dataDir}/`, 'autosave_interval 0', `user ${userInfo().username}`]),
    `max_queued_messages ${QUEUE_LIMIT}`,
    'max_queued_bytes 0',
    `max_inflight_messages ${INFLIGHT}`,
    'max_inflight_bytes 0',
    'set_tcp_nodelay true',
    'log_dest stderr',
    'log_type error',
    'log_type warning',
    'connection_messages false',
    '',
  ].join('\n')
}

function command(target: TargetName, port: number, env: Environment, runDir: string, dataDir: string | undefined): [string, string[]] {
  const node = process.execPath
  const halyard = [
    ...env.halyardNodeArgs, env.halyardCli, '--host', '127.0.0.1', '--port', String(port), '--ws-port', '0',
    '--log-level', 'warn', '--allow-anonymous', 'true', '--max-connections', String(MAX_CONNECTIONS),
    '--max-queued-messages', String(QUEUE_LIMIT), '--max-inflight', String(INFLIGHT),
    // Mosquitto and Aedes have no cap of their own (routing puts thousands on one client).
    '--max-subscriptions-per-client', String(SUBSCRIPTIONS_PER_CLIENT),
  ]
  switch (target) {
    case 'halyard':
      return [node, [...halyard, '--memory']]
    case 'halyard-level':
      return [node, [...halyard, '--data-dir', dataDir ?? join(runDir, 'level')]]
    case 'halyard-sync':
      return [node, [...halyard, '--data-dir', dataDir ?? join(runDir, 'level'), '--sync-writes']]
    case 'mosquitto': {
      if (env.mosquittoPath === null) throw new Error('mosquitto is not installed')
      const file = join(runDir, 'mosquitto.conf')
      writeFileSync(file, mosquittoConfig(port, dataDir))
      return [env.mosquittoPath, ['-c', file]]
    }
    case 'aedes':
      return [node, [join(env.repoRoot, 'bench/aedes-server.mjs'), '--port', String(port)]]
    default: {
      const never: never = target
      throw new Error(`unknown target ${String(never)}`)
    }
  }
}

/** Resolves once the port accepts a TCP connection; rejects if the broker exits first. */
async function waitForPort(port: number, child: ChildProcess, timeoutMs: number, output: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (!isRunning(child)) {
      throw new Error(`exited during start-up (code ${child.exitCode}, signal ${child.signalCode}): ${output().trim()}`)
    }
    const isOpen = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port })
      socket.once('connect', () => {
        socket.destroy()
        resolve(true)
      })
      socket.once('error', () => resolve(false))
    })
    if (isOpen) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`not listening on port ${port} after ${timeoutMs} ms: ${output().trim()}`)
}

export async function startBroker(target: TargetName, env: Environment, opts: StartOptions = {}): Promise<RunningBroker> {
  const port = await freePort()
  const runDir = mkdtempSync(join(env.tmpRoot, `${target}-`))
  const [cmd, args] = pinned(env.brokerCore, ...command(target, port, env, runDir, opts.dataDir))
  const child = startChild(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: runDir, detached: true })
  let tail = ''
  const keep = (chunk: Buffer): void => {
    tail = (tail + chunk.toString('utf8')).slice(-OUTPUT_TAIL)
  }
  child.stdout?.on('data', keep)
  child.stderr?.on('data', keep)
  const output = (): string => tail
  const spawned = new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve)
    child.once('error', reject)
  })
  const stop = async (graceMs?: number): Promise<void> => {
    await stopChild(child, graceMs)
    rmSync(runDir, { recursive: true, force: true })
  }
  try {
    await spawned
    if (opts.isNoWait !== true) await waitForPort(port, child, 15_000, output)
  } catch (err) {
    await stop()
    throw err
  }
  if (child.pid === undefined) throw new Error('no pid')
  return { target, port, pid: child.pid, child, output, stop }
}
