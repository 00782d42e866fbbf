/**
 * `npm run bench`: runs every scenario against Halyard, Mosquitto and Aedes, interleaved
 * (round 1: H M A, round 2: M A H, ...) so that drift of the machine falls on all of them,
 * prints a table of medians with ratios and writes everything to bench/results/latest.json.
 *
 * Each run starts a fresh broker pinned to core 0 and a fresh load process pinned to core 1
 * (when taskset exists), and stops both before the next run; every child is killed on exit.
 */
import { execFileSync, type ChildProcess } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { availableParallelism, cpus, release, tmpdir, totalmem } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { TARGETS, startBroker, type Environment, type RunningBroker, type TargetName } from './lib/brokers.js'
import { isRunning, killChildrenOnExit, onExit, pinned, startChild } from './lib/children.js'
import { coldRun, coldTemplate } from './lib/cold-start.js'
import { busyTicks, memoryKiB } from './lib/proc.js'
import { formatTable, formatWarnings, summarise, type RunRecord, type Summary } from './lib/report.js'
import { SCENARIOS, type Options, type Scenario } from './lib/scenarios.js'
import type { LoadMessage, LoadResult, LoadSpec } from './lib/types.js'

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const LOAD_CORE = 1
const BROKER_CORE = 0
/** File descriptors kept free besides the idle connections (listeners, logs, the probe...). */
const FD_MARGIN = 1000
/** Whole-machine CPU share under which the machine counts as quiet before a run. */
const QUIET_PCT = 10

const USAGE = `Usage: npm run bench -- [options]

  --quick                  about a minute: 1 round, 1 s per scenario, 1,000 idle connections,
                           10,000 retained messages (checks that the harness works)
  --seconds N              sending phase of each throughput run (default 3, quick 1)
  --latency-seconds N      sending phase of the latency run, whose first 2 s (at most a fifth)
                           are warm-up and not counted (default 12, quick 1)
  --rounds N               rounds per scenario; the table shows medians (default 3, quick 1)
  --scenario NAME[,NAME]   only these scenarios (repeatable): ${SCENARIOS.map((s) => s.name).join(', ')}
  --broker NAME[,NAME]     only these brokers (repeatable): ${TARGETS.join(', ')}
  --idle-connections N|max idle scenario size (default 10000, quick 1000); max, or anything above
                           it, is capped at ulimit -n minus ${FD_MARGIN}
  --retained N             retained scenario size (default 100000, quick 10000)
  --routing N,M            subscriptions of routing-10k and routing-100k (default 10000,100000;
                           quick 3000,30000)
  --cold N,M               cold start: retained messages and persistent sessions in the data
                           directory (default 1000000,10000; quick 20000,1000)
  --no-pin                 do not pin broker and load to cores 0 and 1 with taskset
  --profile DIR            run Halyard with node --cpu-prof, one .cpuprofile per run in DIR
  --node-arg ARG           an extra node option for Halyard's process (repeatable), e.g.
                           --node-arg=--trace-gc (its output lands in runs[].brokerOutput)
  --out FILE               JSON results (default bench/results/latest.json)
  -h, --help               this text
`

interface Cli extends Options {
  scenarios: Scenario[]
  brokers: Set<TargetName>
  isQuick: boolean
  isPinned: boolean
  out: string
  profileDir: string | null
  nodeArgs: string[]
}

function listFlag(values: string[] | undefined, allowed: readonly string[], what: string): string[] | null {
  if (values === undefined) return null
  const names = values.flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '')
  for (const name of names) if (!allowed.includes(name)) throw new Error(`unknown ${what} "${name}"; one of ${allowed.join(', ')}`)
  return names
}

function positive(value: string | undefined, fallback: number, flag: string, max: number): number {
  if (value === undefined) return fallback
  const n = Number(value)
  if (!Number.isFinite(n) || n <= 0 || n > max) throw new Error(`${flag} takes a number from 0 to ${max}, not "${value}"`)
  return n
}

/** `N,M` into two named positive integers. */
function pair<A extends string, B extends string>(
  value: string | undefined, fallback: [number, number], flag: string, max: number, a: A, b: B,
): Record<A | B, number> {
  const [first, second] = value === undefined ? fallback : value.split(',').map((v, i) => Math.round(positive(v, fallback[i] ?? 1, flag, max)))
  return { [a]: first ?? fallback[0], [b]: second ?? fallback[1] } as Record<A | B, number>
}

function parseCli(argv: string[]): Cli | null {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      seconds: { type: 'string' },
      'latency-seconds': { type: 'string' },
      rounds: { type: 'string' },
      scenario: { type: 'string', multiple: true },
      broker: { type: 'string', multiple: true },
      'idle-connections': { type: 'string' },
      retained: { type: 'string' },
      routing: { type: 'string' },
      cold: { type: 'string' },
      'no-pin': { type: 'boolean', default: false },
      profile: { type: 'string' },
      'node-arg': { type: 'string', multiple: true },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  if (values.help) return null
  const isQuick = values.quick
  const seconds = positive(values.seconds, isQuick ? 1 : 3, '--seconds', 120)
  const scenarioNames = listFlag(values.scenario, SCENARIOS.map((s) => s.name), 'scenario')
  const brokerNames = listFlag(values.broker, TARGETS, 'broker') as TargetName[] | null
  return {
    isQuick,
    seconds,
    latencySeconds: positive(values['latency-seconds'], isQuick ? 1 : 12, '--latency-seconds', 120),
    rounds: Math.round(positive(values.rounds, isQuick ? 1 : 3, '--rounds', 50)),
    idleConnections: values['idle-connections'] === 'max'
      ? Number.POSITIVE_INFINITY
      : Math.round(positive(values['idle-connections'], isQuick ? 1000 : 10_000, '--idle-connections', 1_000_000)),
    retainedCount: Math.round(positive(values.retained, isQuick ? 10_000 : 100_000, '--retained', 1_000_000)),
    holdSeconds: isQuick ? 1 : 2,
    maxIdleConnections: Number.POSITIVE_INFINITY,
    ...pair(values.routing, isQuick ? [3000, 30_000] : [10_000, 100_000], '--routing', 1_000_000, 'routingSmall', 'routingLarge'),
    ...pair(values.cold, isQuick ? [20_000, 1000] : [1_000_000, 10_000], '--cold', 1_000_000, 'coldRetained', 'coldSessions'),
    scenarios: scenarioNames === null ? SCENARIOS : SCENARIOS.filter((s) => scenarioNames.includes(s.name)),
    brokers: new Set(brokerNames ?? TARGETS),
    isPinned: !values['no-pin'],
    out: resolve(values.out ?? join(repoRoot, 'bench/results/latest.json')),
    profileDir: values.profile === undefined ? null : resolve(values.profile),
    nodeArgs: values['node-arg'] ?? [],
  }
}

function commandOutput(cmd: string, args: string[]): string | null {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim()
  } catch {
    return null
  }
}

function findMosquitto(): string | null {
  if (existsSync('/usr/sbin/mosquitto')) return '/usr/sbin/mosquitto'
  return commandOutput('sh', ['-c', 'command -v mosquitto'])
}

interface Machine {
  cpu: string
  cores: number
  memoryGiB: number
  kernel: string
  node: string
  openFileLimit: number
  taskset: boolean
  mosquitto: string | null
  aedes: string
  halyardCommit: string
  clockTicks: number
}

function describeMachine(mosquittoPath: string | null): Machine {
  const aedesPackage = JSON.parse(readFileSync(join(repoRoot, 'node_modules/aedes/package.json'), 'utf8')) as { version: string }
  const commit = commandOutput('git', ['-C', repoRoot, 'rev-parse', '--short', 'HEAD']) ?? 'unknown'
  const isDirty = (commandOutput('git', ['-C', repoRoot, 'status', '--porcelain', '--', 'src']) ?? '') !== ''
  const mosquittoVersion = mosquittoPath === null
    ? null
    : (commandOutput('sh', ['-c', `"${mosquittoPath}" -h 2>&1 | head -1`]) ?? 'unknown version')
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: availableParallelism(),
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
    openFileLimit: Number(commandOutput('sh', ['-c', 'ulimit -n']) ?? 1024),
    taskset: commandOutput('taskset', ['-c', '0', 'true']) !== null && availableParallelism() >= 2,
    mosquitto: mosquittoVersion,
    aedes: aedesPackage.version,
    halyardCommit: commit + (isDirty ? ' (src/ has uncommitted changes)' : ''),
    clockTicks: Number(commandOutput('getconf', ['CLK_TCK']) ?? 100),
  }
}

/**
 * Copies dist/ to dist-bench/halyard/ and returns its cli.js: every run then uses the build
 * made when the bench started, even if dist/ is rebuilt meanwhile. The copy stays inside the
 * repository so that it still finds node_modules/ and package.json ("type": "module").
 */
function snapshotHalyard(): string {
  const source = join(repoRoot, 'dist')
  if (!existsSync(join(source, 'cli.js'))) throw new Error('dist/cli.js is missing: run `npm run build` (npm run bench does)')
  const copy = join(repoRoot, 'dist-bench/halyard')
  rmSync(copy, { recursive: true, force: true })
  cpSync(source, copy, { recursive: true })
  return join(copy, 'cli.js')
}

/**
 * Waits (at most `maxMs`) for a quarter second in which the machine is nearly idle, so that a
 * run does not start on top of someone else's burst; returns the last busy share seen, in %
 * of the whole machine.
 */
async function waitForQuiet(maxMs: number, machine: Machine): Promise<number> {
  const deadline = Date.now() + maxMs
  for (;;) {
    const before = busyTicks(null)
    await new Promise((resolvePromise) => setTimeout(resolvePromise, 250))
    const busyPct = (100 * (busyTicks(null) - before)) / machine.clockTicks / 0.25 / machine.cores
    if (busyPct < QUIET_PCT || Date.now() >= deadline) return busyPct
  }
}

/** Runs one load process and resolves with its result; it is killed if it overruns. */
async function runLoad(spec: LoadSpec, loadCore: number | null): Promise<LoadResult> {
  const script = join(repoRoot, 'dist-bench/load/main.js')
  const [cmd, args] = pinned(loadCore, process.execPath, [script, JSON.stringify(spec)])
  const child: ChildProcess = startChild(cmd, args, { stdio: ['ignore', 'inherit', 'pipe', 'ipc'], detached: true })
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-4096)))
  const limitMs = (spec.seconds + spec.drainSeconds + 90) * 1000 + spec.connections * 10 + spec.retainedCount + spec.subscriptions * 5
  let message: LoadMessage | undefined
  child.on('message', (m) => (message = m as LoadMessage))
  const timer = setTimeout(() => child.kill('SIGKILL'), limitMs)
  try {
    await new Promise<void>((resolvePromise, reject) => {
      child.once('error', reject)
      child.once('exit', () => resolvePromise())
    })
  } finally {
    clearTimeout(timer)
  }
  if (message?.type === 'result') return message.result
  if (message?.type === 'error') throw new Error(`load: ${message.message}`)
  throw new Error(`load process ended without a result (code ${child.exitCode}, signal ${child.signalCode}) ${stderr.trim()}`)
}

async function runOne(scenario: Scenario, target: TargetName, round: number, cli: Cli, env: Environment, machine: Machine): Promise<RunRecord> {
  const record: RunRecord = { scenario: scenario.name, target, round, wallSeconds: 0 }
  const startedAt = performance.now()
  let broker: RunningBroker | undefined
  try {
    broker = await startBroker(target, env)
    const loadCore = env.brokerCore === null ? null : LOAD_CORE
    const spec: LoadSpec = {
      ...scenario.spec(cli), port: broker.port, brokerPid: broker.pid, clockTicks: machine.clockTicks,
      brokerCore: env.brokerCore, loadCore,
    }
    record.backgroundPct = await waitForQuiet(cli.isQuick ? 0 : 500, machine)
    const result = await runLoad(spec, loadCore)
    record.peakRssKiB = memoryKiB(broker.pid, 'VmHWM')
    if (!isRunning(broker.child)) {
      throw new Error(`the broker exited during the run (code ${broker.child.exitCode}, signal ${broker.child.signalCode})`)
    }
    record.result = result
  } catch (err) {
    record.error = err instanceof Error ? err.message : String(err)
  } finally {
    const output = broker?.output().trim()
    if (output !== undefined && output !== '') record.brokerOutput = output
    await broker?.stop()
    record.wallSeconds = (performance.now() - startedAt) / 1000
  }
  return record
}

/** Cold-start data directories, made once per broker per bench run (cold-start.ts). */
const coldTemplates = new Map<TargetName, Promise<string>>()

async function runColdStart(scenario: Scenario, target: TargetName, round: number, cli: Cli, env: Environment, machine: Machine): Promise<RunRecord> {
  const record: RunRecord = { scenario: scenario.name, target, round, wallSeconds: 0 }
  const startedAt = performance.now()
  const loadCore = env.brokerCore === null ? null : LOAD_CORE
  let template = coldTemplates.get(target)
  if (template === undefined) {
    const spec = { ...scenario.spec(cli), clockTicks: machine.clockTicks, brokerCore: env.brokerCore, loadCore }
    template = coldTemplate(target, env, cli, (full) => runLoad(full, loadCore), spec)
    coldTemplates.set(target, template)
  }
  const runDir = mkdtempSync(join(env.tmpRoot, `cold-${target}-`))
  let broker: RunningBroker | undefined
  try {
    const dir = await template
    record.backgroundPct = await waitForQuiet(cli.isQuick ? 0 : 500, machine)
    const run = await coldRun(target, env, dir, runDir, cli)
    broker = run.broker
    record.result = run.result
    record.peakRssKiB = memoryKiB(broker.pid, 'VmHWM')
  } catch (err) {
    record.error = err instanceof Error ? err.message : String(err)
  } finally {
    const output = broker?.output().trim()
    if (output !== undefined && output !== '') record.brokerOutput = output
    await broker?.stop(30_000)
    rmSync(runDir, { recursive: true, force: true })
    record.wallSeconds = (performance.now() - startedAt) / 1000
  }
  return record
}

function progressLine(record: RunRecord, scenario: Scenario, rounds: number): string {
  const where = `[${scenario.name} ${record.round + 1}/${rounds}] ${record.target}`.padEnd(38)
  if (record.error !== undefined) return `${where} FAILED after ${record.wallSeconds.toFixed(1)} s: ${record.error}`
  const r = record.result!
  // NaN crosses the IPC channel as null: format whatever came.
  const f = (n: number | null | undefined, digits: number): string => (typeof n === 'number' && Number.isFinite(n) ? n.toFixed(digits) : '-')
  const key = scenario.key.name === 'rate' ? '' : `  ${scenario.key.label} ${f(r.metrics[scenario.key.name], 3)} ${scenario.key.unit}`
  const rate = Number.isFinite(r.rate) ? Math.round(r.rate).toLocaleString('en-US') : '-'
  return `${where} ${rate.padStart(11)} /s  drops ${r.drops}  ` +
    `broker ${f(r.brokerCpuPct, 0)}% CPU ${f((record.peakRssKiB ?? Number.NaN) / 1024, 1)} MiB  ` +
    `load ${f(r.loadCpuPct, 0)}% CPU  others ${f(r.brokerCoreOtherPct, 0)}%/${f(r.loadCoreOtherPct, 0)}%${key}  (${record.wallSeconds.toFixed(1)} s)`
}

/** Targets in round-robin order: round 0 starts with the first, round 1 with the second... */
function rotate<T>(items: T[], by: number): T[] {
  const k = items.length === 0 ? 0 : by % items.length
  return [...items.slice(k), ...items.slice(0, k)]
}

async function main(): Promise<void> {
  let cli: Cli | null
  try {
    cli = parseCli(process.argv.slice(2))
  } catch (err) {
    process.stderr.write(`bench: ${(err as Error).message}\n\n${USAGE}`)
    process.exitCode = 2
    return
  }
  if (cli === null) {
    process.stdout.write(USAGE)
    return
  }
  killChildrenOnExit()
  const mosquittoPath = findMosquitto()
  const machine = describeMachine(mosquittoPath)
  const isPinned = cli.isPinned && machine.taskset
  // The runner itself stays off the broker's core too (all threads, hence -a).
  if (isPinned) commandOutput('taskset', ['-a', '-p', '-c', String(LOAD_CORE), String(process.pid)])
  const halyardCli = snapshotHalyard()
  const tmpRoot = mkdtempSync(join(tmpdir(), 'halyard-bench-'))
  onExit(() => rmSync(tmpRoot, { recursive: true, force: true }))
  if (cli.profileDir !== null) mkdirSync(cli.profileDir, { recursive: true })
  const halyardNodeArgs = [...cli.nodeArgs, ...(cli.profileDir === null ? [] : ['--cpu-prof', '--cpu-prof-dir', cli.profileDir])]
  const env: Environment = { repoRoot, halyardCli, tmpRoot, brokerCore: isPinned ? BROKER_CORE : null, mosquittoPath, halyardNodeArgs }

  const maxIdle = Math.max(100, machine.openFileLimit - FD_MARGIN)
  cli.maxIdleConnections = cli.isQuick ? Math.min(maxIdle, 2 * cli.idleConnections) : maxIdle
  if (cli.idleConnections > maxIdle) {
    if (Number.isFinite(cli.idleConnections)) {
      process.stdout.write(`idle: ${cli.idleConnections} connections would not fit in ulimit -n ${machine.openFileLimit}; using ${maxIdle}\n`)
    }
    cli.idleConnections = maxIdle
  }
  process.stdout.write(`Halyard bench: ${machine.cpu}, ${machine.cores} cores, node ${machine.node}, ` +
    `ulimit -n ${machine.openFileLimit}\n` +
    `  brokers: halyard ${machine.halyardCommit}, ${machine.mosquitto ?? 'mosquitto NOT INSTALLED (apt-get install -y mosquitto); running without it'}, aedes ${machine.aedes}\n` +
    `  ${isPinned ? `pinned: broker on core ${BROKER_CORE}, load generator on core ${LOAD_CORE} (taskset)` : 'NOT pinned: broker and load share the cores; numbers are noisier'}\n` +
    `  ${cli.rounds} round(s), ${cli.seconds} s per run, TCP_NODELAY on every load socket\n\n`)

  const runs: RunRecord[] = []
  const summaries: Summary[] = []
  const startedAt = new Date()
  try {
    for (const scenario of cli.scenarios) {
      const targets = scenario.targets.filter((t) => cli.brokers.has(t) && (t !== 'mosquitto' || mosquittoPath !== null))
      process.stdout.write(`${scenario.name}: ${scenario.title}\n`)
      const rounds = Math.min(cli.rounds, scenario.maxRounds ?? cli.rounds)
      for (let round = 0; round < rounds; round++) {
        for (const target of rotate(targets, round)) {
          const record = scenario.name === 'cold-start'
            ? await runColdStart(scenario, target, round, cli, env, machine)
            : await runOne(scenario, target, round, cli, env, machine)
          runs.push(record)
          process.stdout.write(`  ${progressLine(record, scenario, rounds)}\n`)
        }
      }
      summaries.push(...summarise(scenario, targets, runs))
    }
  } finally {
    rmSync(tmpRoot, { recursive: true, force: true })
  }

  const table = formatTable(cli.scenarios, summaries)
  const warnings = formatWarnings(summaries)
  process.stdout.write(`\nMedians over ${cli.rounds} round(s). H/Mosq and H/Aedes divide Halyard's key metric by the other broker's ` +
    `(rates: higher is better; latency, memory and time: lower is better).\n\n${table}\n\n`)
  if (warnings.length > 0) process.stdout.write(`${warnings.join('\n')}\n\n`)
  mkdirSync(dirname(cli.out), { recursive: true })
  writeFileSync(cli.out, `${JSON.stringify({
    startedAt: startedAt.toISOString(), finishedAt: new Date().toISOString(), argv: process.argv.slice(2),
    machine, pinned: isPinned, options: { ...cli, scenarios: cli.scenarios.map((s) => s.name), brokers: [...cli.brokers] },
    summary: summaries, runs, table,
  }, null, 2)}\n`)
  process.stdout.write(`Results: ${cli.out}\n`)
  const failed = runs.filter((r) => r.error !== undefined).length
  if (failed > 0) {
    process.stdout.write(`${failed} run(s) failed; see the ERROR lines above.\n`)
    process.exitCode = 1
  }
}

await main()
