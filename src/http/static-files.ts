/**
 * A small static file server for the WebSocket listener's HTTP side (`serveStatic`), so a
 * browser dashboard and the broker it talks to share one origin and one port.
 *
 * Path traversal is the one thing a file server must not get wrong, so a request path is
 * checked at three levels, each of which alone would keep it inside the root:
 * 1. the decoded path is split into segments, and `..`, `.`-prefixed names (`.env`, `.git`),
 *    backslashes and NUL bytes are refused before the file system is touched; decoding first
 *    matters, since `%2e%2e%2f` is `../` once decoded;
 * 2. the joined path must still lie under the root;
 * 3. its real path (symbolic links resolved) must lie under the root's real path.
 * Only GET and HEAD are served; directories serve their `index.html`.
 */
import { createReadStream } from 'node:fs'
import { realpath, stat } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { extname, join, resolve, sep } from 'node:path'
import type { Logger } from 'pino'

export interface StaticFilesOptions {
  /** The folder served at `/`. */
  root: string
  /** Exact URL paths served from a file outside the root, e.g. `/vendor/mqtt.js`. */
  mounts?: Readonly<Record<string, string>>
  log?: Logger
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
}

type Outcome = { file: string } | { status: 301; location: string } | { status: 400 | 403 | 404 }

/** Returns an HTTP request handler serving `root`. */
export function staticFiles(opts: StaticFilesOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const root = resolve(opts.root)
  const mounts = new Map(Object.entries(opts.mounts ?? {}))
  let realRoot: Promise<string> | undefined
  const locate = async (urlPath: string): Promise<Outcome> => {
    const mounted = mounts.get(urlPath)
    if (mounted !== undefined) {
      return (await stat(mounted).catch(() => undefined))?.isFile() === true ? { file: mounted } : { status: 404 }
    }
    realRoot ??= realpath(root)
    return locateUnder(root, await realRoot, urlPath)
  }
  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, 'Method Not Allowed', { allow: 'GET, HEAD' })
      return
    }
    const urlPath = pathOf(req.url)
    locate(urlPath)
      .then((outcome) => respond(req, res, outcome))
      .catch((err: unknown) => {
        opts.log?.warn({ err, path: urlPath }, 'static file could not be served')
        if (!res.headersSent) send(res, 500, 'Internal Server Error')
        else res.destroy()
      })
  }
}

async function locateUnder(root: string, realRoot: string, urlPath: string): Promise<Outcome> {
  let decoded: string
  try {
    decoded = decodeURIComponent(urlPath)
  } catch {
    return { status: 400 }
  }
  if (!decoded.startsWith('/') || decoded.includes('\0') || decoded.includes('\\')) return { status: 400 }
  const segments = decoded.split('/').filter((s) => s !== '')
  if (segments.some((s) => s === '..')) return { status: 400 }
  if (segments.some((s) => s.startsWith('.'))) return { status: 404 }
  const path = join(root, ...segments)
  if (path !== root && !path.startsWith(root + sep)) return { status: 400 }
  const real = await realpath(path).catch(() => undefined)
  if (real === undefined) return { status: 404 }
  if (real !== realRoot && !real.startsWith(realRoot + sep)) return { status: 403 }
  const info = await stat(real)
  if (info.isDirectory()) {
    // Relative links in index.html resolve against the directory only with the slash.
    // Built from the checked segments, so `//evil.example` cannot become an open redirect.
    if (!decoded.endsWith('/')) return { status: 301, location: `/${segments.map(encodeURIComponent).join('/')}/` }
    const index = join(real, 'index.html')
    return (await stat(index).catch(() => undefined))?.isFile() === true ? { file: index } : { status: 404 }
  }
  return info.isFile() ? { file: real } : { status: 404 }
}

async function respond(req: IncomingMessage, res: ServerResponse, outcome: Outcome): Promise<void> {
  if (!('file' in outcome)) {
    if (outcome.status === 301) send(res, 301, 'Moved Permanently', { location: outcome.location })
    else send(res, outcome.status, STATUS_TEXT[outcome.status])
    return
  }
  const info = await stat(outcome.file)
  res.writeHead(200, {
    'content-type': CONTENT_TYPES[extname(outcome.file).toLowerCase()] ?? 'application/octet-stream',
    'content-length': info.size,
    'cache-control': 'no-cache',
    'x-content-type-options': 'nosniff',
  })
  if (req.method === 'HEAD') {
    res.end()
    return
  }
  const body = createReadStream(outcome.file)
  body.on('error', () => res.destroy())
  body.pipe(res)
}

const STATUS_TEXT = { 400: 'Bad Request', 403: 'Forbidden', 404: 'Not Found' } as const

function send(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff', ...headers })
  res.end(`${text}\n`)
}

function pathOf(url: string | undefined): string {
  const raw = url ?? '/'
  const end = raw.search(/[?#]/)
  return end === -1 ? raw : raw.slice(0, end)
}
