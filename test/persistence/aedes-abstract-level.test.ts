// aedes-persistence's own conformance suite against the level store: each instance in its own
// temp dir, all removed at the end.
import { after } from 'node:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LevelStore } from '../../src/persistence/index.js'
import { runAedesAbstract } from './aedes-abstract.js'

const root = mkdtempSync(join(tmpdir(), 'halyard-aedes-level-'))
let instances = 0
after(() => rmSync(root, { recursive: true, force: true }))

runAedesAbstract(() => new LevelStore({ path: join(root, String(++instances)) }))
