/**
 * The kinds of value a setting can hold. Each kind knows how to read itself from text
 * (environment variables, flags) and from JSON (the config file), and how to say what it
 * accepts; that one sentence is used both by `--help` and by every error message.
 */
export interface Kind<T> {
  /** What is accepted, worded to follow "expected": `an integer from 1 to 65535`. */
  readonly expected: string
  /** The value's name in `--help`: `N`, `ADDR`, `DIR`. */
  readonly placeholder: string
  /** `undefined` means the text is not an acceptable value. */
  fromText(text: string): T | undefined
  /** `undefined` means the JSON value is not acceptable. */
  fromJson(value: unknown): T | undefined
}

const DECIMAL = /^-?\d+$/

export function integer(min: number, max: number, placeholder = 'N'): Kind<number> {
  const inRange = (n: number): number | undefined =>
    Number.isSafeInteger(n) && n >= min && n <= max ? n : undefined
  return {
    expected: `an integer from ${min} to ${max}`,
    placeholder,
    fromText: (text) => (DECIMAL.test(text.trim()) ? inRange(Number(text)) : undefined),
    fromJson: (value) => (typeof value === 'number' ? inRange(value) : undefined),
  }
}

export function boolean(): Kind<boolean> {
  return {
    expected: 'true or false',
    placeholder: 'true|false',
    fromText: (text) => {
      const word = text.trim().toLowerCase()
      return word === 'true' ? true : word === 'false' ? false : undefined
    },
    fromJson: (value) => (typeof value === 'boolean' ? value : undefined),
  }
}

export function oneOf<T extends string>(values: readonly T[], placeholder: string): Kind<T> {
  const find = (candidate: string): T | undefined => values.find((v) => v === candidate)
  return {
    expected: `one of ${values.join(', ')}`,
    placeholder,
    fromText: (text) => find(text.trim().toLowerCase()),
    fromJson: (value) => (typeof value === 'string' ? find(value) : undefined),
  }
}

/** A non-empty string without surrounding whitespace that also passes `isValid`. */
export function text(opts: {
  expected: string
  placeholder: string
  isValid?: (value: string) => boolean
}): Kind<string> {
  const accept = (value: string): string | undefined =>
    value !== '' && value === value.trim() && (opts.isValid?.(value) ?? true) ? value : undefined
  return {
    expected: opts.expected,
    placeholder: opts.placeholder,
    fromText: accept,
    fromJson: (value) => (typeof value === 'string' ? accept(value) : undefined),
  }
}

/**
 * A directory, or `null` for "no directory": only the config file can say `null`
 * (the command line has `--memory` for that). Relative paths are resolved by the loader.
 */
export function directory(): Kind<string | null> {
  const path = text({ expected: 'a directory path', placeholder: 'DIR' })
  return {
    expected: 'a directory path, or null in a config file for memory only',
    placeholder: path.placeholder,
    fromText: path.fromText,
    fromJson: (value) => (value === null ? null : path.fromJson(value)),
  }
}

/** A string without white space; the empty string means "none". */
export function optionalText(expected: string, placeholder: string): Kind<string> {
  const accept = (value: string): string | undefined => (/\s/.test(value.trim()) ? undefined : value.trim())
  return {
    expected,
    placeholder,
    fromText: accept,
    fromJson: (value) => (typeof value === 'string' ? accept(value) : undefined),
  }
}

/** A file path, or `null` (only in a config file) for none. Relative paths are resolved by the loader. */
export function filePath(what: string): Kind<string | null> {
  const path = text({ expected: `a path to ${what}`, placeholder: 'FILE' })
  return {
    expected: `a path to ${what}, or null in a config file for none`,
    placeholder: path.placeholder,
    fromText: path.fromText,
    fromJson: (value) => (value === null ? null : path.fromJson(value)),
  }
}

/** A non-empty string (may contain anything but surrounding white space), or `null` in a config file. */
export function nullableText(expected: string, placeholder: string): Kind<string | null> {
  const inner = text({ expected, placeholder })
  return {
    expected: `${expected}, or null in a config file for the default`,
    placeholder,
    fromText: inner.fromText,
    fromJson: (value) => (value === null ? null : inner.fromJson(value)),
  }
}

/**
 * Web origins (`https://example.com`, `http://127.0.0.1:8080`): a comma-separated list on the
 * command line, an array in a config file. Each is stored as a browser serialises it in the
 * `Origin` header (lower-case, no default port, no trailing slash), so comparison is exact.
 */
export function originList(): Kind<string[]> {
  const one = (value: unknown): string | undefined => {
    if (typeof value !== 'string') return undefined
    let url: URL
    try {
      url = new URL(value.trim())
    } catch {
      return undefined
    }
    const isBare = url.pathname === '/' && url.search === '' && url.hash === '' && url.username === '' && url.password === ''
    return (url.protocol === 'http:' || url.protocol === 'https:') && isBare ? url.origin : undefined
  }
  const all = (values: readonly unknown[]): string[] | undefined => {
    const origins = values.map(one)
    return origins.every((o) => o !== undefined) ? [...new Set(origins)] : undefined
  }
  return {
    expected: 'a list of origins such as https://example.com (comma-separated on the command line, an array in a config file)',
    placeholder: 'ORIGINS',
    fromText: (text) => (text.trim() === '' ? [] : all(text.split(','))),
    fromJson: (value) => (Array.isArray(value) ? all(value) : undefined),
  }
}

/**
 * A boolean for every listener, or one per named listener: `true`, `false` or
 * `tcp=false,ws=true` as text; `true`, `false` or `{ "tcp": false, "ws": true }` as JSON.
 * Listeners left out stay unset. An unknown name, a name given twice or a value other than
 * true or false is refused rather than ignored: a typo must not silently change who gets in.
 */
export function booleanPerName<N extends string>(
  names: readonly N[],
  /** Two names for the examples in `--help` and error messages: `[off, on]`. */
  [off, on]: readonly [N, N],
): Kind<boolean | Partial<Record<N, boolean>>> {
  const flag = boolean()
  const isName = (name: string): name is N => names.some((n) => n === name)
  type PerName = Partial<Record<N, boolean>>
  const perName = (pairs: ReadonlyArray<readonly [string, unknown]>, read: (v: unknown) => boolean | undefined): PerName | undefined => {
    const result: PerName = {}
    for (const [name, raw] of pairs) {
      const value = read(raw)
      if (!isName(name) || value === undefined || result[name] !== undefined) return undefined
      result[name] = value
    }
    return result
  }
  const pairs = (text: string): Array<readonly [string, string]> | undefined => {
    const items = text.split(',').map((item) => item.split('='))
    return items.every((kv) => kv.length === 2) ? items.map(([k = '', v = '']) => [k.trim().toLowerCase(), v] as const) : undefined
  }
  return {
    expected: `true or false, or true/false per listener (${names.join(', ')}) such as ` +
      `${off}=false,${on}=true on the command line or {"${off}": false, "${on}": true} in a config file`,
    placeholder: `true|false|${off}=false,${on}=true`,
    fromText: (text) => {
      const all = flag.fromText(text)
      if (all !== undefined) return all
      const given = pairs(text)
      return given === undefined ? undefined : perName(given, (v) => (typeof v === 'string' ? flag.fromText(v) : undefined))
    },
    fromJson: (value) => {
      if (typeof value === 'boolean') return value
      const isObject = typeof value === 'object' && value !== null && !Array.isArray(value)
      return isObject ? perName(Object.entries(value), flag.fromJson) : undefined
    },
  }
}
