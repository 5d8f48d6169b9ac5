/**
 * Kubernetes' port-forward protocol over WebSocket, as the kubelet serves it (subprotocol
 * `v4.channel.k8s.io`). The request names one or more ports: `ports=8080` at the API server,
 * `port=8080` at the node. For the i-th port, channel 2i carries the bytes of one TCP connection
 * to that port inside the pod (both ways) and channel 2i+1 an error message (server to client).
 * The server's first message on each of these channels is the port number, a little-endian
 * uint16, so a client can tell which port a channel is for. There is no half-close: the
 * connection ends when the WebSocket closes.
 *
 * Pure: framing and parsing; the WebSocket code is in port-forward-client.ts (CLI side), the
 * master's pod proxy and the agent's server.
 */
import { ApiError } from '../api/errors.js';
import { EXEC_PROTOCOL_V4 } from './exec-protocol.js';

export const PORT_FORWARD_PROTOCOL = EXEC_PROTOCOL_V4;

/** Ports one WebSocket may forward (two channels each, numbered in one byte). */
export const MAX_FORWARDED_PORTS = 16;

export function dataChannel(index: number): number {
  return index * 2;
}

export function errorChannel(index: number): number {
  return index * 2 + 1;
}

/** The first message on a port's channel: the channel byte, then the port (uint16 LE). */
export function portPrefixFrame(channel: number, port: number): Buffer {
  const frame = Buffer.alloc(3);
  frame[0] = channel;
  frame.writeUInt16LE(port, 1);
  return frame;
}

/**
 * The ports of a request: every value of the `field` query parameter, each a number or a
 * comma-separated list of numbers from 1 to 65535. ApiError (400, naming the field) otherwise.
 */
export function parseForwardedPorts(values: readonly string[], field: string): number[] {
  const ports: number[] = [];
  for (const value of values) {
    for (const part of value.split(',')) {
      const text = part.trim();
      const port = /^[0-9]{1,5}$/.test(text) ? Number(text) : NaN;
      if (!(port >= 1 && port <= 65535)) {
        throw ApiError.badRequest(
          `invalid port "${text}" in ${field}: ports are numbers from 1 to 65535`,
          [{ field, message: `Invalid value: "${text}"`, reason: 'FieldValueInvalid' }],
        );
      }
      ports.push(port);
    }
  }
  if (ports.length === 0) {
    throw ApiError.badRequest(`at least one port is required in ${field}`, [
      { field, message: 'Required value', reason: 'FieldValueRequired' },
    ]);
  }
  if (ports.length > MAX_FORWARDED_PORTS) {
    throw ApiError.badRequest(
      `too many ports in ${field}: ${ports.length} (at most ${MAX_FORWARDED_PORTS} per connection)`,
      [{ field, message: 'Too many: at most 16', reason: 'FieldValueTooLong' }],
    );
  }
  return ports;
}
