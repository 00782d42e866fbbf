export { listenTcp } from './tcp.js'
export type { StreamHandler } from './tcp.js'
export { listenWs } from './ws.js'
export type { WsListener } from './ws.js'
