import { isUtf8 } from 'node:buffer'
import { malformed } from './errors.js'

const EMPTY = Buffer.alloc(0)

/**
 * A bounds-checked cursor over one frame's body.
 *
 * The decoder walks every frame with it before mqtt-packet sees the frame, because mqtt-packet
 * reads past a field's end without complaint: a missing Packet Identifier comes back as -1, a
 * property that overruns its section silently shifts the payload, trailing bytes are ignored.
 * Here every such overrun is a Malformed Packet.
 *
 * One reader per decoder, reset per frame, so walking a frame allocates nothing on the happy
 * path: the `what` arguments are only turned into messages when a check fails.
 */
export class ByteReader {
  #buf: Buffer = EMPTY
  /** Next byte to read. */
  pos = 0
  /** One past the last byte this reader may read; narrowed while walking a property section. */
  end = 0

  reset(buf: Buffer, pos: number, end: number): void {
    this.#buf = buf
    this.pos = pos
    this.end = end
  }

  get buffer(): Buffer {
    return this.#buf
  }

  get remaining(): number {
    return this.end - this.pos
  }

  u8(what: string): number {
    if (this.pos >= this.end) throw malformed(`${what} is missing: the packet ends early`)
    return this.#buf.readUInt8(this.pos++)
  }

  u16(what: string): number {
    if (this.end - this.pos < 2) throw malformed(`${what} is truncated: the packet ends early`)
    const value = this.#buf.readUInt16BE(this.pos)
    this.pos += 2
    return value
  }

  u32(what: string): number {
    if (this.end - this.pos < 4) throw malformed(`${what} is truncated: the packet ends early`)
    const value = this.#buf.readUInt32BE(this.pos)
    this.pos += 4
    return value
  }

  skip(length: number, what: string): void {
    if (this.end - this.pos < length) throw malformed(`${what} is truncated: the packet ends early`)
    this.pos += length
  }

  /**
   * A Variable Byte Integer: at most four bytes, and encoded in the fewest bytes possible
   * [MQTT-1.5.5-1]. A last byte of 0x00 after a continuation byte is the only way to be longer
   * than necessary, so that is what the minimality check looks for.
   */
  varint(what: string): number {
    let value = 0
    let multiplier = 1
    for (let i = 0; i < 4; i++) {
      const byte = this.u8(what)
      value += (byte & 0x7f) * multiplier
      if ((byte & 0x80) === 0) {
        if (byte === 0 && i > 0) {
          throw malformed(`${what} is not encoded in the minimum number of bytes [MQTT-1.5.5-1]`)
        }
        return value
      }
      multiplier *= 128
    }
    throw malformed(`${what} is a Variable Byte Integer longer than 4 bytes [MQTT-1.5.5-1]`)
  }

  /** Binary Data: a two-byte length and that many bytes of anything. */
  binary(what: string): void {
    this.skip(this.u16(what), what)
  }

  /** A UTF-8 Encoded String: a two-byte length, then well-formed UTF-8 without U+0000. */
  utf8(what: string): void {
    const length = this.u16(what)
    const start = this.pos
    this.skip(length, what)
    checkUtf8(this.#buf, start, this.pos, what)
  }

  /** Fail unless every byte of the packet has been accounted for. */
  expectEnd(what: string): void {
    const extra = this.end - this.pos
    if (extra !== 0) throw malformed(`${what} has ${extra} unexpected byte${extra === 1 ? '' : 's'} after its last field`)
  }
}

/**
 * Strings must be well-formed UTF-8 [MQTT-1.5.4-1] (3.1.1: [MQTT-1.5.3-1]) and must not contain
 * U+0000 [MQTT-1.5.4-2] (3.1.1: [MQTT-1.5.3-2]).
 *
 * Checked on the raw bytes rather than by looking for U+FFFD in mqtt-packet's decoded string:
 * that is exact (a client may legitimately send U+FFFD) and no dearer. Most topics are ASCII,
 * so one pass looks for 0x00 and notes whether any byte has the high bit; only then does
 * `isUtf8` (simdutf, which also refuses overlong forms and encoded surrogates such as
 * ED A0 80) run. A 0x00 byte can never sit inside a multi-byte sequence, so the byte scan is a
 * correct U+0000 test for any string that passes `isUtf8`.
 */
export function checkUtf8(buf: Buffer, start: number, end: number, what: string): void {
  let high = 0
  for (let i = start; i < end; i++) {
    const byte = buf[i] ?? 0 // never undefined: end <= buf.length
    if (byte === 0) throw malformed(`${what} contains U+0000 [MQTT-1.5.4-2]`)
    high |= byte
  }
  if ((high & 0x80) !== 0 && !isUtf8(buf.subarray(start, end))) {
    throw malformed(`${what} is not well-formed UTF-8 [MQTT-1.5.4-1]`)
  }
}
