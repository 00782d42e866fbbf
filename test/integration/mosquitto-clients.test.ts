import { execFile, spawn } from 'node:child_process'
import { promisify } from 'node:util'
import t from 'tap'
import { startBroker } from '../helpers/broker.js'
import { requireProgram } from '../helpers/programs.js'

const run = promisify(execFile)
const pubProgram = requireProgram('mosquitto_pub', 'mosquitto-clients')
const subProgram = requireProgram('mosquitto_sub', 'mosquitto-clients')

/** Runs mosquitto_sub until it has printed `count` messages (-C), bounded by -W seconds. */
function sub(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('mosquitto_sub', args)
    let out = ''
    let err = ''
    child.stdout.on('data', (d: Buffer) => { out += d.toString() })
    child.stderr.on('data', (d: Buffer) => { err += d.toString() })
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`mosquitto_sub exited ${code}: ${err}${out}`))))
  })
}

if ('skip' in pubProgram || 'skip' in subProgram) {
  // Not under CI (requireProgram throws there): skip, saying why.
  t.plan(0, 'skip' in pubProgram ? pubProgram.skip : 'skip' in subProgram ? subProgram.skip : '')
} else {
  t.test('mosquitto_pub/mosquitto_sub: the README scenario', async (t) => {
    const b = await startBroker()
    t.teardown(() => b.close())
    const common = ['-h', '127.0.0.1', '-p', String(b.port)]

    // A service with a persistent 5.0 session subscribes, then goes offline.
    const first = sub([...common, '-t', 'sensors/+/temp', '-q', '2', '-c', '-i', 'svc1', '-V', 'mqttv5', '-x', '3600', '-E'])
    t.equal(await first, '', 'subscribed and disconnected (-E)')

    await run('mosquitto_pub', [...common, '-t', 'sensors/kitchen/temp', '-m', '21.5', '-q', '1', '-r'])
    await run('mosquitto_pub', [...common, '-t', 'sensors/hall/temp', '-m', '19', '-q', '1'])
    await run('mosquitto_pub', [...common, '-t', 'sensors/hall/temp', '-m', '20', '-q', '1', '-V', 'mqttv5'])

    // Reconnecting without re-subscribing (-E would exit): mosquitto_sub always subscribes, so
    // the retained message arrives once more after the queued ones; count the queued three.
    const back = await sub([...common, '-t', 'sensors/+/temp', '-q', '2', '-c', '-i', 'svc1', '-V', 'mqttv5', '-x', '3600', '-C', '3', '-W', '5', '-v'])
    t.same(back.trim().split('\n'), ['sensors/kitchen/temp 21.5', 'sensors/hall/temp 19', 'sensors/hall/temp 20'],
      'every reading published while offline, in order [MQTT-4.6.0-6]')

    const retained = await sub([...common, '-t', 'sensors/#', '-C', '1', '-W', '5', '-v', '-V', 'mqttv311'])
    t.equal(retained.trim(), 'sensors/kitchen/temp 21.5', 'a new subscriber gets the retained value')
  })

  t.test('mosquitto_sub 3.1 (mqttv31) and 3.1.1 clients are served on the same listener', async (t) => {
    const b = await startBroker()
    t.teardown(() => b.close())
    const common = ['-h', '127.0.0.1', '-p', String(b.port)]
    await run('mosquitto_pub', [...common, '-t', 'v/31', '-m', 'old', '-r', '-V', 'mqttv31'])
    const got = await sub([...common, '-t', 'v/#', '-C', '1', '-W', '5', '-V', 'mqttv31'])
    t.equal(got.trim(), 'old')
  })
}
