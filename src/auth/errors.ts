/**
 * Why a password file or ACL file was refused. `code` is stable; the message names the file
 * and, for a bad line, its number and what to write instead. Never quotes a password hash.
 */
export type AuthFileErrorCode = 'AUTH_FILE_UNREADABLE' | 'AUTH_PASSWORD_FILE_INVALID' | 'AUTH_ACL_FILE_INVALID'

export class AuthFileError extends Error {
  readonly code: AuthFileErrorCode
  readonly path: string
  /** 1-based line number of the offending line, when there is one. */
  readonly line: number | undefined

  constructor(code: AuthFileErrorCode, path: string, message: string, options?: { line?: number; cause?: unknown }) {
    const where = options?.line === undefined ? path : `${path} line ${options.line}`
    super(`${where}: ${message}`, { cause: options?.cause })
    this.name = 'AuthFileError'
    this.code = code
    this.path = path
    this.line = options?.line
  }
}

export const isAuthFileError = (err: unknown): err is AuthFileError => err instanceof AuthFileError
