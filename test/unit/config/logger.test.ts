import { Writable } from 'node:stream'
import t from 'tap'
import { createLogger } from '../../../src/logger.js'

/** A destination that keeps what was written. */
function sink(): { stream: Writable; text: () => string } {
  const chunks: string[] = []
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      chunks.push(chunk.toString())
      done()
    },
  })
  return { stream, text: () => chunks.join('') }
}

const secrets = { password: 'hunter2', packet: { topic: 'a/b', payload: 'top secret', password: 'hunter3' } }

t.test('JSON lines with passwords and payloads redacted', async (t) => {
  const out = sink()
  const log = createLogger('info', { pretty: false, destination: out.stream })
  log.info(secrets, 'connected')
  log.debug('not at info')
  const lines = out.text().trim().split('\n')
  t.equal(lines.length, 1, 'debug is below info')
  const line = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>
  t.match(line, { msg: 'connected', password: '[redacted]', packet: { topic: 'a/b', payload: '[redacted]', password: '[redacted]' } })
  t.notMatch(out.text(), /hunter|top secret/)
})

t.test('pretty output is not JSON and is redacted too', async (t) => {
  const out = sink()
  const log = createLogger('debug', { pretty: true, destination: out.stream })
  log.debug(secrets, 'connected')
  t.match(out.text(), 'connected')
  t.match(out.text(), '[redacted]')
  t.notMatch(out.text(), /hunter|top secret/)
  t.throws(() => JSON.parse(out.text()) as unknown)
})

t.test('silent writes nothing', async (t) => {
  const out = sink()
  createLogger('silent', { pretty: false, destination: out.stream }).fatal('boom')
  t.equal(out.text(), '')
})
