/**
 * Why the configuration was refused. `code` is stable (tests and callers switch on it); the
 * message is written for the person who typed the value: which key, what they gave, where it
 * came from and what would have been accepted.
 */
export type ConfigErrorCode =
  | 'CONFIG_INVALID_VALUE'
  | 'CONFIG_UNKNOWN_KEY'
  | 'CONFIG_UNKNOWN_FLAG'
  | 'CONFIG_BAD_ARGUMENTS'
  | 'CONFIG_CONFLICT'
  | 'CONFIG_FILE_UNREADABLE'
  | 'CONFIG_FILE_INVALID'
  | 'CONFIG_INSECURE'

export class ConfigError extends Error {
  readonly code: ConfigErrorCode
  /** The dotted key (`limits.maxPacketSize`) or flag the error is about, when there is one. */
  readonly key: string | undefined

  constructor(code: ConfigErrorCode, message: string, options?: { key?: string; cause?: unknown }) {
    super(`config: ${message}`, { cause: options?.cause })
    this.name = 'ConfigError'
    this.code = code
    this.key = options?.key
  }
}

export const isConfigError = (err: unknown): err is ConfigError => err instanceof ConfigError

/** Where a value came from, as the user would recognise it: `--port`, `HALYARD_PORT`, `halyard.json`. */
export interface Source {
  readonly name: string
  /** Environment variables and flags arrive as text; a JSON file carries typed values. */
  readonly isText: boolean
}

/**
 * The candidate closest to `word` by edit distance, if it is close enough to be a plausible
 * typo (at most a third of the word's length, and at least 1 edit allowed).
 */
export function nearest(word: string, candidates: readonly string[]): string | undefined {
  const limit = Math.max(1, Math.floor(word.length / 3))
  let best: string | undefined
  let bestDistance = limit + 1
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase())
    if (distance < bestDistance) {
      best = candidate
      bestDistance = distance
    }
  }
  return best
}

/**
 * Edit distance counting a swap of two neighbouring letters as one edit (optimal string
 * alignment), since `--prot` for `--port` is the typical slip.
 */
function editDistance(a: string, b: string): number {
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)))
  const at = (i: number, j: number): number => rows[i]?.[j] ?? Infinity
  for (let i = 1; i <= a.length; i++) {
    const row = rows[i] ?? []
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, at(i - 2, j - 2) + 1)
      row[j] = best
    }
  }
  return at(a.length, b.length)
}
