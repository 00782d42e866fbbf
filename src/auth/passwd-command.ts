/**
 * `halyard passwd`: creates and updates password files in Mosquitto's format, with the same
 * arguments as `mosquitto_passwd`, so a file made by either tool works with both brokers
 * (unless it holds `--scram-sha-256` entries, which only Halyard reads).
 *
 *   halyard passwd [-c] FILE USER               asks for the password twice
 *   halyard passwd [-c] -b FILE USER PASSWORD   batch mode (the password is visible in ps!)
 *   halyard passwd -D FILE USER                 deletes USER
 *   --scram-sha-256, -I N                       the kind of entry, its iteration count
 *
 * Entries are `$7$` (PBKDF2-SHA512, 101 iterations, as mosquitto_passwd 2.x writes them), or
 * with `--scram-sha-256` SCRAM-SHA-256 verifiers in PostgreSQL's format (4096 iterations by
 * default), which Halyard reads and Mosquitto does not. Other lines, comments included, are
 * kept as they are. The file is written to a temporary file and renamed over the old one, so
 * a crash never leaves half a file; a new file is created readable by its owner only.
 */
import { chmod, readFile, rename, stat, writeFile } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import type { Readable, Writable } from 'node:stream'
import { isAuthFileError } from './errors.js'
import { PBKDF2_ITERATIONS, SCRAM_SHA256_ITERATIONS, hashPassword, hashScramSha256, parsePasswordFile } from './password-file.js'

export interface PasswdIo {
  stdin: Readable & { isTTY?: boolean; setRawMode?: (mode: boolean) => unknown }
  stdout: Writable
  stderr: Writable
}

const USAGE = `Usage: halyard passwd [-c] [--scram-sha-256] [-I N] FILE USER
       halyard passwd [-c] [--scram-sha-256] [-I N] -b FILE USER PASSWORD
       halyard passwd -D FILE USER

Creates or updates a password file in Mosquitto's format ($7$: PBKDF2-SHA512, 101 iterations),
readable by halyard --password-file and by Mosquitto's password_file.

 -c                  create a new file, replacing any existing one
 -b                  batch mode: take the password from the command line (it shows in ps and
                     shell history)
 -D                  delete USER from the file
 --scram-sha-256     write a SCRAM-SHA-256 verifier (SCRAM-SHA-256$i:salt$StoredKey:ServerKey,
                     PostgreSQL's format) instead of $7$: USER can then log in with MQTT 5.0
                     enhanced authentication SCRAM-SHA-256 as well as with a plain password.
                     Mosquitto cannot read such entries (it drops those users), so USER can
                     log in to Halyard only. ($7$ users log in with SCRAM-SHA-512 instead.)
 -I, --iterations N  PBKDF2 iterations: default ${PBKDF2_ITERATIONS} for $7$ (1 to 10000000),
                     ${SCRAM_SHA256_ITERATIONS} for --scram-sha-256 (${SCRAM_SHA256_ITERATIONS} to 10000000)

Options go before FILE; after it, a USER or PASSWORD starting with "-" is taken as it is.
`

type EntryKind = '$7$' | 'scram-sha-256'

type Command =
  | { action: 'set'; file: string; user: string; password: string | undefined; create: boolean; kind: EntryKind; iterations: number }
  | { action: 'delete'; file: string; user: string }

class UsageError extends Error {}
class HelpRequest extends Error {}

/** Runs the command; resolves with the process exit code (0 ok, 1 failed, 2 usage). */
export async function runPasswd(args: readonly string[], io: PasswdIo): Promise<number> {
  let command: Command
  try {
    command = parseArgs(args)
  } catch (err) {
    if (err instanceof HelpRequest) {
      io.stdout.write(USAGE)
      return 0
    }
    if (!(err instanceof UsageError)) throw err
    io.stderr.write(`halyard passwd: ${err.message}\n\n${USAGE}`)
    return 2
  }
  try {
    if (command.action === 'delete') {
      await deleteUser(command.file, command.user)
    } else {
      const password = command.password ?? await askTwice(io)
      if (password === '') throw new Error('the password is empty: a user must have a password')
      const hash = command.kind === 'scram-sha-256'
        ? await hashScramSha256(password, command.iterations)
        : await hashPassword(password, command.iterations)
      await setUser(command.file, command.user, hash, command.create)
    }
    return 0
  } catch (err) {
    io.stderr.write(`halyard passwd: ${err instanceof Error ? err.message : String(err)}\n`)
    return 1
  }
}

function parseArgs(args: readonly string[]): Command {
  // Options come first, as with mosquitto_passwd: whatever follows FILE is taken as it is, so a
  // password (or username) may start with "-". "--" ends the options explicitly.
  const flags = new Set<string>()
  let iterationText: string | undefined
  let at = 0
  for (; at < args.length; at++) {
    const arg = args[at] ?? ''
    if (arg === '--') { at++; break }
    if (!arg.startsWith('-') || arg.length === 1) break
    if (arg === '-h' || arg === '--help') throw new HelpRequest()
    if (arg === '-I' || arg === '--iterations') {
      iterationText = args[++at]
      if (iterationText === undefined) throw new UsageError(`${arg} needs a number of iterations`)
      continue
    }
    if (!['-c', '-b', '-D', '--scram-sha-256'].includes(arg)) throw new UsageError(`unknown option ${arg}`)
    flags.add(arg)
  }
  const rest = args.slice(at)
  const isBatch = flags.has('-b')
  const isDelete = flags.has('-D')
  const kind: EntryKind = flags.has('--scram-sha-256') ? 'scram-sha-256' : '$7$'
  if (isDelete && (isBatch || flags.has('-c') || kind !== '$7$' || iterationText !== undefined)) {
    throw new UsageError('-D cannot be combined with -b, -c, --scram-sha-256 or -I')
  }
  const iterations = parseIterations(iterationText, kind)
  const expected = isBatch ? 3 : 2
  if (rest.length !== expected) throw new UsageError(`expected ${isBatch ? 'FILE USER PASSWORD' : 'FILE USER'}`)
  const [file = '', user = '', password] = rest
  checkUsername(user)
  if (isDelete) return { action: 'delete', file, user }
  return { action: 'set', file, user, password, create: flags.has('-c'), kind, iterations }
}

function parseIterations(text: string | undefined, kind: EntryKind): number {
  const [fallback, min] = kind === 'scram-sha-256' ? [SCRAM_SHA256_ITERATIONS, SCRAM_SHA256_ITERATIONS] : [PBKDF2_ITERATIONS, 1]
  if (text === undefined) return fallback
  const iterations = /^[1-9]\d{0,7}$/.test(text) ? Number(text) : NaN
  if (!(iterations >= min && iterations <= 10_000_000)) {
    throw new UsageError(`-I ${text}: iterations for ${kind} must be an integer from ${min} to 10000000`)
  }
  return iterations
}

function checkUsername(user: string): void {
  if (user === '') throw new UsageError('the username is empty')
  if (user.includes(':')) throw new UsageError('a username cannot contain ":" (it separates user and hash)')
  if (/[\r\n]/.test(user)) throw new UsageError('a username cannot contain a line break')
}

async function setUser(file: string, user: string, hash: string, create: boolean): Promise<void> {
  const lines = create ? [] : await readLines(file, true)
  const entry = `${user}:${hash}`
  const at = lines.findIndex((line) => line.startsWith(`${user}:`))
  if (at === -1) lines.push(entry)
  else lines[at] = entry
  await writeLines(file, lines)
}

async function deleteUser(file: string, user: string): Promise<void> {
  const lines = await readLines(file, false)
  const kept = lines.filter((line) => !line.startsWith(`${user}:`))
  if (kept.length === lines.length) throw new Error(`user ${user} is not in ${file}`)
  await writeLines(file, kept)
}

/** The file's lines, after checking it is a valid password file; `[]` when missing and `mayBeMissing`. */
async function readLines(file: string, mayBeMissing: boolean): Promise<string[]> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ENOENT' && mayBeMissing) return []
    if ((err as { code?: unknown }).code === 'ENOENT') throw new Error(`${file} does not exist`, { cause: err })
    throw err
  }
  try {
    parsePasswordFile(text, file)
  } catch (err) {
    if (isAuthFileError(err)) throw new Error(`${err.message}; fix that line first (or start over with -c)`, { cause: err })
    throw err
  }
  const lines = text.split('\n').map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line))
  if (lines.at(-1) === '') lines.pop()
  return lines
}

async function writeLines(file: string, lines: readonly string[]): Promise<void> {
  const mode = await stat(file).then((s) => s.mode & 0o777, () => 0o600)
  const temp = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`)
  await writeFile(temp, lines.length === 0 ? '' : `${lines.join('\n')}\n`, { mode })
  await chmod(temp, mode)
  await rename(temp, file)
}

/** Asks for the password twice, without echo on a terminal; plain lines from a pipe. */
async function askTwice(io: PasswdIo): Promise<string> {
  let first: string
  let second: string
  if (io.stdin.isTTY === true) {
    first = await askHidden(io, 'Password: ')
    second = await askHidden(io, 'Reenter password: ')
  } else {
    const rl = createInterface({ input: io.stdin, terminal: false })
    const lines = rl[Symbol.asyncIterator]()
    const next = async (prompt: string): Promise<string> => {
      io.stdout.write(`${prompt}\n`)
      const line = await lines.next()
      if (line.done === true) throw new Error('no password given on standard input')
      return String(line.value).replace(/\r$/, '')
    }
    try {
      first = await next('Password: ')
      second = await next('Reenter password: ')
    } finally {
      rl.close()
    }
  }
  if (first !== second) throw new Error('passwords do not match')
  return first
}

async function askHidden(io: PasswdIo, prompt: string): Promise<string> {
  io.stdout.write(prompt)
  io.stdin.setRawMode?.(true)
  io.stdin.resume()
  try {
    return await new Promise<string>((resolve, reject) => {
      let typed = ''
      const onData = (chunk: Buffer): void => {
        for (const ch of chunk.toString('utf8')) {
          if (ch === '\r' || ch === '\n') { done(); resolve(typed); return }
          if (ch === '\u0003') { done(); reject(new Error('interrupted')); return }
          if (ch === '\u007f' || ch === '\b') typed = typed.slice(0, -1)
          else typed += ch
        }
      }
      const done = (): void => { io.stdin.off('data', onData) }
      io.stdin.on('data', onData)
    })
  } finally {
    io.stdin.setRawMode?.(false)
    io.stdin.pause()
    io.stdout.write('\n')
  }
}
