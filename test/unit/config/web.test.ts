import { resolve } from 'node:path'
import t from 'tap'
import { defaultConfig, helpText } from '../../../src/config/index.js'
import { configError, load } from './load-helpers.js'

t.test('wsOrigins and serveStatic are off by default', async (t) => {
  t.same(defaultConfig.wsOrigins, [])
  t.equal(defaultConfig.serveStatic, null)
})

t.test('wsOrigins: a comma-separated flag or variable, an array in a file, stored as browsers send Origin', async (t) => {
  const cwd = t.testdir({ 'h.json': JSON.stringify({ wsOrigins: ['https://Dash.Example:443/', 'http://127.0.0.1:8080'] }) })
  t.same(load({ cwd, argv: ['--config', 'h.json'] }).config.wsOrigins, ['https://dash.example', 'http://127.0.0.1:8080'],
    'host lower-cased, default port and trailing slash dropped')
  t.same(load({ cwd, argv: ['--ws-origins', 'https://a.example, https://b.example:8443'] }).config.wsOrigins,
    ['https://a.example', 'https://b.example:8443'])
  t.same(load({ cwd, env: { HALYARD_WS_ORIGINS: 'http://localhost:3000' } }).config.wsOrigins, ['http://localhost:3000'])
})

t.test('wsOrigins: anything that is not a bare http(s) origin is refused, naming the key', async (t) => {
  const cwd = t.testdir()
  for (const bad of ['dash.example', 'https://dash.example/app', 'ftp://dash.example', 'https://dash.example?x=1']) {
    const err = configError(() => load({ cwd, argv: ['--ws-origins', bad] }))
    t.equal(err.code, 'CONFIG_INVALID_VALUE', bad)
    t.match(err.message, /wsOrigins = .* \(from --ws-origins\)/)
  }
  const file = t.testdir({ 'h.json': JSON.stringify({ wsOrigins: 'https://dash.example' }) })
  t.equal(configError(() => load({ cwd: file, argv: ['--config', 'h.json'] })).code, 'CONFIG_INVALID_VALUE', 'a string where a list belongs')
})

t.test('serveStatic: --serve-static DIR, resolved against the working directory', async (t) => {
  const cwd = t.testdir()
  t.equal(load({ cwd, argv: ['--serve-static', 'examples/dashboard'] }).config.serveStatic, resolve(cwd, 'examples/dashboard'))
  t.equal(load({ cwd, env: { HALYARD_SERVE_STATIC: '/srv/www' } }).config.serveStatic, '/srv/www')
})

t.test('--help describes both', async (t) => {
  const help = helpText()
  t.match(help, /--ws-origins ORIGINS\s+Origins whose web pages may connect/)
  t.match(help, /--serve-static DIR\s+Serve this folder over HTTP/)
})
