/**
 * Topic names and filters: validation, the `$share/` syntax, a reference matcher, and the two
 * tries the router and persistence build on. A leaf: imports nothing else of ours.
 */
export { topicMatches } from './topic-matches.js'
export { TopicIndex } from './topic-index.js'
