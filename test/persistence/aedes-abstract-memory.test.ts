// aedes-persistence's own conformance suite against the memory store.
import { MemoryStore } from '../../src/persistence/index.js'
import { runAedesAbstract } from './aedes-abstract.js'

runAedesAbstract(() => new MemoryStore())
