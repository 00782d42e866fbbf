import t from 'tap'
import { AuthFileError, parseAclFile, type AclSubject } from '../../../src/auth/index.js'
import { covers } from '../../../src/auth/acl-file.js'

/*
 * Mosquitto's acl_file: a table of (file, client, check, expected), then the parse errors.
 * test/integration/security/acl.test.ts applies the same rules to real clients.
 */

const FILE = `# Comments and blank lines are skipped.

topic read public/#
topic anon/write-only

user alice
topic readwrite alice/#
topic read sensors/#
topic deny sensors/secret/#
topic write cmd/+/set
  topic   read   spaced  topic

user bob smith
topic read $SYS/broker/#

pattern write devices/%c/#
pattern read users/%u/inbox
pattern deny users/%u/inbox/blocked
`

const rules = parseAclFile(FILE, 'acl')
const anon: AclSubject = { clientId: 'c1', username: undefined }
const alice: AclSubject = { clientId: 'a1', username: 'alice' }
const bob: AclSubject = { clientId: 'b1', username: 'bob smith' }

type Check = 'read' | 'write' | 'subscribe'
const table: Array<[string, AclSubject, Check, string, boolean]> = [
  // lines before any user: anonymous clients only
  ['anonymous reads public/', anon, 'read', 'public/news', true],
  ['anonymous cannot write read-only public/', anon, 'write', 'public/news', false],
  ['no access word means readwrite', anon, 'write', 'anon/write-only', true],
  ['anonymous lines do not apply to users', alice, 'read', 'public/news', false],
  ['user lines do not apply to anonymous clients', anon, 'read', 'alice/x', false],
  // a user's own lines
  ['readwrite: read', alice, 'read', 'alice/a/b', true],
  ['readwrite: write', alice, 'write', 'alice/a/b', true],
  ['# also matches the parent level', alice, 'write', 'alice', true],
  ['read only', alice, 'write', 'sensors/t1', false],
  ['write only', alice, 'read', 'cmd/lamp/set', false],
  ['write with +', alice, 'write', 'cmd/lamp/set', true],
  ['deny beats an earlier grant', alice, 'read', 'sensors/secret/x', false],
  ['deny covers only its own topics', alice, 'read', 'sensors/open', true],
  ['a topic with spaces, extra spaces around it', alice, 'read', 'spaced  topic', true],
  ['a username with a space', bob, 'read', '$SYS/broker/uptime', true],
  ['other users see nothing of alice\'s', bob, 'read', 'alice/a', false],
  // patterns: every client, wherever they appear
  ['%c', anon, 'write', 'devices/c1/temp', true],
  ['%c is the client\'s own id only', anon, 'write', 'devices/c2/temp', false],
  ['%u', alice, 'read', 'users/alice/inbox', true],
  ['a %u pattern never applies without a username', anon, 'read', 'users//inbox', false],
  ['pattern deny', alice, 'read', 'users/alice/inbox/blocked', false],
  // $ topics are only matched by lines that start with $ [MQTT-4.7.2-1]
  ['# does not reach $SYS', alice, 'read', '$SYS/x', false],
  // SUBSCRIBE: the filter must lie inside one readable line
  ['subscribe inside a read line', alice, 'subscribe', 'sensors/+/temp', true],
  ['subscribe wider than any line', alice, 'subscribe', '#', false],
  ['subscribe to a write-only line', alice, 'subscribe', 'cmd/+/set', false],
  ['subscribe partly denied: allowed, filtered per message', alice, 'subscribe', 'sensors/#', true],
  ['subscribe wholly inside a deny line', alice, 'subscribe', 'sensors/secret/+', false],
  ['$share/ is looked through', alice, 'subscribe', '$share/g/alice/#', true],
  ['$share/ is looked through (refused)', alice, 'subscribe', '$share/g/bob/#', false],
  ['subscribe through a pattern', alice, 'subscribe', 'users/alice/inbox', true],
]

for (const [what, subject, check, topic, expected] of table) {
  t.test(`${what}: ${check} ${topic} → ${expected ? 'allowed' : 'denied'}`, async (t) => {
    const answer = check === 'read' ? rules.canRead(subject, topic)
      : check === 'write' ? rules.canWrite(subject, topic)
      : rules.canSubscribe(subject, topic)
    t.equal(answer, expected)
  })
}

t.test('an empty file (or one of comments only) denies everything', async (t) => {
  for (const text of ['', '# nothing\n\n']) {
    const none = parseAclFile(text, 'acl')
    t.equal(none.canRead(alice, 'a'), false)
    t.equal(none.canWrite(anon, 'a'), false)
    t.equal(none.canSubscribe(alice, '#'), false)
  }
})

t.test('a client id or username holding + # or / matches no pattern line', async (t) => {
  const wide = parseAclFile('pattern readwrite devices/%c/#\npattern read users/%u/#\nuser a/b\ntopic read own/#\n', 'acl')
  t.equal(wide.canSubscribe({ clientId: '#', username: undefined }, 'devices/#'), false, 'client id #')
  t.equal(wide.canWrite({ clientId: 'x/y', username: undefined }, 'devices/x/y/z'), false, 'client id with /')
  t.equal(wide.canSubscribe({ clientId: 'ok', username: '+' }, 'users/+/#'), false, 'username +')
  t.equal(wide.canWrite({ clientId: 'a+b', username: undefined }, 'devices/a+b'), false)
  t.equal(wide.canSubscribe({ clientId: 'ok', username: 'fine' }, 'users/fine/#'), true, 'a plain username still works')
  t.equal(wide.canRead({ clientId: 'ok', username: 'a/b' }, 'own/x'), true, 'its own user lines still apply')
  t.equal(wide.canRead({ clientId: 'ok', username: 'a/b' }, 'users/a/b/x'), false)
})

t.test('covers: one filter inside another', async (t) => {
  const cases: Array<[string, string, boolean]> = [
    ['#', 'a/b', true], ['#', '#', true], ['a/#', 'a', true], ['a/#', 'a/+/c', true], ['a/+', 'a/+', true],
    ['a/+', 'a/#', false], ['a/+/#', 'a/#', false], ['a/b', 'a/+', false], ['+/b', 'x/b', true],
    ['#', '$SYS/#', false], ['+/x', '$SYS/x', false], ['$SYS/#', '$SYS/+/x', true], ['a', 'a/b', false],
  ]
  for (const [rule, filter, expected] of cases) t.equal(covers(rule.split('/'), filter.split('/')), expected, `${rule} ⊇ ${filter}`)
})

const invalid: Array<[string, string, number, RegExp]> = [
  ['an unknown keyword', 'topic read a\nusr alice\n', 2, /unknown keyword "usr"/],
  ['user without a name', 'user\n', 1, /needs a username/],
  ['topic without a topic', 'topic\n', 1, /no topic/],
  ['an invalid filter', 'topic read a/#/b\n', 1, /"a\/#\/b"/],
  ['%u inside a level', 'pattern read users/x%u\n', 1, /must fill a whole level/],
  ['%c on a topic line', 'topic read devices/%c\n', 1, /only replaced on "pattern" lines/],
  ['a $share/ line', 'topic read $share/g/a\n', 1, /without \$share/],
]

for (const [what, text, line, message] of invalid) {
  t.test(`${what} is an error naming line ${line}`, async (t) => {
    let err: unknown
    try {
      parseAclFile(text, 'acl')
    } catch (e) {
      err = e
    }
    t.ok(err instanceof AuthFileError)
    t.match(err, { code: 'AUTH_ACL_FILE_INVALID', line, message })
  })
}

t.test('"topic read" alone names the topic "read", as in Mosquitto', async (t) => {
  const odd = parseAclFile('topic read\n', 'acl')
  t.equal(odd.canWrite(anon, 'read'), true)
})
