import type { Server as NetServer } from 'node:net'

/** Starts listening; resolves once bound, rejects with the bind error (EADDRINUSE and the like). */
export function listen(server: NetServer, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
}
