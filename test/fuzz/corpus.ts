import mqttPacket, { type Packet } from 'mqtt-packet'

/**
 * The seeds the fuzzer mutates: well-formed packets of every type, at 3.1.1 and 5.0, made by
 * mqtt-packet (an independent encoder), with every field and property a client may send and the
 * server-only types as well. `connect` opens a session the later packets can be judged against.
 */
export type Version = 4 | 5

export interface Seed {
  name: string
  bytes: Buffer
}

const gen = (packet: Packet, version: Version): Buffer => mqttPacket.generate(packet, { protocolVersion: version })

const user = { region: 'eu', tags: ['a', 'b'] }

export function connectPacket(version: Version, clientId: string, clean = true): Buffer {
  return gen({
    cmd: 'connect', protocolId: 'MQTT', protocolVersion: version, clientId, clean, keepalive: 30,
    ...(version === 5 ? { properties: { sessionExpiryInterval: clean ? 0 : 30, receiveMaximum: 20 } } : {}),
  }, version)
}

/** Every seed of one version; `clientId` goes into the CONNECT seeds. */
export function seeds(version: Version, clientId: string): Seed[] {
  const v5 = version === 5
  const list: Array<[string, Packet]> = [
    ['connect-minimal', { cmd: 'connect', protocolId: 'MQTT', protocolVersion: version, clientId, clean: true, keepalive: 0 }],
    ['connect-full', {
      cmd: 'connect', protocolId: 'MQTT', protocolVersion: version, clientId, clean: false, keepalive: 60,
      username: 'user', password: Buffer.from('secret'),
      will: {
        topic: 'fz/will', payload: Buffer.from('gone'), qos: 1, retain: true,
        ...(v5 ? { properties: { willDelayInterval: 1, payloadFormatIndicator: true, messageExpiryInterval: 60, contentType: 'text/plain', responseTopic: 'fz/r', correlationData: Buffer.from([1, 2]), userProperties: user } } : {}),
      },
      ...(v5 ? {
        properties: {
          sessionExpiryInterval: 10, receiveMaximum: 10, maximumPacketSize: 4096, topicAliasMaximum: 5,
          requestResponseInformation: true, requestProblemInformation: false, userProperties: user,
        },
      } : {}),
    }],
    ['publish-0', { cmd: 'publish', topic: 'fz/a', payload: Buffer.from('zero'), qos: 0, retain: false, dup: false }],
    ['publish-1-retain', { cmd: 'publish', topic: 'fz/b/c', payload: Buffer.from('one'), qos: 1, messageId: 11, retain: true, dup: false }],
    ['publish-2-dup', { cmd: 'publish', topic: 'fz/d', payload: Buffer.alloc(40, 0x32), qos: 2, messageId: 12, retain: false, dup: true }],
    ['puback', { cmd: 'puback', messageId: 1, ...(v5 ? { reasonCode: 0x10, properties: { reasonString: 'ok', userProperties: user } } : {}) }],
    ['pubrec', { cmd: 'pubrec', messageId: 2, ...(v5 ? { reasonCode: 0x80 } : {}) }],
    ['pubrel', { cmd: 'pubrel', messageId: 12, ...(v5 ? { reasonCode: 0x92, properties: { reasonString: 'gone' } } : {}) }],
    ['pubcomp', { cmd: 'pubcomp', messageId: 3 }],
    ['subscribe', {
      cmd: 'subscribe', messageId: 4,
      subscriptions: [
        { topic: 'fz/#', qos: 2, ...(v5 ? { nl: true, rap: true, rh: 1 } : {}) },
        { topic: 'fz/+/c', qos: 1 },
        { topic: '$share/g/fz/s', qos: 0 },
      ],
      ...(v5 ? { properties: { subscriptionIdentifier: 7, userProperties: user } } : {}),
    }],
    ['unsubscribe', { cmd: 'unsubscribe', messageId: 5, unsubscriptions: ['fz/#', 'fz/+/c'], ...(v5 ? { properties: { userProperties: user } } : {}) }],
    ['pingreq', { cmd: 'pingreq' }],
    ['disconnect', { cmd: 'disconnect', ...(v5 ? { reasonCode: 0x04, properties: { sessionExpiryInterval: 0, reasonString: 'bye' } } : {}) }],
    // Only a server sends these: the broker must refuse them, however they are broken.
    ['connack', (v5 ? { cmd: 'connack', reasonCode: 0, sessionPresent: false } : { cmd: 'connack', returnCode: 0, sessionPresent: false }) as Packet],
    ['suback', { cmd: 'suback', messageId: 4, granted: [0, 1, 128] }],
    ['unsuback', { cmd: 'unsuback', messageId: 5, ...(v5 ? { granted: [0] } : {}) } as Packet],
    ['pingresp', { cmd: 'pingresp' }],
  ]
  if (v5) {
    list.push(
      ['publish-5-props', {
        cmd: 'publish', topic: 'fz/p', payload: Buffer.from('{"v":1}'), qos: 1, messageId: 13, retain: false, dup: false,
        properties: {
          payloadFormatIndicator: true, messageExpiryInterval: 30, topicAlias: 3, responseTopic: 'fz/reply',
          correlationData: Buffer.from('corr'), userProperties: user, contentType: 'application/json',
        },
      }],
      ['publish-5-alias-only', { cmd: 'publish', topic: '', payload: Buffer.from('a'), qos: 0, retain: false, dup: false, properties: { topicAlias: 3 } }],
      ['auth', { cmd: 'auth', reasonCode: 0x19, properties: { authenticationMethod: 'SCRAM-SHA-512', authenticationData: Buffer.from('n,,n=user,r=abc'), reasonString: 're' } }],
    )
  }
  return list.map(([name, packet]) => ({ name, bytes: gen(packet, version) }))
}
