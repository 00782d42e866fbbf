// The control run: aedes-persistence's conformance suite against aedes-persistence's own
// in-memory implementation, through the same harness as ours. If this fails, the harness or
// the suite changed, not our stores.
import { createRequire } from 'node:module'
import { runAedesAbstract } from './aedes-abstract.js'

const require = createRequire(import.meta.url)
const AsyncMemory = require('aedes-persistence/asyncPersistence.js') as new () => object

runAedesAbstract(() => new AsyncMemory())
