/**
 * Cold start: how soon a broker serves clients when it starts on a big data directory.
 *
 * Once per bench run and broker, a template is made (not timed): the broker is started with a
 * data directory of its own, a `cold-prepare` load process stores `coldRetained` retained
 * messages and leaves `coldSessions` persistent sessions with a subscription each, and the
 * broker is stopped, which leaves everything on disk (Halyard: LevelDB; Mosquitto: its
 * persistence file, written when it stops).
 *
 * Each run copies the template, starts the broker on the copy and, from the moment it is
 * spawned, tries to connect every 5 ms. It reports:
 *   - firstConnackMs: spawn → CONNACK for a new client (the key metric);
 *   - sessionMs: spawn → CONNACK with Session Present for one of the stored sessions (the
 *     middle one);
 *   - retainedMs: spawn → the stored retained message `ret/000123` arriving on a SUBSCRIBE
 *     (Halyard builds its retained index after it starts listening: this is when it is done).
 * The probe runs in the runner itself (pinned to the load core), as there is no load to make.
 */
import { cpSync, mkdirSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { join } from 'node:path'
import { CONNACK, FrameReader, PUBLISH, SUBACK, connectPacket, subscribePacket } from '../load/wire.js'
import { startBroker, type Environment, type RunningBroker, type TargetName } from './brokers.js'
import type { LoadResult, LoadSpec } from './types.js'

const PROBE_TIMEOUT_MS = 120_000
const RETAINED_PROBE = 'ret/000123'

export interface ColdOptions {
  coldRetained: number
  coldSessions: number
}

/** Makes (once) and returns the template data directory for `target`. */
export async function coldTemplate(
  target: TargetName,
  env: Environment,
  opts: ColdOptions,
  runPrepare: (spec: LoadSpec) => Promise<LoadResult>,
  spec: Omit<LoadSpec, 'port' | 'brokerPid'>,
): Promise<string> {
  const dir = join(env.tmpRoot, `cold-template-${target}`)
  mkdirSync(dir, { recursive: true })
  const broker = await startBroker(target, env, { dataDir: dir })
  try {
    await runPrepare({
      ...spec, port: broker.port, brokerPid: broker.pid, kind: 'cold-prepare',
      retainedCount: opts.coldRetained, subscriptions: opts.coldSessions,
    })
  } finally {
    // Mosquitto writes its whole database when it stops: give it time.
    await broker.stop(120_000)
  }
  return dir
}

/** One run: copy the template, start the broker on it, time how soon it serves. */
export async function coldRun(target: TargetName, env: Environment, template: string, runDir: string, opts: ColdOptions): Promise<{
  broker: RunningBroker
  result: LoadResult
}> {
  const dataDir = join(runDir, 'data')
  cpSync(template, dataDir, { recursive: true })
  const spawnedAt = performance.now()
  const broker = await startBroker(target, env, { dataDir, isNoWait: true })
  try {
    const since = (): number => performance.now() - spawnedAt
    const fresh = await connectWhenUp(broker.port, 'cold-probe', true)
    const firstConnackMs = since()
    const session = await connectWhenUp(broker.port, `cold-sess-${Math.floor(opts.coldSessions / 2)}`, false)
    const sessionMs = since()
    session.socket.destroy()
    await fresh.subscribeAndWait(RETAINED_PROBE)
    const retainedMs = since()
    fresh.socket.destroy()
    const notes = session.sessionPresent ? [] : ['the stored session was not found (CONNACK Session Present 0)']
    return {
      broker,
      result: {
        sent: 1, expected: 1, received: 1, drops: 0, seconds: firstConnackMs / 1000, rate: Number.NaN,
        brokerCpuPct: Number.NaN, loadCpuPct: Number.NaN, brokerCoreOtherPct: Number.NaN, loadCoreOtherPct: Number.NaN,
        metrics: { firstConnackMs, sessionMs, retainedMs }, notes,
      },
    }
  } catch (err) {
    await broker.stop()
    throw err
  }
}

interface Probe {
  socket: Socket
  sessionPresent: boolean
  subscribeAndWait(topic: string): Promise<void>
}

/** Connects as soon as the port accepts, sends CONNECT and resolves at CONNACK. */
async function connectWhenUp(port: number, clientId: string, isClean: boolean): Promise<Probe> {
  const deadline = performance.now() + PROBE_TIMEOUT_MS
  for (;;) {
    const socket = await new Promise<Socket | null>((resolve) => {
      const s = connect({ host: '127.0.0.1', port, noDelay: true })
      s.once('connect', () => resolve(s))
      s.once('error', () => {
        s.destroy()
        resolve(null)
      })
    })
    if (socket !== null) return handshake(socket, clientId, isClean)
    if (performance.now() > deadline) throw new Error(`port ${port} not accepting after ${PROBE_TIMEOUT_MS} ms`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

function handshake(socket: Socket, clientId: string, isClean: boolean): Promise<Probe> {
  return new Promise((resolve, reject) => {
    let onPublish: (() => void) | null = null
    let onSuback: (() => void) | null = null
    const probe: Probe = {
      socket,
      sessionPresent: false,
      subscribeAndWait(topic: string): Promise<void> {
        return new Promise((done, fail) => {
          onPublish = done
          onSuback = () => undefined
          socket.once('close', () => fail(new Error(`${clientId}: closed before ${topic} arrived`)))
          socket.write(subscribePacket({ packetId: 1, filter: topic, qos: 0, version: 4 }))
        })
      },
    }
    const reader = new FrameReader({
      onFrame(type, _flags, buf, start) {
        if (type === CONNACK) {
          const code = buf[start + 1] ?? 0xff
          probe.sessionPresent = ((buf[start] ?? 0) & 1) === 1
          if (code === 0) resolve(probe)
          else reject(new Error(`${clientId}: CONNACK 0x${code.toString(16)}`))
        } else if (type === SUBACK) {
          onSuback?.()
        } else if (type === PUBLISH) {
          onPublish?.()
        }
      },
    }, () => false)
    socket.on('data', (chunk: Buffer) => reader.push(chunk))
    socket.once('error', (err) => reject(err))
    socket.once('close', () => reject(new Error(`${clientId}: closed before CONNACK`)))
    socket.write(connectPacket({ clientId, version: 4, isClean, keepalive: 60 }))
  })
}
