export { Connection } from './connection.js'
export type { ConnectionInfo } from './connection.js'
