export { answerToReason } from './hooks.js'
export type { AuthenticateRequest, BrokerHooks, ClientInfo, HookAnswer } from './hooks.js'
