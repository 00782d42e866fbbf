import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https'
import type { TLSSocket } from 'node:tls'
import { WebSocketServer, createWebSocketStream } from 'ws'
import type { StreamHandler } from './tcp.js'
import { serverOptions, verifiedCommonName, type TlsListenerOptions } from './tls.js'

export interface WsListener {
  /** An HTTPS server (which can reload its certificate) when the listener is WSS. */
  server: Server | HttpsServer
  wss: WebSocketServer
}

/**
 * MQTT over WebSocket: the `mqtt` subprotocol [MQTT-6.0.0-3, -4] (and `mqttv3.1` for old
 * clients), binary frames carrying a byte stream, so packets may span frames [MQTT-6.0.0-2].
 * The stream handed on is the same kind of duplex the TCP listener hands on.
 */
export async function listenWs(
  opts: { host: string; port: number; path: string; maxPayload: number; tls?: TlsListenerOptions },
  onStream: StreamHandler,
): Promise<WsListener> {
  const answer = (_req: IncomingMessage, res: ServerResponse): void => {
    res.writeHead(426, { 'content-type': 'text/plain' })
    res.end(`This is an MQTT over WebSocket endpoint: connect a WebSocket to ${opts.path} with subprotocol "mqtt".\n`)
  }
  const tls = opts.tls
  const server = tls === undefined ? createServer(answer) : createHttpsServer(serverOptions(tls), answer)
  const onError = tls?.onHandshakeError
  if (onError !== undefined) server.on('tlsClientError', (err: Error, socket: TLSSocket) => onError(err, socket.remoteAddress))
  const wss = new WebSocketServer({
    server,
    path: opts.path,
    maxPayload: opts.maxPayload,
    handleProtocols: (protocols) => {
      for (const p of ['mqtt', 'mqttv3.1']) if (protocols.has(p)) return p
      return false
    },
  })
  wss.on('connection', (socket, req) => {
    const stream = createWebSocketStream(socket)
    // ws's stream only ends its readable side when the socket closes, and never emits 'close'
    // by itself: destroy it so an abrupt disconnect looks like a TCP one (the will is due
    // [MQTT-3.1.2-8], the session is detached) instead of lingering until keepalive.
    socket.once('close', () => stream.destroy())
    // A text frame is not MQTT: close the connection [MQTT-6.0.0-1].
    socket.on('message', (_data, isBinary) => {
      if (!isBinary) socket.close(1003, 'MQTT needs binary frames')
    })
    const info = { remoteAddress: req.socket.remoteAddress, remotePort: req.socket.remotePort }
    if (tls === undefined) onStream(stream, { ...info, transport: 'ws' })
    else onStream(stream, { ...info, transport: 'wss', certificateCommonName: verifiedCommonName(req.socket as TLSSocket) })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  return { server, wss }
}
