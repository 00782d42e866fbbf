/**
 * The reference matcher: one filter against one topic name, written for clarity rather than
 * speed. `TopicTrie` and `TopicIndex` are the fast paths; their tests check them against this.
 *
 * Both arguments are assumed valid (see `validateTopicName` / `validateTopicFilter`) and the
 * filter must already have any `$share/{group}/` prefix removed.
 */
export function topicMatches(filter: string, topic: string): boolean {
  const filterLevels = filter.split('/')
  const topicLevels = topic.split('/')

  // [MQTT-4.7.2-1] `$SYS/...` and friends are the server's own; a leading wildcard must not
  // pull them into an ordinary subscription. A literal `$SYS/#` still matches.
  const first = filterLevels[0]
  if (topic.startsWith('$') && (first === '+' || first === '#')) return false

  for (let i = 0; i < filterLevels.length; i++) {
    const level = filterLevels[i]
    // `#` also matches zero levels, so `sport/#` matches `sport` itself [MQTT-4.7.1-2].
    if (level === '#') return true
    if (i >= topicLevels.length) return false
    if (level !== '+' && level !== topicLevels[i]) return false
  }
  return filterLevels.length === topicLevels.length
}

/** True if the filter can match more than one topic name, i.e. it contains `+` or `#`. */
export function isWildcardFilter(filter: string): boolean {
  return filter.includes('+') || filter.includes('#')
}
