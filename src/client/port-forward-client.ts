/**
 * The client end of one port-forward connection: a WebSocket to the master's
 * `pods/NAME/portforward?ports=PORT` speaking `v4.channel.k8s.io`
 * (port-forward-protocol.ts), presented as a Duplex carrying the bytes of one TCP connection to
 * PORT inside the pod. What the node says went wrong (nothing listens there, say) arrives through
 * `error`. Handshake failures become the server's ApiError (its Status), transport failures the
 * error `transportError` makes, like every other client call.
 */
import { Duplex } from 'node:stream';
import WebSocket from 'ws';
import { openChannelSocket } from './channel-socket.js';
import { decodeFrame, encodeFrame } from './exec-protocol.js';
import { dataChannel, errorChannel, PORT_FORWARD_PROTOCOL } from './port-forward-protocol.js';

export interface PortForwardConnection {
  /** Write to send to the pod's port; read what it answers. Ends when the connection ends. */
  readonly stream: Duplex;
  /** Resolves when the connection is over: the node's error message, or undefined. */
  readonly error: Promise<string | undefined>;
}

export interface ConnectPortForwardOptions {
  headers: Record<string, string>;
  /** Time for the WebSocket handshake (the server dials the node meanwhile). Default 30 s. */
  handshakeTimeoutMs?: number;
  transportError(err: unknown): Error;
  errorFromResponse(code: number, statusText: string, body: string): Error;
}

/** Opens the port-forward stream at `url` (ws:// or wss://) for the single port it names. */
export async function connectPortForward(
  url: string,
  options: ConnectPortForwardOptions,
): Promise<PortForwardConnection> {
  const ws = await openChannelSocket(url, [PORT_FORWARD_PROTOCOL], options);
  const data = dataChannel(0);
  const errors = errorChannel(0);
  // The first message on each channel is its port number (two bytes), not data.
  const prefixLeft = new Map([
    [data, 2],
    [errors, 2],
  ]);
  let errorText = '';
  let finish: (message: string | undefined) => void = () => undefined;
  const error = new Promise<string | undefined>((r) => (finish = r));

  const stream = new Duplex({
    read() {
      ws.resume();
    },
    write(chunk: Buffer, _encoding, callback) {
      if (ws.readyState !== WebSocket.OPEN) {
        callback();
        return;
      }
      ws.send(encodeFrame(data, chunk), (err) => callback(err ?? null));
    },
    // The protocol cannot half-close: the connection lasts until either side closes it.
    final(callback) {
      callback();
    },
    destroy(err, callback) {
      if (ws.readyState === WebSocket.OPEN) ws.close(1000);
      callback(err);
    },
  });

  ws.on('error', (err) => stream.destroy(options.transportError(err)));
  ws.on('message', (message: WebSocket.RawData) => {
    const frame = decodeFrame(message);
    if (!frame) return;
    let body = frame.data;
    const skip = prefixLeft.get(frame.channel) ?? 0;
    if (skip > 0) {
      prefixLeft.set(frame.channel, Math.max(0, skip - body.length));
      body = body.subarray(skip);
    }
    if (body.length === 0) return;
    if (frame.channel === data) {
      if (!stream.push(body)) ws.pause();
    } else if (frame.channel === errors && errorText.length < 16 * 1024) {
      errorText += body.toString('utf8');
    }
  });
  ws.on('close', () => {
    ws.resume();
    stream.push(null);
    finish(errorText.trim() || undefined);
  });
  ws.resume();
  return { stream, error };
}
