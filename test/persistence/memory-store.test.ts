import t from 'tap'
import { MemoryStore } from '../../src/persistence/index.js'
import { runStoreSuite } from './store-suite.js'

runStoreSuite(t, { name: 'memory', factory: () => new MemoryStore() })
