// Loads aedes-persistence's conformance suite (CommonJS, written for node:test) and runs it
// the way its own test-directAsync.js does: setup(broker) instead of a `broker` setter.
import { test } from 'node:test'
import { createRequire } from 'node:module'
import type { AedesAdapter } from '../../src/persistence/index.js'

const require = createRequire(import.meta.url)
const abstractPersistence = require('aedes-persistence/abstract.js') as (opts: {
  test: typeof test
  persistence: () => unknown
  testAsync: boolean
}) => void

export const runAedesAbstract = (persistence: () => AedesAdapter | object): void =>
  abstractPersistence({ test, persistence, testAsync: true })
