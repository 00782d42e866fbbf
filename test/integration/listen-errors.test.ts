import { createServer, type AddressInfo } from 'node:net'
import pino from 'pino'
import t from 'tap'
import { createBroker } from '../../src/index.js'

/*
 * An embedding application must get a rejected listen() for a port in use, on every
 * listener, and keep running: never an unhandled 'error' event.
 */
for (const which of ['port', 'wsPort'] as const) {
  t.test(`a busy ${which} rejects listen() with EADDRINUSE and the process carries on`, async (t) => {
    const blocker = createServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
    t.teardown(() => new Promise<void>((resolve) => blocker.close(() => resolve())))
    const busy = (blocker.address() as AddressInfo).port
    const broker = await createBroker({
      logger: pino({ level: 'silent' }),
      config: { host: '127.0.0.1', port: 0, wsPort: 0, dataDir: null, [which]: busy },
    })
    t.teardown(() => broker.close())
    await t.rejects(broker.listen(), { code: 'EADDRINUSE' })
  })
}
