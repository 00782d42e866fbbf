/**
 * MQTT 5.0 enhanced authentication (section 4.12): a challenge/response exchange carried by
 * CONNECT, AUTH (0x18 continue) and CONNACK, and again later by AUTH (0x19 re-authenticate).
 * An authenticator implements one Authentication Method; the handlers drive the packets.
 */
export type AuthStep =
  | { kind: 'continue'; data: Buffer }
  | { kind: 'success'; data?: Buffer; username?: string }
  | { kind: 'failure'; reasonCode: number; reason: string }

/** One exchange with one client; created afresh for every (re-)authentication. */
export interface AuthExchange {
  /** The Authentication Data of CONNECT (or of AUTH 0x19). */
  start(data: Buffer | undefined): Promise<AuthStep>
  /** The Authentication Data of each following AUTH 0x18 from the client. */
  next(data: Buffer | undefined): Promise<AuthStep>
}

export interface EnhancedAuthenticator {
  /** The Authentication Method name, e.g. `SCRAM-SHA-256`. */
  readonly method: string
  begin(clientId: string): AuthExchange
}
