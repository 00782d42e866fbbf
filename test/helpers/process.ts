import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

const cli = fileURLToPath(new URL('../../dist/cli.js', import.meta.url))

export interface BrokerProcess {
  child: ChildProcess
  port: number
  /** Resolves with the exit code (or the signal name) once the process has exited. */
  exited: Promise<number | string>
  logs: string[]
}

/**
 * The real `halyard` command (built `dist/cli.js`) on a free port, reading its JSON logs to
 * learn the port. For tests of what only a whole process shows: kill -9, signals, exit codes.
 * `nodeArgs` go to node itself (V8 flags), before the script.
 */
export async function spawnBroker(args: string[], timeoutMs = 10_000, nodeArgs: string[] = []): Promise<BrokerProcess> {
  const child = spawn(process.execPath, [...nodeArgs, cli, '--port', '0', '--ws-port', '0', '--log-level', 'info', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const logs: string[] = []
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'))
  })
  child.stderr?.on('data', (d: Buffer) => logs.push(d.toString()))
  const lines = createInterface({ input: child.stdout! })
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`broker did not start in ${timeoutMs} ms: ${logs.join('\n')}`)), timeoutMs)
    lines.on('line', (line) => {
      logs.push(line)
      try {
        const entry = JSON.parse(line) as { msg?: string; tcp?: { port?: number } }
        if (entry.msg?.startsWith('listening') === true && typeof entry.tcp?.port === 'number') {
          clearTimeout(timer)
          resolve(entry.tcp.port)
        }
      } catch {
        // not JSON: keep reading
      }
    })
    void exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`broker exited (${code}) before listening: ${logs.join('\n')}`))
    })
  })
  return { child, port, exited, logs }
}
