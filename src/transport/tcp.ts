import { createServer, type Server, type Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import type { ConnectionInfo } from '../connection/index.js'
import { listen } from './listen.js'

export type StreamHandler = (stream: Duplex, info: ConnectionInfo) => void

/** A TCP listener: turns each socket into a stream plus who is on the other end. */
export async function listenTcp(opts: { host: string; port: number }, onStream: StreamHandler): Promise<Server> {
  const server = createServer({ noDelay: true }, (socket: Socket) => {
    onStream(socket, { remoteAddress: socket.remoteAddress, remotePort: socket.remotePort, transport: 'tcp' })
  })
  await listen(server, opts.port, opts.host)
  return server
}
