/**
 * Every process the runner starts is registered here and killed when the runner ends, however
 * it ends: normally, on an error, or on SIGINT/SIGTERM. Only these processes, by their id.
 *
 * Brokers and load processes are started `detached`, each in a session of its own. With
 * `kernel.sched_autogroup_enabled` (Debian's default) the scheduler shares CPU between
 * sessions first, so a broker in the runner's session would split one session's share with
 * the load process; in its own session it stands level with every other session on the machine
 * (no priority is raised). Being detached, they do not see a terminal's Ctrl-C: the handlers
 * below kill them instead.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process'

const children = new Set<ChildProcess>()
const cleanups: (() => void)[] = []

/** Runs `fn` (synchronously) when the runner exits, after every child has been killed. */
export function onExit(fn: () => void): void {
  cleanups.push(fn)
}

/** `taskset -c CORE` in front of a command when pinning is on. */
export function pinned(core: number | null, command: string, args: string[]): [string, string[]] {
  return core === null ? [command, args] : ['taskset', ['-c', String(core), command, ...args]]
}

export function startChild(command: string, args: string[], options: SpawnOptions): ChildProcess {
  const child = spawn(command, args, options)
  children.add(child)
  child.once('exit', () => children.delete(child))
  child.once('error', () => children.delete(child))
  return child
}

export function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null
}

/** SIGTERM, then SIGKILL after `graceMs` if it is still there; resolves once it has exited. */
export async function stopChild(child: ChildProcess, graceMs = 3000): Promise<void> {
  if (!isRunning(child)) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
  await exited
  clearTimeout(timer)
}

function killAll(): void {
  for (const child of children) if (isRunning(child)) child.kill('SIGKILL')
  children.clear()
  for (const fn of cleanups.splice(0)) {
    try {
      fn()
    } catch {
      // Best effort: the process is exiting anyway.
    }
  }
}

/** Installs the handlers that leave no child behind. Call once at start. */
export function killChildrenOnExit(): void {
  process.on('exit', killAll)
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      process.stderr.write(`\nbench: ${signal}, stopping every broker and load process\n`)
      killAll()
      process.exit(130)
    })
  }
  process.on('uncaughtException', (err) => {
    process.stderr.write(`bench: ${err.stack ?? String(err)}\n`)
    killAll()
    process.exit(1)
  })
}
