// aedes-persistence's own conformance suite (a node:test file, which tap runs as any other)
// against the level store: each instance in its own temp dir, all removed at the end.
import { after, test } from 'node:test'
import { createRequire } from 'node:module'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LevelStore } from '../../src/persistence/index.js'

const require = createRequire(import.meta.url)
const abstractPersistence = require('aedes-persistence/abstract.js') as (opts: {
  test: typeof test
  persistence: () => unknown
  testAsync: boolean
}) => void

const root = mkdtempSync(join(tmpdir(), 'halyard-aedes-level-'))
let instances = 0
after(() => rmSync(root, { recursive: true, force: true }))

abstractPersistence({
  test,
  persistence: () => new LevelStore({ path: join(root, String(++instances)) }),
  testAsync: true,
})
