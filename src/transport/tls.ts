import { createServer, type SecureContextOptions, type Server, type TLSSocket } from 'node:tls'
import type { StreamHandler } from './tcp.js'
import { listen } from './listen.js'

/** What a TLS or WSS listener needs beyond host and port. */
export interface TlsListenerOptions {
  /** Certificate, key, CA, minimum version, ciphers: what `setSecureContext` replaces on reload. */
  secure: SecureContextOptions
  /** Ask clients for a certificate. */
  requestCert: boolean
  /** Refuse clients without a certificate signed by the CA. */
  rejectUnauthorized: boolean
  /** Milliseconds a client may take to finish the handshake. */
  handshakeTimeout: number
  /** A failed handshake (a plain MQTT client on the TLS port, no or a bad certificate, a scanner). */
  onHandshakeError?: (err: Error, remoteAddress: string | undefined) => void
}

/**
 * MQTT over TLS: a TLS server whose sockets, once the handshake is done, are handed on like TCP
 * sockets, with the verified client certificate's Common Name when there is one.
 */
export async function listenTls(opts: { host: string; port: number; tls: TlsListenerOptions }, onStream: StreamHandler): Promise<Server> {
  const server = createServer(serverOptions(opts.tls), (socket: TLSSocket) => {
    socket.setNoDelay(true)
    onStream(socket, {
      remoteAddress: socket.remoteAddress,
      remotePort: socket.remotePort,
      transport: 'tls',
      certificateCommonName: verifiedCommonName(socket),
    })
  })
  const onError = opts.tls.onHandshakeError
  if (onError !== undefined) server.on('tlsClientError', (err, socket) => onError(err, socket.remoteAddress))
  await listen(server, opts.port, opts.host)
  return server
}

export function serverOptions(tls: TlsListenerOptions): SecureContextOptions & {
  requestCert: boolean
  rejectUnauthorized: boolean
  handshakeTimeout: number
} {
  return {
    ...tls.secure,
    requestCert: tls.requestCert,
    rejectUnauthorized: tls.rejectUnauthorized,
    handshakeTimeout: tls.handshakeTimeout,
  }
}

/**
 * The CN of the client's certificate, only when the certificate was verified against the CA
 * (an unverified certificate says nothing about who is on the other end). A certificate with
 * several CNs names nobody.
 */
export function verifiedCommonName(socket: TLSSocket): string | undefined {
  if (!socket.authorized) return undefined
  const cn: unknown = socket.getPeerCertificate().subject?.CN
  return typeof cn === 'string' && cn !== '' ? cn : undefined
}
