import type { OutboundPacket } from '../protocol/index.js'

/**
 * Reason Strings and User Properties on what the broker sends are "problem information": nice
 * to have, never needed. So they are the first thing to go:
 *
 * - A client that sent Request Problem Information = 0 gets none on anything but CONNACK and
 *   DISCONNECT (PUBLISH carries the publisher's User Properties, not ours) [MQTT-3.1.2-29].
 * - A packet that would exceed the client's Maximum Packet Size only because of them is sent
 *   without them ([MQTT-3.2.2-19], [MQTT-3.4.2-2], [MQTT-3.5.2-2], [MQTT-3.6.2-2],
 *   [MQTT-3.7.2-2], [MQTT-3.9.2-1], [MQTT-3.11.2-1], [MQTT-3.14.2-3], [MQTT-3.15.2-2]).
 */

/** Whether the packet carries a Reason String or User Properties the broker may leave out. */
export function hasProblemInfo(packet: OutboundPacket): boolean {
  if (packet.cmd === 'publish' || packet.cmd === 'pingresp') return false
  const p = packet.properties
  return p !== undefined && (p.reasonString !== undefined || p.userProperties !== undefined)
}

/** May this packet carry problem information when the client asked for none [MQTT-3.1.2-29]? */
export const isAlwaysAllowed = (packet: OutboundPacket): boolean =>
  packet.cmd === 'connack' || packet.cmd === 'disconnect'

/** The packet without Reason String and User Properties; the original is left as it is. */
export function withoutProblemInfo(packet: OutboundPacket): OutboundPacket {
  if (packet.cmd === 'publish' || packet.cmd === 'pingresp' || packet.properties === undefined) return packet
  const { reasonString: _reason, userProperties: _user, ...rest } = packet.properties
  // Same packet type, same other properties: only the two optional fields are gone.
  return { ...packet, properties: rest } as OutboundPacket
}

/**
 * A Reason String is a UTF-8 string of at most 65535 bytes, and an error message may quote
 * what the client sent (a topic of 65535 bytes): keep it short enough to read.
 */
export function reasonString(reason: string): string {
  return reason.length <= 300 ? reason : `${reason.slice(0, 297)}...`
}
