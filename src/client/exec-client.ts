/**
 * The client end of an `exec` stream: a WebSocket speaking `v5.channel.k8s.io` (or v4) to the
 * master's `pods/NAME/exec`. Output arrives through the handlers; the result (exit code or
 * failure) through `done`. Handshake failures become the server's ApiError (its Status), and
 * transport failures a ConnectionError, like every other client call.
 */
import WebSocket from 'ws';
import { ApiError } from '../api/index.js';
import { openChannelSocket } from './channel-socket.js';
import {
  CHANNEL,
  decodeFrame,
  encodeFrame,
  encodeResize,
  EXEC_PROTOCOL_V5,
  EXEC_PROTOCOLS,
  parseExecStatus,
  type ExecOutcome,
  type TerminalSize,
} from './exec-protocol.js';

export interface ExecHandlers {
  stdout(data: Buffer): void;
  stderr(data: Buffer): void;
}

export interface ExecConnection {
  /** The subprotocol the server chose. */
  readonly protocol: string;
  /** Sends stdin; resolves once it is handed to the network (await it for back-pressure). */
  writeStdin(data: Uint8Array | string): Promise<void>;
  /** Ends the remote process's stdin. Returns false when the protocol (v4) cannot say so. */
  closeStdin(): boolean;
  resize(size: TerminalSize): void;
  /** Resolves when the server ends the stream: the exit code, or why the exec failed. */
  readonly done: Promise<ExecOutcome>;
  /** Hangs up; `done` then resolves with an error outcome unless the result already came. */
  close(): void;
}

export interface ConnectExecOptions {
  headers: Record<string, string>;
  handlers: ExecHandlers;
  /** Time for the WebSocket handshake (the server dials the node meanwhile). Default 30 s. */
  handshakeTimeoutMs?: number;
  signal?: AbortSignal | undefined;
  /** Turns a transport failure into the error to throw (the ApiClient names its server). */
  transportError(err: unknown): Error;
  errorFromResponse(code: number, statusText: string, body: string): Error;
}

/** Opens the exec stream at `url` (ws:// or wss://). */
export async function connectExec(
  url: string,
  options: ConnectExecOptions,
): Promise<ExecConnection> {
  const ws = await openChannelSocket(url, EXEC_PROTOCOLS, {
    ...options,
    cancelled: () => new ApiError('Timeout', 'the exec was cancelled'),
  });
  let outcome: ExecOutcome | undefined;
  let finish: (o: ExecOutcome) => void = () => undefined;
  const done = new Promise<ExecOutcome>((r) => {
    finish = r;
  });
  const onAbort = (): void => ws.terminate();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  ws.on('message', (message: WebSocket.RawData) => {
    const frame = decodeFrame(message);
    if (!frame) return;
    switch (frame.channel) {
      case CHANNEL.stdout:
        options.handlers.stdout(frame.data);
        break;
      case CHANNEL.stderr:
        options.handlers.stderr(frame.data);
        break;
      case CHANNEL.error:
        outcome ??= parseExecStatus(frame.data);
        break;
      default:
        break;
    }
  });
  ws.on('close', (code, reason) => {
    options.signal?.removeEventListener('abort', onAbort);
    const why = reason.toString('utf8');
    finish(
      outcome ?? {
        kind: 'error',
        message: `the exec stream ended without a result (${why || `WebSocket close code ${code}`})`,
        reason: undefined,
      },
    );
  });
  ws.resume();
  const protocol = ws.protocol;
  return {
    protocol,
    writeStdin: (data) =>
      new Promise<void>((res) => {
        if (ws.readyState !== WebSocket.OPEN) {
          res();
          return;
        }
        // A send error also closes the socket; `done` reports that.
        ws.send(encodeFrame(CHANNEL.stdin, data), () => res());
      }),
    closeStdin: () => {
      if (protocol !== EXEC_PROTOCOL_V5) return false;
      if (ws.readyState === WebSocket.OPEN)
        ws.send(encodeFrame(CHANNEL.close, Uint8Array.of(CHANNEL.stdin)));
      return true;
    },
    resize: (size) => {
      if (ws.readyState === WebSocket.OPEN) ws.send(encodeResize(size));
    },
    done,
    close: () => ws.close(1000),
  };
}
