/**
 * Mosquitto's `acl_file`, read the way Mosquitto 2 reads it:
 *
 *   # comment
 *   topic read public/#          lines before any `user` line are for anonymous clients
 *   user alice                   the `topic` lines that follow are alice's
 *   topic readwrite alice/#
 *   topic deny alice/secret
 *   pattern write devices/%c/#   patterns apply to every client, wherever they appear
 *   pattern read users/%u/#
 *
 * Access is `read`, `write`, `readwrite` (the default when omitted) or `deny`. A check first
 * looks for a `deny` line matching the topic (then the answer is no), then for a line granting
 * the access; nothing found means no, so an empty file denies everything.
 *
 * `%u` and `%c` stand for the client's username and client id, and must fill a whole level
 * (`devices/%c/#`, never `dev-%c`). A client whose username or client id contains `+`, `#` or
 * `/` matches no pattern line at all: otherwise a client calling itself `#` would turn
 * `devices/%c/#` into a subscription to everything. A pattern using `%u` never applies to a
 * client without a username.
 *
 * SUBSCRIBE is allowed when one readable line covers the whole filter — every topic the filter
 * can match is also matched by that line (`sensors/#` covers `sensors/+/temp`, not `#`) — and
 * no deny line covers it. A deny line that covers only part of a wildcard subscription (deny
 * `a/secret`, subscribe `a/#`) does not refuse it: the delivery check (`canRead`) drops the
 * denied topics one message at a time.
 *
 * Unlike Mosquitto, which silently skips lines it does not understand, any other line is an
 * error naming its number: a mistyped `user` line would otherwise hand the next user's rules
 * to the previous one.
 */
import { parseSharedFilter, topicMatches, validateTopicFilter } from '../topic/index.js'
import { AuthFileError } from './errors.js'

export type Access = 'read' | 'write'
type LineAccess = Access | 'readwrite' | 'deny'

interface Rule {
  access: LineAccess
  filter: string
  /** The filter split into levels, `%u` / `%c` still in place for patterns. */
  levels: string[]
  usesUsername: boolean
  line: number
}

/** Who is asking: plain data. */
export interface AclSubject {
  clientId: string
  username: string | undefined
}

const UNSAFE_IN_PATTERN = /[+#/]/
const FILTER_LIMITS = { maxLength: 65_535, maxLevels: 65_535 }

export class AclRules {
  /** `topic` lines by username; anonymous clients' lines under `undefined`. */
  readonly #topics: ReadonlyMap<string | undefined, readonly Rule[]>
  readonly #patterns: readonly Rule[]

  constructor(topics: ReadonlyMap<string | undefined, readonly Rule[]>, patterns: readonly Rule[]) {
    this.#topics = topics
    this.#patterns = patterns
  }

  get ruleCount(): number {
    let n = this.#patterns.length
    for (const rules of this.#topics.values()) n += rules.length
    return n
  }

  /** May `subject` receive a message published to `topic`? */
  canRead(subject: AclSubject, topic: string): boolean {
    return this.#check(subject, 'read', (filter) => topicMatches(filter, topic))
  }

  /** May `subject` publish to `topic`? */
  canWrite(subject: AclSubject, topic: string): boolean {
    return this.#check(subject, 'write', (filter) => topicMatches(filter, topic))
  }

  /** May `subject` subscribe to `filter` (a `$share/{group}/` prefix is looked through)? */
  canSubscribe(subject: AclSubject, filter: string): boolean {
    const inner = parseSharedFilter(filter)?.filter ?? filter
    const levels = inner.split('/')
    return this.#check(subject, 'read', (rule) => covers(rule.split('/'), levels))
  }

  #check(subject: AclSubject, access: Access, matches: (filter: string) => boolean): boolean {
    const rules = this.#applicable(subject)
    for (const filter of rules.deny) if (matches(filter)) return false
    for (const [filter, granted] of rules.allow) {
      if ((granted === access || granted === 'readwrite') && matches(filter)) return true
    }
    return false
  }

  /** The lines that apply to this client, patterns filled in. */
  #applicable(subject: AclSubject): { deny: string[]; allow: Array<[string, LineAccess]> } {
    const deny: string[] = []
    const allow: Array<[string, LineAccess]> = []
    const add = (filter: string, access: LineAccess): void => {
      if (access === 'deny') deny.push(filter)
      else allow.push([filter, access])
    }
    for (const rule of this.#topics.get(subject.username) ?? []) add(rule.filter, rule.access)
    const { username, clientId } = subject
    const isSafe = !UNSAFE_IN_PATTERN.test(clientId) && (username === undefined || !UNSAFE_IN_PATTERN.test(username))
    if (!isSafe) return { deny, allow }
    for (const rule of this.#patterns) {
      if (rule.usesUsername && username === undefined) continue
      const filled = rule.levels.map((level) => (level === '%c' ? clientId : level === '%u' ? username ?? '' : level))
      add(filled.join('/'), rule.access)
    }
    return { deny, allow }
  }
}

/**
 * True when every topic that `filter` matches is also matched by `rule` (both split into
 * levels). A rule starting with a wildcard never covers `$` topics [MQTT-4.7.2-1].
 */
export function covers(rule: readonly string[], filter: readonly string[]): boolean {
  for (let i = 0; i < rule.length; i++) {
    const r = rule[i]
    if (i === 0 && (r === '+' || r === '#') && (filter[0]?.startsWith('$') ?? false)) return false
    if (r === '#') return true
    const f = filter[i]
    if (f === undefined || f === '#') return false
    if (r !== '+' && r !== f) return false
  }
  return rule.length === filter.length
}

/** Parses the text of an ACL file; `path` is only for messages. Throws `AuthFileError`. */
export function parseAclFile(text: string, path: string): AclRules {
  const topics = new Map<string | undefined, Rule[]>()
  const patterns: Rule[] = []
  let user: string | undefined
  for (const [index, raw] of text.split('\n').entries()) {
    const line = (raw.endsWith('\r') ? raw.slice(0, -1) : raw).trimStart()
    if (line === '' || line.startsWith('#')) continue
    const invalid = (message: string): AuthFileError =>
      new AuthFileError('AUTH_ACL_FILE_INVALID', path, message, { line: index + 1 })
    const [keyword = ''] = line.split(' ', 1)
    const rest = line.slice(keyword.length).trimStart()
    if (keyword === 'user') {
      if (rest.trim() === '') throw invalid('"user" needs a username')
      user = rest.trimEnd()
      continue
    }
    if (keyword !== 'topic' && keyword !== 'pattern') {
      throw invalid(`unknown keyword "${keyword}": lines are "user NAME", "topic [read|write|readwrite|deny] TOPIC" or "pattern [read|write|readwrite|deny] TOPIC"`)
    }
    const rule = parseRule(rest, keyword === 'pattern', index + 1, invalid)
    if (keyword === 'pattern') {
      patterns.push(rule)
    } else {
      const list = topics.get(user)
      if (list === undefined) topics.set(user, [rule])
      else list.push(rule)
    }
  }
  return new AclRules(topics, patterns)
}

function accessWord(word: string): LineAccess | undefined {
  switch (word) {
    case 'read': case 'write': case 'readwrite': case 'deny': return word
    default: return undefined
  }
}

function parseRule(rest: string, isPattern: boolean, line: number, invalid: (message: string) => AuthFileError): Rule {
  const [first = ''] = rest.split(' ', 1)
  const afterFirst = rest.slice(first.length).trimStart()
  // "topic read" alone names the topic "read", as in Mosquitto: the access word needs a topic after it.
  const named = afterFirst === '' ? undefined : accessWord(first)
  const access = named ?? 'readwrite'
  const filter = (named === undefined ? rest : afterFirst).trimEnd()
  if (filter === '') throw invalid('no topic: write "topic [read|write|readwrite|deny] TOPIC"')
  const problem = validateTopicFilter(filter, FILTER_LIMITS)
  if (problem !== null) throw invalid(`"${filter}": ${problem}`)
  if (parseSharedFilter(filter) !== null) throw invalid(`"${filter}": write the topic without $share/{group}/`)
  const levels = filter.split('/')
  if (isPattern) {
    const partial = levels.find((level) => /%[uc]/.test(level) && level !== '%u' && level !== '%c')
    if (partial !== undefined) throw invalid(`"${partial}": %u and %c must fill a whole level, as in devices/%c/#`)
  } else if (/%[uc]/.test(filter)) {
    throw invalid(`"${filter}": %u and %c are only replaced on "pattern" lines`)
  }
  return { access, filter, levels, usesUsername: levels.includes('%u'), line }
}
