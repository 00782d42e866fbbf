export { Router } from './router.js'
export type { RouterOptions } from './router.js'
export type { Delivery, SharedStrategy, Subscriber, SubscriptionEntry } from './types.js'
export { validateTopicName, validateTopicFilter, parseSharedFilter } from '../topic/index.js'
