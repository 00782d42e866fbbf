import type { Subscription } from '../protocol/index.js'

/** Who is asking: plain data, never a socket. */
export interface ClientInfo {
  clientId: string
  username: string | undefined
  remoteAddress: string | undefined
  protocolVersion: number
}

export interface AuthenticateRequest extends ClientInfo {
  password: Buffer | undefined
}

/**
 * A hook answers `true` to allow, `false` to refuse with the usual reason code (CONNACK 0x86
 * for authenticate, 0x87 for the authorize hooks), or an MQTT 5.0 reason code of its choosing.
 */
export type HookAnswer = boolean | number

export interface BrokerHooks {
  authenticate?: (req: AuthenticateRequest) => Promise<HookAnswer>
  authorizePublish?: (client: ClientInfo, topic: string, message: { qos: number; retain: boolean }) => Promise<HookAnswer>
  authorizeSubscribe?: (client: ClientInfo, subscription: Subscription) => Promise<HookAnswer>
}

/** Turns a hook's answer into a reason code: 0 allows. */
export function answerToReason(answer: HookAnswer, refused: number): number {
  if (answer === true) return 0
  if (answer === false) return refused
  return answer
}
