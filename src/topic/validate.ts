/**
 * Topic name and topic filter validation (MQTT 5.0 section 4.7, 3.1.1 section 4.7).
 *
 * These return a message instead of throwing: the topic module imports nothing of ours, and
 * whether a bad topic is a per-item refusal (a SUBACK code) or fatal to the connection (a
 * PUBLISH topic) is the caller's decision. The message is meant for a client developer, so it
 * says what to change.
 */
import { parseSharedFilter } from './shared-filter.js'

export interface TopicLimits {
  /** Longest accepted topic, in bytes of UTF-8; capped at the spec's 65,535 anyway. */
  maxLength: number
  /** Most `/`-separated levels accepted. */
  maxLevels: number
}

/** A UTF-8 Encoded String carries a two-byte length [MQTT-4.7.3-3]. */
const SPEC_MAX_BYTES = 65_535
const PLUS = 0x2b
const HASH = 0x23
const SLASH = 0x2f
const NUL = 0x00

/**
 * Returns null if `topic` may be published to, or what is wrong with it. An empty topic with a
 * Topic Alias is legal on the wire; resolve the alias before calling this.
 */
export function validateTopicName(topic: string, limits: TopicLimits): string | null {
  if (topic.length === 0) {
    // [MQTT-4.7.3-1]
    return 'topic name is empty; publish to a topic of at least one character'
  }
  const tooLong = checkLength(topic, limits, 'topic name')
  if (tooLong !== null) return tooLong

  let levels = 1
  for (let i = 0; i < topic.length; i++) {
    const c = topic.charCodeAt(i)
    if (c === PLUS || c === HASH) {
      // [MQTT-4.7.1-1] [MQTT-3.3.2-2]
      return `topic names may not contain wildcards (found '${topic[i]}'); use them only in SUBSCRIBE filters`
    }
    if (c === NUL) {
      // [MQTT-4.7.3-2]
      return 'topic name contains U+0000 (the null character); remove it'
    }
    if (c === SLASH) levels++
  }
  return checkLevels(levels, limits, 'topic name')
}

/**
 * Returns null if `filter` may be subscribed to, or what is wrong with it. Understands
 * `$share/{ShareName}/{filter}`; the length limit applies to the whole string as sent, the
 * level limit to the filter proper.
 */
export function validateTopicFilter(filter: string, limits: TopicLimits): string | null {
  if (filter.length === 0) {
    // [MQTT-4.7.3-1]
    return 'topic filter is empty; subscribe to at least one character, or "#" for every topic'
  }
  const tooLong = checkLength(filter, limits, 'topic filter')
  if (tooLong !== null) return tooLong

  const shared = parseSharedFilter(filter)
  if (shared === null) return checkFilterSyntax(filter, limits)

  if (shared.group.length === 0) {
    // [MQTT-4.8.2-1]
    return 'shared subscription has an empty share name; use $share/{ShareName}/{filter} with a name of at least one character'
  }
  if (shared.group.includes('+') || shared.group.includes('#')) {
    // [MQTT-4.8.2-2]
    return `share name contains a wildcard; share names may not contain '+', '#' or '/'`
  }
  if (shared.group.includes('\u0000')) {
    // [MQTT-4.7.3-2]
    return 'share name contains U+0000 (the null character); remove it'
  }
  if (shared.filter.length === 0) {
    // [MQTT-4.8.2-2] the share name must be followed by '/' and a topic filter.
    return 'shared subscription has no topic filter after the share name; use $share/{ShareName}/{filter}'
  }
  return checkFilterSyntax(shared.filter, limits)
}

/** Wildcard placement, U+0000 and the level count, in one pass. */
function checkFilterSyntax(filter: string, limits: TopicLimits): string | null {
  let levels = 1
  let levelStart = 0
  for (let i = 0; i < filter.length; i++) {
    const c = filter.charCodeAt(i)
    if (c === SLASH) {
      levels++
      levelStart = i + 1
    } else if (c === HASH) {
      const isWholeLevel = i === levelStart && (i + 1 === filter.length || filter.charCodeAt(i + 1) === SLASH)
      if (!isWholeLevel) {
        // [MQTT-4.7.1-2]
        return `topic filter uses '#' inside a level; '#' must be a level of its own, as in sport/#`
      }
      if (i + 1 !== filter.length) {
        // [MQTT-4.7.1-2]
        return `topic filter has levels after '#'; '#' must be the last level, use '+' to match one level in the middle`
      }
    } else if (c === PLUS) {
      const isWholeLevel = i === levelStart && (i + 1 === filter.length || filter.charCodeAt(i + 1) === SLASH)
      if (!isWholeLevel) {
        // [MQTT-4.7.1-3]
        return `topic filter uses '+' inside a level; '+' must be a level of its own, as in sport/+/player1`
      }
    } else if (c === NUL) {
      // [MQTT-4.7.3-2]
      return 'topic filter contains U+0000 (the null character); remove it'
    }
  }
  return checkLevels(levels, limits, 'topic filter')
}

function checkLength(value: string, limits: TopicLimits, what: string): string | null {
  const limit = Math.min(SPEC_MAX_BYTES, limits.maxLength)
  // One UTF-16 code unit is at most three bytes of UTF-8: short strings need no counting.
  if (value.length * 3 <= limit) return null
  const bytes = Buffer.byteLength(value, 'utf8')
  if (bytes <= limit) return null
  // [MQTT-4.7.3-3] for the 65,535 cap; lower caps are this broker's configuration.
  return `${what} is ${bytes} bytes of UTF-8, over the limit of ${limit}; use a shorter one`
}

function checkLevels(levels: number, limits: TopicLimits, what: string): string | null {
  if (levels <= limits.maxLevels) return null
  return `${what} has ${levels} levels, over the limit of ${limits.maxLevels}; use fewer '/'-separated levels`
}
