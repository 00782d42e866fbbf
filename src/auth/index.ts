export { answerToReason } from './hooks.js'
export type { AuthenticateRequest, BrokerHooks, ClientInfo, HookAnswer } from './hooks.js'
export { AuthFileError, isAuthFileError, type AuthFileErrorCode } from './errors.js'
export { PasswordFile, parsePasswordFile, hashPassword, hashScramSha256, PBKDF2_ITERATIONS, SCRAM_SHA256_ITERATIONS } from './password-file.js'
export { AclRules, parseAclFile, type AclSubject } from './acl-file.js'
export {
  Security, anonymousExposure, anonymousOn, isLoopbackHost, isSysTopic,
  type AnonymousAccess, type ListenerName, type ReloadResult, type SecurityOptions,
} from './security.js'
export type { AuthExchange, AuthStep, EnhancedAuthenticator } from './enhanced.js'
export { scramAuthenticator, scramCredentials, scramKeys, type ScramCredentials, type ScramDecoy, type ScramHash, type ScramLookup } from './scram.js'
