// Aedes as the benchmark runs it: default in-memory persistence and mqemitter, one TCP
// listener on 127.0.0.1 with TCP_NODELAY on, nothing else. Usage: node bench/aedes-server.mjs --port N
import { createServer } from 'node:net'
import process from 'node:process'
import { setTimeout } from 'node:timers'
import { Aedes } from 'aedes'

const portFlag = process.argv.indexOf('--port')
const port = portFlag === -1 ? 1883 : Number(process.argv[portFlag + 1])

const broker = await Aedes.createBroker()
const server = createServer({ noDelay: true }, broker.handle)
server.listen(port, '127.0.0.1', () => process.stdout.write(`aedes listening on 127.0.0.1:${port}\n`))

const stop = () => {
  server.close()
  broker.close(() => process.exit(0))
  setTimeout(() => process.exit(0), 1000).unref()
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
