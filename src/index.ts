export * from './protocol/packets.js'
