import { readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import t from 'tap'
import { parsePasswordFile } from '../../../src/auth/index.js'
import { runPasswd } from '../../../src/auth/passwd-command.js'

/** `halyard passwd` with its arguments, stdin given as text; resolves with the exit code and output. */
async function passwd(args: string[], input = ''): Promise<{ code: number; out: string; err: string }> {
  const stdin = new PassThrough()
  const stdout = new PassThrough()
  const stderr = new PassThrough()
  let out = ''
  let err = ''
  stdout.on('data', (d: Buffer) => { out += d.toString() })
  stderr.on('data', (d: Buffer) => { err += d.toString() })
  stdin.end(input)
  const code = await runPasswd(args, { stdin, stdout, stderr })
  return { code, out, err }
}

const verify = async (file: string, user: string, password: string): Promise<boolean> =>
  parsePasswordFile(readFileSync(file, 'utf8'), file).verify(user, Buffer.from(password))

t.test('-c -b creates a file of $7$ entries readable only by its owner', async (t) => {
  const file = join(t.testdir(), 'pw')
  t.equal((await passwd(['-c', '-b', file, 'alice', 'wonder'])).code, 0)
  t.match(readFileSync(file, 'utf8'), /^alice:\$7\$101\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+\n$/)
  t.equal(statSync(file).mode & 0o777, 0o600)
  t.equal(await verify(file, 'alice', 'wonder'), true)
})

t.test('without -c, users are added or replaced and other lines (comments too) are kept', async (t) => {
  const file = join(t.testdir(), 'pw')
  await passwd(['-c', '-b', file, 'alice', 'one'])
  writeFileSync(file, `# team\n${readFileSync(file, 'utf8')}`)
  t.equal((await passwd(['-b', file, 'bob', 'two'])).code, 0)
  t.equal((await passwd(['-b', file, 'alice', 'three'])).code, 0)
  const lines = readFileSync(file, 'utf8').trimEnd().split('\n')
  t.equal(lines[0], '# team')
  t.same(lines.slice(1).map((l) => l.split(':')[0]), ['alice', 'bob'], 'alice replaced in place')
  t.equal(await verify(file, 'alice', 'three'), true)
  t.equal(await verify(file, 'bob', 'two'), true)
})

t.test('asks for the password twice (from a pipe here) and refuses a mismatch or an empty one', async (t) => {
  const file = join(t.testdir(), 'pw')
  const ok = await passwd([file, 'carol'], 'hunter2\nhunter2\n')
  t.equal(ok.code, 0)
  t.match(ok.out, /Password: [\s\S]*Reenter password: /)
  t.equal(await verify(file, 'carol', 'hunter2'), true)
  const mismatch = await passwd([file, 'dave'], 'one\ntwo\n')
  t.equal(mismatch.code, 1)
  t.match(mismatch.err, /passwords do not match/)
  const empty = await passwd([file, 'erin'], '\n\n')
  t.equal(empty.code, 1)
  t.match(empty.err, /password is empty/)
  t.notMatch(readFileSync(file, 'utf8'), /dave|erin/)
})

t.test('-D deletes a user; deleting one that is not there is an error', async (t) => {
  const file = join(t.testdir(), 'pw')
  await passwd(['-c', '-b', file, 'alice', 'a'])
  await passwd(['-b', file, 'bob', 'b'])
  t.equal((await passwd(['-D', file, 'alice'])).code, 0)
  t.notMatch(readFileSync(file, 'utf8'), /alice/)
  const missing = await passwd(['-D', file, 'alice'])
  t.equal(missing.code, 1)
  t.match(missing.err, /user alice is not in/)
})

t.test('refuses to touch a file it cannot read as a password file', async (t) => {
  const file = join(t.testdir(), 'pw')
  writeFileSync(file, 'alice:plaintext\n')
  const result = await passwd(['-b', file, 'bob', 'b'])
  t.equal(result.code, 1)
  t.match(result.err, /line 1: user "alice": not a \$6\$ or \$7\$ hash.*start over with -c/)
  t.equal(readFileSync(file, 'utf8'), 'alice:plaintext\n', 'unchanged')
})

t.test('--scram-sha-256 writes a PostgreSQL-style SCRAM-SHA-256 verifier, 4096 iterations by default', async (t) => {
  const file = join(t.testdir(), 'pw')
  t.equal((await passwd(['-c', '-b', file, 'alice', '$7$-user'])).code, 0)
  t.equal((await passwd(['--scram-sha-256', '-b', file, 'dora', 'explorer'])).code, 0)
  const lines = readFileSync(file, 'utf8').trimEnd().split('\n')
  t.match(lines[0], /^alice:\$7\$101\$/, 'the other user keeps its $7$ entry')
  t.match(lines[1], /^dora:SCRAM-SHA-256\$4096:[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=:[A-Za-z0-9+/]{43}=$/)
  t.equal(await verify(file, 'dora', 'explorer'), true)
  t.equal(await verify(file, 'dora', 'Explorer'), false)
  t.ok(parsePasswordFile(readFileSync(file, 'utf8'), file).scramSha256('dora'), 'usable for SCRAM-SHA-256')
  t.equal((await passwd(['-b', file, 'dora', 'explorer'])).code, 0)
  t.match(readFileSync(file, 'utf8'), /^dora:\$7\$/m, 'without the option, the user gets a $7$ entry again')
})

t.test('-I and --iterations set the iteration count, within each kind\'s bounds', async (t) => {
  const file = join(t.testdir(), 'pw')
  t.equal((await passwd(['-c', '--scram-sha-256', '-I', '5000', '-b', file, 'a', 'x'])).code, 0)
  t.equal((await passwd(['--iterations', '2000', '-b', file, 'b', 'y'])).code, 0)
  const text = readFileSync(file, 'utf8')
  t.match(text, /^a:SCRAM-SHA-256\$5000:/m)
  t.match(text, /^b:\$7\$2000\$/m)
  t.equal(await verify(file, 'a', 'x'), true)
  t.equal(await verify(file, 'b', 'y'), true)
  for (const args of [['--scram-sha-256', '-I', '4095'], ['-I', '0'], ['-I', '10000001'], ['-I', 'many'], ['-I', '-b']]) {
    const result = await passwd([...args, '-b', file, 'c', 'z'])
    t.equal(result.code, 2, args.join(' '))
    t.match(result.err, /iterations for .* must be an integer from|unknown option|needs a number/, args.join(' '))
  }
  t.notMatch(readFileSync(file, 'utf8'), /^c:/m, 'nothing written on a usage error')
  const missing = await passwd(['-b', file, 'c', 'z', '-I'])
  t.equal(missing.code, 2, 'options go before FILE: "-I" after it is a fourth argument')
})

t.test('--help documents --scram-sha-256, -I, and that Mosquitto cannot read SCRAM-SHA-256 entries', async (t) => {
  const { out } = await passwd(['--help'])
  t.match(out, /--scram-sha-256/)
  t.match(out, /-I, --iterations N/)
  t.match(out, /Mosquitto cannot read such entries/)
})

t.test('usage errors exit 2 with the usage text', async (t) => {
  const dir = t.testdir()
  for (const args of [[], [join(dir, 'pw')], ['-x', 'f', 'u'], ['-D', '-b', 'f', 'u', 'p'], ['-D', '--scram-sha-256', 'f', 'u'], ['-D', '-I', '5000', 'f', 'u'], ['-I'], ['-b', 'f', 'u'], ['f', 'a:b'], ['f', '']]) {
    const result = await passwd(args)
    t.equal(result.code, 2, args.join(' '))
    t.match(result.err, /Usage: halyard passwd/)
  }
})

t.test('--help and -h print the usage on stdout and exit 0', async (t) => {
  for (const args of [['--help'], ['-h'], ['-c', '--help']]) {
    const result = await passwd(args)
    t.equal(result.code, 0, args.join(' '))
    t.match(result.out, /^Usage: halyard passwd/)
    t.equal(result.err, '')
  }
})

t.test('options go before FILE: a password or username starting with "-" is taken as it is', async (t) => {
  const file = join(t.testdir(), 'pw')
  t.equal((await passwd(['-c', '-b', file, 'alice', '-secret-'])).code, 0)
  t.equal(await verify(file, 'alice', '-secret-'), true, 'the password "-secret-"')
  t.equal((await passwd(['-b', file, '-D', 'x'])).code, 0, 'a user named "-D" in batch mode')
  t.equal(await verify(file, '-D', 'x'), true)
  t.equal((await passwd(['-D', '--', file, '-D'])).code, 0, '"--" ends the options')
  t.notMatch(readFileSync(file, 'utf8'), /^-D:/m)
})
