// aedes-persistence's own conformance suite (a node:test file, which tap runs as any other)
// against the memory store.
import { test } from 'node:test'
import { createRequire } from 'node:module'
import { MemoryStore } from '../../src/persistence/index.js'

const require = createRequire(import.meta.url)
const abstractPersistence = require('aedes-persistence/abstract.js') as (opts: {
  test: typeof test
  persistence: () => unknown
  testAsync: boolean
}) => void

abstractPersistence({ test, persistence: () => new MemoryStore(), testAsync: true })
