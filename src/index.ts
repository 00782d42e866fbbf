/**
 * Halyard as a library: `createBroker` starts a broker in-process.
 */
export { Broker, createBroker } from './broker.js'
export type { Address, BrokerOptions } from './broker.js'
export type { BrokerConfig, ListenerName } from './config/schema.js'
export { defaultConfig } from './config/schema.js'
export type {
  AuthExchange, AuthStep, AuthenticateRequest, BrokerHooks, ClientInfo, EnhancedAuthenticator, HookAnswer,
  ScramCredentials, ScramDecoy, ScramLookup,
} from './auth/index.js'
export { scramAuthenticator, scramCredentials } from './auth/index.js'
export type { BrokerEvents } from './handlers/index.js'
export type { Store, StoredMessage } from './persistence/index.js'
export type { MessageRouter } from './router/index.js'
export { LevelStore, MemoryStore } from './persistence/index.js'
export { MqttError, ReasonCode } from './protocol/index.js'
export type * from './protocol/packets.js'
