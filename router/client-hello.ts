/**
 * The server name (SNI) a TLS client asks for, read from its ClientHello before any TLS is
 * spoken, so that a passthrough route's connection can be sent on untouched (RFC 8446 4.1.2 and
 * RFC 6066 3). Pure, bounds-checked on every read: anything that is not a well-formed
 * ClientHello is `invalid`, and a hello split over several records or TCP segments is
 * `incomplete` until its last byte has arrived.
 */

/** A ClientHello is at most a few KiB; more than this without one is not TLS. */
export const MAX_HELLO_BYTES = 16 * 1024;

export type HelloResult =
  | { kind: 'incomplete' }
  | { kind: 'invalid'; reason: string }
  /** `name` is undefined when the client sent no server_name. */
  | { kind: 'hello'; name: string | undefined };

const HANDSHAKE = 22;
const CLIENT_HELLO = 1;
const SERVER_NAME = 0;
const HOST_NAME = 0;

/** The handshake bytes carried by the TLS records at the start of `data`. */
function handshakeBytes(data: Buffer): { bytes: Buffer; complete: boolean } | string {
  const parts: Buffer[] = [];
  let size = 0;
  // Complete once the handshake message's own length is covered; what follows is not read.
  const covered = (): boolean => {
    if (size < 4) return false;
    const head = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    return size >= 4 + head.readUIntBE(1, 3);
  };
  if (data.length >= 1 && data[0] !== HANDSHAKE) return 'not a TLS handshake record';
  let at = 0;
  while (at + 5 <= data.length && !covered()) {
    if (data[at] !== HANDSHAKE) return 'not a TLS handshake record';
    if (data[at + 1] !== 3) return 'not a TLS record version';
    const length = data.readUInt16BE(at + 3);
    if (length === 0 || length > 16_384) return 'bad TLS record length';
    if (at + 5 + length > data.length) break;
    parts.push(data.subarray(at + 5, at + 5 + length));
    size += length;
    at += 5 + length;
  }
  return { bytes: Buffer.concat(parts), complete: covered() };
}

/** Reads a ClientHello's server name from the first bytes a client sent. */
export function readClientHello(data: Buffer): HelloResult {
  const records = handshakeBytes(data);
  if (typeof records === 'string') return { kind: 'invalid', reason: records };
  const { bytes, complete } = records;
  if (bytes.length >= 1 && bytes[0] !== CLIENT_HELLO) {
    return { kind: 'invalid', reason: 'the first handshake message is not a ClientHello' };
  }
  if (!complete) {
    return data.length >= MAX_HELLO_BYTES
      ? { kind: 'invalid', reason: 'ClientHello too large' }
      : { kind: 'incomplete' };
  }
  const end = 4 + bytes.readUIntBE(1, 3);
  let at = 4;
  const need = (n: number): boolean => at + n <= end;
  const skip = (lengthBytes: 1 | 2): boolean => {
    if (!need(lengthBytes)) return false;
    const n = lengthBytes === 1 ? bytes[at]! : bytes.readUInt16BE(at);
    at += lengthBytes;
    if (!need(n)) return false;
    at += n;
    return true;
  };
  // legacy_version (2), random (32), session id, cipher suites, compression methods.
  if (!need(34)) return { kind: 'invalid', reason: 'ClientHello truncated' };
  at += 34;
  if (!skip(1) || !skip(2) || !skip(1)) return { kind: 'invalid', reason: 'ClientHello truncated' };
  if (at === end) return { kind: 'hello', name: undefined };
  if (!need(2)) return { kind: 'invalid', reason: 'ClientHello extensions truncated' };
  const extensionsEnd = at + 2 + bytes.readUInt16BE(at);
  at += 2;
  if (extensionsEnd > end) return { kind: 'invalid', reason: 'ClientHello extensions truncated' };
  while (at + 4 <= extensionsEnd) {
    const type = bytes.readUInt16BE(at);
    const length = bytes.readUInt16BE(at + 2);
    at += 4;
    if (at + length > extensionsEnd) {
      return { kind: 'invalid', reason: 'ClientHello extension truncated' };
    }
    if (type === SERVER_NAME) return serverName(bytes.subarray(at, at + length));
    at += length;
  }
  return { kind: 'hello', name: undefined };
}

/** The host_name entry of a server_name extension's body. */
function serverName(ext: Buffer): HelloResult {
  if (ext.length < 2 || ext.readUInt16BE(0) + 2 !== ext.length) {
    return { kind: 'invalid', reason: 'bad server_name extension' };
  }
  let at = 2;
  while (at + 3 <= ext.length) {
    const type = ext[at]!;
    const length = ext.readUInt16BE(at + 1);
    at += 3;
    if (at + length > ext.length) return { kind: 'invalid', reason: 'bad server_name entry' };
    if (type === HOST_NAME) {
      const name = ext.toString('latin1', at, at + length);
      // A DNS name (RFC 6066: no trailing dot needed, ASCII only).
      if (length === 0 || !/^[A-Za-z0-9._-]+$/.test(name)) {
        return { kind: 'invalid', reason: 'bad server name' };
      }
      return { kind: 'hello', name };
    }
    at += length;
  }
  return { kind: 'hello', name: undefined };
}
