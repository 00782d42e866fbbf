/** The parts of a `$share/{ShareName}/{filter}` subscription (MQTT 5.0 section 4.8.2). */
export interface SharedFilter {
  group: string
  filter: string
}

const PREFIX = '$share/'

/**
 * Splits a shared-subscription filter into its share name and the filter proper, or returns
 * null for an ordinary filter.
 *
 * Anything that starts with `$share/` counts as an attempt at a shared subscription, even a
 * malformed one (`$share/` or `$share/group`): those come back with an empty group or filter so
 * that `validateTopicFilter` can say what is missing rather than treat them as a plain filter
 * on a `$share` topic. The share name ends at the first `/`, so it can never contain one
 * [MQTT-4.8.2-2].
 */
export function parseSharedFilter(filter: string): SharedFilter | null {
  if (!filter.startsWith(PREFIX)) return null
  const slash = filter.indexOf('/', PREFIX.length)
  if (slash === -1) return { group: filter.slice(PREFIX.length), filter: '' }
  return { group: filter.slice(PREFIX.length, slash), filter: filter.slice(slash + 1) }
}
