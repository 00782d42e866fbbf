import { request } from 'node:http'
import { symlink } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { startBroker } from '../helpers/broker.js'

/*
 * serveStatic: the WebSocket port also serves a folder (a dashboard) and MQTT.js's browser
 * bundle, and never anything outside that folder.
 */

interface Answer {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

/** A raw HTTP request: the path goes on the wire exactly as given (fetch would normalise `..`). */
async function get(port: number, path: string, method = 'GET'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }))
      res.on('error', reject)
    })
    req.setTimeout(5000, () => req.destroy(new Error(`no answer to ${method} ${path}`)))
    req.on('error', reject)
    req.end()
  })
}

const SECRET = 'outside-the-root-secret'
const dir = t.testdir({
  'outside.txt': SECRET,
  site: {
    'index.html': '<!doctype html><title>dash</title>',
    'app.js': 'export const x = 1\n',
    '.env': `TOKEN=${SECRET}`,
    sub: { 'index.html': 'sub index' },
    empty: {},
  },
})
const root = join(dir, 'site')
await symlink(dir, join(root, 'link-out'))
const b = await startBroker({ ws: true, memory: true, config: { serveStatic: root } })
t.teardown(() => b.close())
const port = b.wsPort

t.test('serves the folder and the MQTT.js bundle', async (t) => {
  const index = await get(port, '/')
  t.equal(index.status, 200)
  t.equal(index.headers['content-type'], 'text/html; charset=utf-8')
  t.equal(index.body, '<!doctype html><title>dash</title>')
  const app = await get(port, '/app.js?v=2')
  t.equal(app.status, 200, 'a query string is ignored')
  t.equal(app.headers['content-type'], 'text/javascript; charset=utf-8', 'modules get a JavaScript type')
  t.equal(app.headers['x-content-type-options'], 'nosniff')
  const bundle = await get(port, '/vendor/mqtt.js')
  t.equal(bundle.status, 200)
  t.equal(bundle.headers['content-type'], 'text/javascript; charset=utf-8')
  t.match(bundle.body, /export default/, 'the ES module build of MQTT.js')
  t.equal((await get(port, '/sub/')).body, 'sub index', 'a folder serves its index.html')
  const redirect = await get(port, '/sub')
  t.same([redirect.status, redirect.headers.location], [301, '/sub/'], 'a folder without the slash is redirected to it')
  const head = await get(port, '/app.js', 'HEAD')
  t.same([head.status, head.headers['content-length'], head.body], [200, '19', ''], 'HEAD: headers only')
})

t.test('what it does not serve', async (t) => {
  t.equal((await get(port, '/missing.js')).status, 404)
  t.equal((await get(port, '/empty/')).status, 404, 'a folder without index.html is not listed')
  t.equal((await get(port, '/', 'POST')).status, 405)
  t.equal((await get(port, '/mqtt')).status, 426, 'wsPath answers plain HTTP with 426 Upgrade Required')
})

t.test('path traversal and hidden files: never a byte from outside the root', async (t) => {
  const attempts: Array<[string, number]> = [
    ['/../outside.txt', 400],
    ['/sub/../../outside.txt', 400],
    ['/%2e%2e/outside.txt', 400],
    ['/%2E%2E%2Foutside.txt', 400],
    ['/sub/..%2f..%2foutside.txt', 400],
    ['/..%5coutside.txt', 400],
    ['/sub%5c..%5c..%5coutside.txt', 400],
    ['/app.js%00.html', 400],
    ['/%E0%A4%A', 400],
    ['/.env', 404],
    ['/%2eenv', 404],
    ['/link-out/outside.txt', 403],
    ['//outside.txt', 404],
    ['http://example.com/../outside.txt', 400],
  ]
  for (const [path, status] of attempts) {
    const answer = await get(port, path)
    t.equal(answer.status, status, `${path} -> ${status}`)
    t.notMatch(answer.body, SECRET, `${path} leaks nothing`)
  }
})

t.test('serveStatic is checked when the broker starts', async (t) => {
  await t.rejects(startBroker({ ws: true, memory: true, config: { serveStatic: join(dir, 'nope') } }),
    { code: 'CONFIG_INVALID_VALUE' }, 'a folder that does not exist')
  await t.rejects(startBroker({ memory: true, config: { serveStatic: root } }),
    { code: 'CONFIG_CONFLICT' }, 'no WebSocket listener to serve it on')
})

t.test('without serveStatic the port answers every plain HTTP request with 426', async (t) => {
  const plain = await startBroker({ ws: true, memory: true })
  t.teardown(() => plain.close())
  t.equal((await get(plain.wsPort, '/')).status, 426)
  t.equal((await get(plain.wsPort, '/vendor/mqtt.js')).status, 426)
})
