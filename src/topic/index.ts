/**
 * Topic names and filters: validation, the `$share/` syntax, a reference matcher, and the two
 * tries the router and persistence build on. A leaf: imports nothing else of ours.
 */
export { validateTopicName, validateTopicFilter, type TopicLimits } from './validate.js'
export { parseSharedFilter, type SharedFilter } from './shared-filter.js'
export { topicMatches, isWildcardFilter } from './topic-matches.js'
export { TopicTrie, type TrieVisitor } from './topic-trie.js'
export { TopicIndex } from './topic-index.js'
