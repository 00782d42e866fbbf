/**
 * The load process: started by the runner (pinned to its own core when `taskset` exists) with
 * one `LoadSpec` as JSON in argv[2]; runs that one scenario and sends back one `LoadMessage`
 * over the IPC channel, then exits. A watchdog ends it if the scenario overruns its bounds.
 */
import type { LoadMessage, LoadResult, LoadSpec } from '../lib/types.js'
import { runFlood } from './flood.js'
import { runIdle } from './idle.js'
import { runLatency } from './latency.js'
import { runQosFlow } from './qos-flow.js'
import { runRetained } from './retained.js'
import { runRouting } from './routing.js'
import { runColdPrepare } from './cold-prepare.js'

function run(spec: LoadSpec): Promise<LoadResult> {
  switch (spec.kind) {
    case 'flood':
      return runFlood(spec)
    case 'qos-flow':
      return runQosFlow(spec)
    case 'latency':
      return runLatency(spec)
    case 'idle':
      return runIdle(spec)
    case 'retained':
      return runRetained(spec)
    case 'routing':
      return runRouting(spec)
    case 'cold-prepare':
      return runColdPrepare(spec)
    default: {
      const never: never = spec.kind
      throw new Error(`unknown scenario kind ${String(never)}`)
    }
  }
}

function reply(message: LoadMessage, exitCode: number): void {
  if (process.send === undefined) {
    process.stdout.write(`${JSON.stringify(message)}\n`)
    process.exit(exitCode)
  }
  process.send(message, () => process.exit(exitCode))
}

const specText = process.argv[2]
if (specText === undefined) {
  process.stderr.write('usage: node dist-bench/load/main.js SPEC_JSON (started by dist-bench/run.js)\n')
  process.exit(2)
}
const spec = JSON.parse(specText) as LoadSpec
const watchdogMs = (spec.seconds + spec.drainSeconds + 60) * 1000 + spec.connections * 10 + spec.retainedCount + spec.subscriptions * 5
setTimeout(() => reply({ type: 'error', message: `load process overran ${watchdogMs} ms; stopped by its watchdog` }, 3), watchdogMs)
run(spec).then(
  (result) => reply({ type: 'result', result }, 0),
  (err: unknown) => reply({ type: 'error', message: err instanceof Error ? err.message : String(err) }, 1),
)
