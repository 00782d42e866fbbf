export { Router } from './router.js'
export type { RouterOptions } from './router.js'
export type { Delivery, MessageRouter, SharedStrategy, Subscriber, SubscriptionEntry } from './types.js'
export { isWildcardFilter, parseSharedFilter, validateTopicFilter, validateTopicName } from '../topic/index.js'
