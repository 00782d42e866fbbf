import { loadConfig, type LoadedConfig } from '../../../src/config/index.js'
import { ConfigError } from '../../../src/config/index.js'

export interface LoadInput {
  argv?: string[]
  env?: Record<string, string>
  /** Working directory; tests pass a `t.testdir()` so nothing touches the repo. */
  cwd: string
}

export const load = ({ argv = [], env = {}, cwd }: LoadInput): LoadedConfig => loadConfig({ argv, env, cwd })

/** Runs `fn`, which must throw a ConfigError, and returns it. */
export function configError(fn: () => unknown): ConfigError {
  try {
    fn()
  } catch (err) {
    if (err instanceof ConfigError) return err
    throw err
  }
  throw new Error('expected a ConfigError, nothing was thrown')
}
