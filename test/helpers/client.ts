import mqtt, { type IClientOptions, type MqttClient } from 'mqtt'

export type Version = 4 | 5

/** A real MQTT.js client; reconnect off so a test sees exactly what the broker did. */
export async function connect(url: string, opts: IClientOptions = {}): Promise<MqttClient> {
  return mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5000, ...opts })
}

export interface Received {
  topic: string
  payload: string
  qos: number
  retain: boolean
  properties: Record<string, unknown> | undefined
}

/** Collects messages; `next(n)` waits (bounded) for the n-th message. */
export function collect(client: MqttClient): { messages: Received[]; next: (count: number, ms?: number) => Promise<Received[]> } {
  const messages: Received[] = []
  const waiters: Array<() => void> = []
  client.on('message', (topic, payload, packet) => {
    messages.push({ topic, payload: payload.toString(), qos: packet.qos, retain: packet.retain, properties: packet.properties as Record<string, unknown> | undefined })
    for (const w of waiters.splice(0)) w()
  })
  const next = async (count: number, ms = 5000): Promise<Received[]> => {
    const deadline = Date.now() + ms
    while (messages.length < count) {
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`timed out waiting for ${count} messages, got ${messages.length}: ${JSON.stringify(messages.map((m) => m.topic + '=' + m.payload))}`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        waiters.push(() => { clearTimeout(timer); resolve() })
      })
    }
    return messages.slice(0, count)
  }
  return { messages, next }
}

export const versions: Version[] = [4, 5]
