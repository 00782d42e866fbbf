/**
 * Who may connect and what they may touch: the password file, the ACL file, the embedder's
 * hooks and `allowAnonymous`, composed in one place.
 *
 * Authentication (CONNECT), first answer wins:
 *   1. a verified client certificate, when `useIdentityAsUsername` is on: its CN is the
 *      username and no password is asked for;
 *   2. no username: refused if `allowAnonymous` is false; else the `authenticate` hook decides
 *      if there is one; else allowed if `allowAnonymous` is true, or if it is unset and there
 *      is no password file;
 *   3. a username found in the password file: the file decides (right password or 0x86); the
 *      hook is never asked, so it can neither let a wrong password in nor lock a user out;
 *   4. any other username: the hook decides if there is one; else 0x86 if there is a password
 *      file; else (no authenticator at all) the username proves nothing, and the client is let
 *      in only if anonymous clients are.
 *
 * `allowAnonymous` is read for the listener the client came in on (tcp, tls, ws, wss): one
 * boolean for all of them, or one per listener with the others unset, as Mosquitto's
 * `per_listener_settings` does. Everything else here is broker-wide.
 *
 * Authorization: the ACL file and the `authorizePublish` / `authorizeSubscribe` hooks must both
 * allow (the ACL is asked first, synchronously). Nobody may publish to `$SYS/`. Reads are
 * checked per delivered message through `reader()`, a per-session predicate with a small cache;
 * a reload bumps a generation number that empties every cache.
 *
 * Reload (SIGHUP): each file is read and parsed in full before it replaces the rules in force;
 * a file that fails keeps the previous rules and the error is logged (fail closed: a broken
 * file never means "no rules").
 */
import type { ScramCredentials, ScramDecoy } from './scram.js'
import { readFile } from 'node:fs/promises'
import type { Logger } from 'pino'
import { parseAclFile, type AclRules, type AclSubject } from './acl-file.js'
import { AuthFileError } from './errors.js'
import type { AuthenticateRequest, BrokerHooks } from './hooks.js'
import { answerToReason } from './hooks.js'
import { parsePasswordFile, type PasswordFile, type ScramEntryKind } from './password-file.js'

/** MQTT 5.0 reason codes this module answers with (3.1.1 clients get them mapped down). */
const SUCCESS = 0x00
const BAD_USERNAME_OR_PASSWORD = 0x86
const NOT_AUTHORIZED = 0x87

/** Topics per client whose verdict is remembered; past it the cache starts over. */
const CACHE_SIZE = 256

/** The listener a client connected through; the same names as the config's (src/config/schema.ts). */
export type ListenerName = 'tcp' | 'tls' | 'ws' | 'wss'

/** `allowAnonymous`: for every listener, per listener (those left out are not set), or not set. */
export type AnonymousAccess = boolean | Partial<Record<ListenerName, boolean>> | undefined

/** `allowAnonymous` as it applies to one listener; `undefined`: not set there. */
export function anonymousOn(access: AnonymousAccess, listener: ListenerName): boolean | undefined {
  return typeof access === 'object' ? access[listener] : access
}

export interface SecurityOptions {
  passwordFile: string | null
  aclFile: string | null
  /** `undefined` (for a listener): not set, which allows anonymous clients only when nothing authenticates. */
  allowAnonymous: AnonymousAccess
  hooks: BrokerHooks
  log: Logger
}

export interface ReloadResult {
  /** Files that were read and now apply. */
  reloaded: string[]
  /** Files that failed; their previous rules stay in force. */
  failed: Array<{ path: string; error: Error }>
}

export class Security {
  readonly #opts: SecurityOptions
  #passwords: PasswordFile | undefined
  #acl: AclRules | undefined
  #generation = 0
  /** Write verdicts per connection (the subject object is the connection), for PUBLISH. */
  readonly #writers = new WeakMap<AclSubject, (topic: string) => boolean>()

  constructor(opts: SecurityOptions) {
    this.#opts = opts
  }

  /** True when something checks credentials: a password file or an `authenticate` hook. */
  get hasAuthenticator(): boolean {
    return this.#opts.passwordFile !== null || this.#opts.hooks.authenticate !== undefined
  }

  get hasAcl(): boolean {
    return this.#opts.aclFile !== null
  }

  /** SCRAM-SHA-512 credentials from the password file's `$7$` entries (reloads included). */
  scramSha512(username: string): ScramCredentials | undefined {
    return this.#passwords?.scramSha512(username)
  }

  /** SCRAM-SHA-256 credentials from the password file's `SCRAM-SHA-256$` entries (reloads included). */
  scramSha256(username: string): ScramCredentials | undefined {
    return this.#passwords?.scramSha256(username)
  }

  /**
   * What SCRAM shows for a user without credentials of that kind: the salt length and iteration
   * count of the file's real entries of that kind, so a probe cannot tell who is in the file.
   */
  scramDecoy(kind: ScramEntryKind, fallback: ScramDecoy): ScramDecoy {
    return this.#passwords?.typical(kind) ?? fallback
  }

  /** Reads both files; throws `AuthFileError` so that a broker with a bad file does not start. */
  async load(): Promise<void> {
    const { passwordFile, aclFile, log } = this.#opts
    if (passwordFile !== null) {
      this.#passwords = parsePasswordFile(await read(passwordFile, 'passwordFile'), passwordFile)
      log.info({ passwordFile, users: this.#passwords.size }, 'password file loaded')
    }
    if (aclFile !== null) {
      this.#acl = parseAclFile(await read(aclFile, 'aclFile'), aclFile)
      this.#generation++
      log.info({ aclFile, rules: this.#acl.ruleCount }, 'ACL file loaded')
    }
  }

  /** Re-reads both files; a file that fails keeps its previous rules. Never throws for a bad file. */
  async reload(): Promise<ReloadResult> {
    const { passwordFile, aclFile, log } = this.#opts
    const result: ReloadResult = { reloaded: [], failed: [] }
    const attempt = async (path: string, key: string, apply: (text: string) => void): Promise<void> => {
      try {
        apply(await read(path, key))
        result.reloaded.push(path)
      } catch (err) {
        const error = err instanceof Error ? err : new Error(String(err))
        result.failed.push({ path, error })
        log.error({ file: path, err: error.message }, 'reload failed: keeping the previous rules')
      }
    }
    if (passwordFile !== null) {
      await attempt(passwordFile, 'passwordFile', (text) => { this.#passwords = parsePasswordFile(text, passwordFile) })
    }
    if (aclFile !== null) {
      await attempt(aclFile, 'aclFile', (text) => {
        this.#acl = parseAclFile(text, aclFile)
        this.#generation++
      })
    }
    if (result.reloaded.length > 0) log.info({ files: result.reloaded }, 'security files reloaded')
    return result
  }

  /**
   * The CONNECT decision (see the top of this file); returns a 5.0 reason code, 0 to allow.
   * `listener` is the one the client connected through; `certificateIdentity` is the verified
   * certificate's CN when it stands in for the username.
   */
  async authenticate(req: AuthenticateRequest, listener: ListenerName, certificateIdentity: string | undefined): Promise<number> {
    if (certificateIdentity !== undefined) return SUCCESS
    const { hooks } = this.#opts
    const allowAnonymous = anonymousOn(this.#opts.allowAnonymous, listener)
    const hook = hooks.authenticate
    const passwords = this.#passwordsOrFailClosed()
    if (req.username === undefined) {
      if (allowAnonymous === false) return NOT_AUTHORIZED
      if (hook !== undefined) return answerToReason(await hook(req), BAD_USERNAME_OR_PASSWORD)
      if (allowAnonymous === true) return SUCCESS
      return passwords === undefined ? SUCCESS : NOT_AUTHORIZED
    }
    if (passwords !== undefined && passwords !== null) {
      // Unknown users cost a hash too, so timing does not tell who is in the file.
      const isValid = await passwords.verify(req.username, req.password)
      if (passwords.has(req.username)) return isValid ? SUCCESS : BAD_USERNAME_OR_PASSWORD
    }
    if (hook !== undefined) return answerToReason(await hook(req), BAD_USERNAME_OR_PASSWORD)
    if (passwords !== undefined) return BAD_USERNAME_OR_PASSWORD
    return allowAnonymous === false ? NOT_AUTHORIZED : SUCCESS
  }

  /** PUBLISH and wills: never `$SYS/`, and the ACL's write access when there is an ACL file. */
  canPublish(client: AclSubject, topic: string): boolean {
    if (isSysTopic(topic)) return false
    if (!this.hasAcl) return true
    let canWrite = this.#writers.get(client)
    if (canWrite === undefined) {
      const subject = { clientId: client.clientId, username: client.username }
      canWrite = this.#cached((topic) => this.#acl?.canWrite(subject, topic) ?? false)
      this.#writers.set(client, canWrite)
    }
    return canWrite(topic)
  }

  canSubscribe(client: AclSubject, filter: string): boolean {
    if (!this.hasAcl) return true
    return this.#acl?.canSubscribe(client, filter) ?? false
  }

  /**
   * The per-delivery read check for one client's session, or `undefined` when there is no ACL
   * (nothing to check). Kept out of the router's trie walk: the session calls it before it
   * sends or queues a message.
   */
  reader(client: AclSubject): ((topic: string) => boolean) | undefined {
    if (!this.hasAcl) return undefined
    const subject = { clientId: client.clientId, username: client.username }
    return this.#cached((topic) => this.#acl?.canRead(subject, topic) ?? false)
  }

  /** `check` behind a small per-topic cache that a reload (a new generation) empties. */
  #cached(check: (topic: string) => boolean): (topic: string) => boolean {
    const cache = new Map<string, boolean>()
    let generation = this.#generation
    return (topic) => {
      if (generation !== this.#generation) {
        cache.clear()
        generation = this.#generation
      }
      let isAllowed = cache.get(topic)
      if (isAllowed === undefined) {
        isAllowed = check(topic)
        if (cache.size >= CACHE_SIZE) cache.clear()
        cache.set(topic, isAllowed)
      }
      return isAllowed
    }
  }

  /** `null`: a password file is configured but not loaded (refuse everyone named); `undefined`: none. */
  #passwordsOrFailClosed(): PasswordFile | null | undefined {
    if (this.#opts.passwordFile === null) return undefined
    return this.#passwords ?? null
  }
}

/**
 * `$SYS` and everything under it belong to the broker: MQTT 5.0 section 4.7.2 says servers
 * should stop clients exchanging messages through `$` topics, and a forged `$SYS/` message
 * would be trusted as the broker's own.
 */
export function isSysTopic(topic: string): boolean {
  return topic === '$SYS' || topic.startsWith('$SYS/')
}

/** True for addresses only this machine can reach: 127.0.0.0/8, ::1, localhost. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '')
  return h === 'localhost' || h === '::1' || /^(?:::ffff:)?127(?:\.\d{1,3}){3}$/.test(h)
}

/**
 * Why the broker must not start, or `undefined`: a listener beyond loopback with nothing that
 * authenticates and `allowAnonymous` not set for it would let anyone in without anyone having
 * said so. `listeners` are those the broker is about to start; every one shares `host`.
 */
export function anonymousExposure(
  host: string,
  listeners: readonly ListenerName[],
  allowAnonymous: AnonymousAccess,
  hasAuthenticator: boolean,
): string | undefined {
  if (isLoopbackHost(host) || hasAuthenticator) return undefined
  const open = listeners.filter((listener) => anonymousOn(allowAnonymous, listener) === undefined)
  if (open.length === 0) return undefined
  const them = open.length === 1 ? 'it' : 'them'
  const which = `the ${open.join(' and ')} listener${open.length === 1 ? '' : 's'}`
  const each = (value: boolean): string => open.map((listener) => `${listener}=${value}`).join(',')
  return `host ${host} accepts connections from other machines on ${which}, but there is no passwordFile or ` +
    `authenticate hook and allowAnonymous is not set for ${them}, so anyone who can reach ${them} could connect. ` +
    'Set passwordFile (create one with "halyard passwd -c FILE USER"), or set allowAnonymous to true ' +
    `(--allow-anonymous true, or --allow-anonymous ${each(true)} for ${which} only) to accept anonymous clients on ` +
    `purpose, or to false (--allow-anonymous false, or ${each(false)}) when clients log in with certificates ` +
    '(useIdentityAsUsername), or listen on 127.0.0.1. See docs/security.md'
}

async function read(path: string, key: string): Promise<string> {
  try {
    return await readFile(path, 'utf8')
  } catch (err) {
    const code = (err as { code?: unknown }).code
    const hint = key === 'passwordFile' ? ' (create it with "halyard passwd -c FILE USER")' : ''
    const reason = code === 'ENOENT' ? `no such file${hint}` : code === 'EACCES' ? 'permission denied' : String(err)
    throw new AuthFileError('AUTH_FILE_UNREADABLE', path, `cannot read ${key}: ${reason}`, { cause: err })
  }
}
