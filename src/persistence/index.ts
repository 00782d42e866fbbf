/**
 * Persistence: what the broker stores, behind one interface (`Store`) with an in-memory and a
 * LevelDB implementation. Both also speak the aedes-persistence async interface.
 */
export type {
  PublishWrite, QueuedMessage, QueueState, SessionMeta, SessionRecord, Store, StoredMessage,
  SubscriptionRecord,
} from './types.js'
export { MemoryStore } from './memory-store.js'
export { toQueued } from './store-helpers.js'
export { LevelStore, type LevelStoreOptions } from './level-store.js'
export { AedesAdapter } from './aedes-adapter.js'
export type { AedesBroker, AedesClient, AedesPacket, AedesSubscription } from './aedes-packets.js'
