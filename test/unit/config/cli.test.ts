import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { helpText, settings } from '../../../src/config/index.js'

const cli = fileURLToPath(new URL('../../../src/cli.ts', import.meta.url))
// the child needs the same TypeScript loader this test runs under
const loader = process.execArgv.filter((arg) => arg.includes('@tapjs/typescript'))

function halyard(cwd: string, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('HALYARD_')))
  const { status, stdout, stderr } = spawnSync(process.execPath, [...loader, cli, ...args], { cwd, env, encoding: 'utf8', timeout: 30_000 })
  return { status, stdout, stderr }
}

t.test('--help prints the help and exits 0', async (t) => {
  const { status, stdout, stderr } = halyard(t.testdir(), '--help')
  t.equal(status, 0)
  t.equal(stdout, helpText())
  t.equal(stderr, '')
})

t.test('a bad value exits 2 with the one-line message and no stack', async (t) => {
  const { status, stdout, stderr } = halyard(t.testdir(), '--port', 'abc')
  t.equal(status, 2)
  t.equal(stdout, '')
  const expected = settings.find((s) => s.key === 'port')?.expected
  t.equal(stderr, `halyard: config: port = "abc" (from --port): expected ${expected}\n`)
})

t.test('an unknown flag or a missing config file exits 2', async (t) => {
  const flag = halyard(t.testdir(), '--prot', '1')
  t.equal(flag.status, 2)
  t.match(flag.stderr, /^halyard: config: unknown flag --prot \(did you mean --port\?\); run halyard --help/)
  const file = halyard(t.testdir(), '--config', 'missing.json')
  t.equal(file.status, 2)
  t.match(file.stderr, /^halyard: config: cannot read config file missing\.json .*: no such file\n$/)
})
