/**
 * `/exec/NS/POD/CONTAINER` once upgraded to a WebSocket: bridges one `runtime.exec` session to
 * Kubernetes' channel protocol (src/client/exec-protocol.ts). stdin (0) and resize (4) come in,
 * stdout (1) and stderr (2) go out, and when the process ends its result goes out on the error
 * channel (3) as the kubelet sends it, then the socket closes normally. A client that hangs up
 * hangs up the process's stdin and output too.
 */
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type WebSocket from 'ws';
import { ApiError } from '../../src/api/errors.js';
import {
  CHANNEL,
  decodeFrame,
  decodeResize,
  encodeFrame,
  EXEC_PROTOCOL_V5,
  exitCodeStatus,
  failureStatus,
  successStatus,
  type ExecStatus,
} from '../../src/client/exec-protocol.js';
import type { ExecSession } from '../docker/runtime.js';
import type { AgentRuntime } from './runtime.js';

export interface ExecParams {
  command: string[];
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

/** Output is paused while more than this is queued on the WebSocket. */
const HIGH_WATER = 1024 * 1024;

function bool(query: URLSearchParams, name: string): boolean {
  const v = query.get(name);
  if (v === null || v === '' || v === 'false' || v === '0') return false;
  if (v === 'true' || v === '1') return true;
  throw ApiError.badRequest(`invalid value for ${name}: "${v}" (expected true or false)`);
}

export function parseExecParams(query: URLSearchParams): ExecParams {
  const command = query.getAll('command');
  if (command.length === 0 || command[0] === '') {
    throw ApiError.badRequest('you must specify at least one command for the container');
  }
  const params = {
    command,
    stdin: bool(query, 'stdin'),
    stdout: bool(query, 'stdout'),
    stderr: bool(query, 'stderr'),
    tty: bool(query, 'tty'),
  };
  if (!params.stdin && !params.stdout && !params.stderr) {
    throw ApiError.badRequest('you must specify at least one of stdin, stdout, stderr');
  }
  return params;
}

/**
 * Runs the exec on an open WebSocket; resolves when it is over (the socket is closed by then).
 * `signal` ends it early (server shutdown): the socket closes with 1001.
 */
export async function runExec(
  ws: WebSocket,
  runtime: AgentRuntime,
  containerId: string,
  params: ExecParams,
  signal: AbortSignal,
  logger: Logger,
): Promise<void> {
  const v5 = ws.protocol === EXEC_PROTOCOL_V5;
  let session: ExecSession | undefined;
  let hungUp = false;
  // Input that arrives while the exec is being created waits here.
  const pending: Buffer[] = [];
  let stdinClosed = false;

  const handleFrame = (message: WebSocket.RawData): void => {
    const frame = decodeFrame(message);
    if (!frame) return;
    if (!session) {
      pending.push(Buffer.concat([Buffer.of(frame.channel), frame.data]));
      return;
    }
    switch (frame.channel) {
      case CHANNEL.stdin:
        if (
          session.stdin &&
          !stdinClosed &&
          frame.data.length > 0 &&
          !session.stdin.writableEnded &&
          !session.stdin.destroyed
        ) {
          if (!session.stdin.write(frame.data)) {
            ws.pause();
            session.stdin.once('drain', () => ws.resume());
          }
        }
        return;
      case CHANNEL.resize: {
        const size = decodeResize(frame.data);
        if (size && params.tty) {
          session.resize({ cols: size.width, rows: size.height }).catch((err: unknown) => {
            logger.debug({ err: (err as Error).message }, 'exec resize failed');
          });
        }
        return;
      }
      case CHANNEL.close:
        if (v5 && frame.data[0] === CHANNEL.stdin && session.stdin && !stdinClosed) {
          stdinClosed = true;
          session.stdin.end();
        }
        return;
      default:
        return;
    }
  };

  const closed = new Promise<void>((resolve) => {
    ws.on('close', () => {
      hungUp = true;
      session?.close();
      resolve();
    });
  });
  ws.on('message', handleFrame);
  ws.on('error', (err) => logger.debug({ err: err.message }, 'exec socket error'));
  const onAbort = (): void => {
    hungUp = true;
    ws.resume();
    ws.close(1001, 'the node agent is shutting down');
    session?.close();
  };
  signal.addEventListener('abort', onAbort, { once: true });

  const sendStatus = (status: ExecStatus): void => {
    if (ws.readyState !== ws.OPEN) return;
    ws.send(encodeFrame(CHANNEL.error, JSON.stringify(status)));
    // Input paused for back-pressure must flow again, or the client's close reply is never read.
    stdinClosed = true;
    ws.resume();
    ws.close(1000);
  };

  try {
    try {
      session = await runtime.exec(containerId, params.command, {
        tty: params.tty,
        stdin: params.stdin,
      });
    } catch (err) {
      logger.debug({ err: (err as Error).message }, 'exec failed to start');
      sendStatus(failureStatus(`failed to exec in container: ${(err as Error).message}`));
      await closed;
      return;
    }
    if (hungUp) {
      session.close();
      await closed;
      return;
    }
    const forward = (source: Readable, channel: number, wanted: boolean): Promise<void> =>
      new Promise<void>((resolve) => {
        source.on('data', (chunk: Buffer) => {
          if (!wanted || ws.readyState !== ws.OPEN) return;
          ws.send(encodeFrame(channel, chunk), () => {
            if (ws.bufferedAmount < HIGH_WATER / 2 && session?.stream.isPaused()) {
              session.stream.resume();
            }
          });
          if (ws.bufferedAmount > HIGH_WATER) session?.stream.pause();
        });
        source.on('end', resolve);
        source.on('close', resolve);
      });
    const output = Promise.all([
      forward(session.stdout, CHANNEL.stdout, params.stdout),
      forward(session.stderr, CHANNEL.stderr, params.stderr),
    ]);
    for (const message of pending.splice(0)) handleFrame(message);

    let exitCode: number | undefined;
    try {
      // A client that hangs up does not wait for the process.
      exitCode = await Promise.race([session.exitCode, closed.then(() => undefined)]);
    } catch (err) {
      if (!hungUp) sendStatus(failureStatus(`exec failed: ${(err as Error).message}`));
    }
    await output;
    if (exitCode !== undefined && !hungUp) {
      sendStatus(exitCode === 0 ? successStatus() : exitCodeStatus(exitCode));
    }
    await closed;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
