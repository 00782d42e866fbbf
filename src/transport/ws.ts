/**
 * MQTT over WebSocket (MQTT 5.0 chapter 6, 3.1.1 section 6).
 *
 * The handshake is where this listener is strict:
 * - the subprotocol: `mqtt` [MQTT-6.0.0-3, -4], or `mqttv3.1` for MQTT 3.1 clients. A client
 *   that offers subprotocols but neither of these is refused (HTTP 400) rather than left to
 *   fail on a missing `Sec-WebSocket-Protocol` answer. A client that offers none is accepted,
 *   as Mosquitto does (libwebsockets binds it to the first protocol, `mqtt`): some embedded
 *   clients omit the header, and the bytes decide whether it speaks MQTT anyway;
 * - the `Origin` allow-list, when one is configured: a browser always sends its page's origin,
 *   so a listed origin keeps other sites' pages from reaching the broker with the user's
 *   network position. Requests without `Origin` (not from a browser) are not affected;
 * - the path, and the frame size (`maxPayload`: at least the broker's maximum packet size, so
 *   the largest packet fits one frame, and room for several packets in one; ws closes with 1009
 *   beyond it).
 *
 * After the handshake the WebSocket becomes a byte stream (`WebSocketStream`: binary frames
 * only [MQTT-6.0.0-1], packets independent of frames [MQTT-6.0.0-2], back-pressure both ways)
 * handed on exactly as a TCP socket is. The listener pings every client each `pingInterval`
 * and cuts one that has not answered the previous ping: a browser tab that vanished behind a
 * NAT or proxy is noticed even when its MQTT keep-alive is 0.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https'
import type { TLSSocket } from 'node:tls'
import { WebSocketServer, type WebSocket } from 'ws'
import type { StreamHandler } from './tcp.js'
import { serverOptions, verifiedCommonName, type TlsListenerOptions } from './tls.js'
import { WebSocketStream } from './ws-stream.js'
import { listen } from './listen.js'

export interface WsListener {
  /** An HTTPS server (which can reload its certificate) when the listener is WSS. */
  server: Server | HttpsServer
  wss: WebSocketServer
}

export type HttpHandler = (req: IncomingMessage, res: ServerResponse) => void

export interface WsListenerOptions {
  host: string
  port: number
  /** URL path WebSocket clients connect to. */
  path: string
  /** Largest frame (message) accepted, bytes: never below the broker's maximum packet size. */
  maxPayload: number
  tls?: TlsListenerOptions
  /** Origins allowed to connect (`https://example.com`); empty or missing allows every origin. */
  origins?: readonly string[]
  /** Milliseconds between WebSocket pings; 0 disables them. Default 30 s. */
  pingInterval?: number
  /** Plain HTTP requests (not upgrades) for paths other than `path`, e.g. static files. */
  onRequest?: HttpHandler
}

/** The subprotocols spoken, in order of preference. */
const SUBPROTOCOLS = ['mqtt', 'mqttv3.1'] as const
const DEFAULT_PING_INTERVAL = 30_000

export async function listenWs(opts: WsListenerOptions, onStream: StreamHandler): Promise<WsListener> {
  const upgradeRequired: HttpHandler = (_req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain' })
    res.end(`This is an MQTT over WebSocket endpoint: connect a WebSocket to ${opts.path} with subprotocol "mqtt".\n`)
  }
  const onRequest = opts.onRequest
  const answer: HttpHandler = onRequest === undefined
    ? upgradeRequired
    : (req, res) => (pathOf(req) === opts.path ? upgradeRequired(req, res) : onRequest(req, res))
  const tls = opts.tls
  const server = tls === undefined ? createServer(answer) : createHttpsServer(serverOptions(tls), answer)
  const onError = tls?.onHandshakeError
  if (onError !== undefined) server.on('tlsClientError', (err: Error, socket: TLSSocket) => onError(err, socket.remoteAddress))
  const origins = new Set(opts.origins ?? [])
  const wss = new WebSocketServer({
    server,
    path: opts.path,
    maxPayload: opts.maxPayload,
    // Compression would hide a slow reader's backlog inside zlib; MQTT payloads are the
    // application's business.
    perMessageDeflate: false,
    verifyClient: ({ origin, req }, done) => {
      if (origins.size > 0 && origin !== undefined && !origins.has(origin)) {
        done(false, 403, 'Origin not allowed')
        return
      }
      const offered = offeredProtocols(req)
      if (offered.length > 0 && !offered.some((p) => isSubprotocol(p))) {
        done(false, 400, 'MQTT over WebSocket needs the "mqtt" subprotocol')
        return
      }
      done(true)
    },
    handleProtocols: (protocols) => SUBPROTOCOLS.find((p) => protocols.has(p)) ?? false,
  })
  const stopPinging = keepAlive(wss, opts.pingInterval ?? DEFAULT_PING_INTERVAL)
  wss.once('close', stopPinging)
  // ws re-emits the HTTP server's errors (a busy port) on itself; listen() already reports
  // them, so this only keeps an unhandled 'error' from ending the process.
  wss.on('error', () => {})
  wss.on('connection', (socket, req) => {
    const stream = new WebSocketStream(socket)
    const info = { remoteAddress: req.socket.remoteAddress, remotePort: req.socket.remotePort }
    if (tls === undefined) onStream(stream, { ...info, transport: 'ws' })
    else onStream(stream, { ...info, transport: 'wss', certificateCommonName: verifiedCommonName(req.socket as TLSSocket) })
  })
  await listen(server, opts.port, opts.host)
  return { server, wss }
}

/** Pings every client each `intervalMs`; one that did not answer the previous ping is cut. */
function keepAlive(wss: WebSocketServer, intervalMs: number): () => void {
  if (intervalMs <= 0) return () => undefined
  const answered = new WeakSet<WebSocket>()
  wss.on('connection', (socket) => {
    answered.add(socket)
    socket.on('pong', () => answered.add(socket))
  })
  const timer = setInterval(() => {
    for (const socket of wss.clients) {
      if (!answered.has(socket)) {
        socket.terminate()
        continue
      }
      answered.delete(socket)
      socket.ping()
    }
  }, intervalMs)
  timer.unref()
  return () => clearInterval(timer)
}

function isSubprotocol(name: string): boolean {
  return SUBPROTOCOLS.some((p) => p === name)
}

function offeredProtocols(req: IncomingMessage): string[] {
  const header = req.headers['sec-websocket-protocol']
  if (header === undefined) return []
  return header.split(',').map((p) => p.trim()).filter((p) => p !== '')
}

function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '/'
  const query = url.indexOf('?')
  return query === -1 ? url : url.slice(0, query)
}
