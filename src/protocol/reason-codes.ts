/**
 * MQTT 5.0 reason codes (spec section 2.4) and the 3.1.1 CONNACK return codes they map to.
 * Everything inside the broker speaks 5.0 reason codes; only the encoder turns them into
 * 3.1.1 return codes for older clients.
 */
export const ReasonCode = {
  Success: 0x00,
  GrantedQoS1: 0x01,
  GrantedQoS2: 0x02,
  DisconnectWithWill: 0x04,
  NoMatchingSubscribers: 0x10,
  NoSubscriptionExisted: 0x11,
  ContinueAuthentication: 0x18,
  ReAuthenticate: 0x19,
  UnspecifiedError: 0x80,
  MalformedPacket: 0x81,
  ProtocolError: 0x82,
  ImplementationSpecificError: 0x83,
  UnsupportedProtocolVersion: 0x84,
  ClientIdentifierNotValid: 0x85,
  BadUserNameOrPassword: 0x86,
  NotAuthorized: 0x87,
  ServerUnavailable: 0x88,
  ServerBusy: 0x89,
  Banned: 0x8a,
  ServerShuttingDown: 0x8b,
  BadAuthenticationMethod: 0x8c,
  KeepAliveTimeout: 0x8d,
  SessionTakenOver: 0x8e,
  TopicFilterInvalid: 0x8f,
  TopicNameInvalid: 0x90,
  PacketIdentifierInUse: 0x91,
  PacketIdentifierNotFound: 0x92,
  ReceiveMaximumExceeded: 0x93,
  TopicAliasInvalid: 0x94,
  PacketTooLarge: 0x95,
  MessageRateTooHigh: 0x96,
  QuotaExceeded: 0x97,
  AdministrativeAction: 0x98,
  PayloadFormatInvalid: 0x99,
  RetainNotSupported: 0x9a,
  QoSNotSupported: 0x9b,
  UseAnotherServer: 0x9c,
  ServerMoved: 0x9d,
  SharedSubscriptionsNotSupported: 0x9e,
  ConnectionRateExceeded: 0x9f,
  MaximumConnectTime: 0xa0,
  SubscriptionIdentifiersNotSupported: 0xa1,
  WildcardSubscriptionsNotSupported: 0xa2,
} as const

export type ReasonCodeValue = (typeof ReasonCode)[keyof typeof ReasonCode]

/** 3.1.1 CONNACK return codes (section 3.2.2.3). */
export const ConnackReturnCode311 = {
  Accepted: 0,
  UnacceptableProtocolVersion: 1,
  IdentifierRejected: 2,
  ServerUnavailable: 3,
  BadUserNameOrPassword: 4,
  NotAuthorized: 5,
} as const

/**
 * Down-map a 5.0 CONNACK reason code to the 3.1.1 return code a 3.1.1 client understands.
 * Codes with no 3.1.1 equivalent become "server unavailable", which tells the client to retry later.
 */
export function connackReturnCode311(reasonCode: number): number {
  switch (reasonCode) {
    case ReasonCode.Success: return ConnackReturnCode311.Accepted
    case ReasonCode.UnsupportedProtocolVersion: return ConnackReturnCode311.UnacceptableProtocolVersion
    case ReasonCode.ClientIdentifierNotValid: return ConnackReturnCode311.IdentifierRejected
    case ReasonCode.BadUserNameOrPassword: return ConnackReturnCode311.BadUserNameOrPassword
    case ReasonCode.NotAuthorized: return ConnackReturnCode311.NotAuthorized
    case ReasonCode.ServerUnavailable: return ConnackReturnCode311.ServerUnavailable
    default: return ConnackReturnCode311.ServerUnavailable
  }
}

/** 3.1.1 SUBACK has only granted QoS or 0x80 failure [MQTT-3.9.3-2]. */
export function subackCode311(reasonCode: number): number {
  return reasonCode <= 2 ? reasonCode : 0x80
}
