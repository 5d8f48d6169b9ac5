/**
 * `/portForward/NS/POD?port=N[&port=M]` once upgraded to a WebSocket, speaking Kubernetes'
 * port-forward protocol (src/client/port-forward-protocol.ts). For each port, one TCP connection
 * to 127.0.0.1:PORT inside the pod's network namespace, as the kubelet makes it, so a server that
 * listens on the pod's loopback only is reached too. The connection is BusyBox's `nc` run in the
 * pod's infra container (Slipway's pause image is BusyBox), its stdin and stdout joined to the
 * port's data channel; why it failed (`Connection refused`) goes to the port's error channel.
 *
 * Docker never ends an exec whose client went away, so when the client leaves first the `nc` is
 * killed by the PID it printed inside the container.
 */
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type WebSocket from 'ws';
import { decodeFrame, encodeFrame } from '../../src/client/exec-protocol.js';
import {
  dataChannel,
  errorChannel,
  portPrefixFrame,
} from '../../src/client/port-forward-protocol.js';
import type { ExecSession } from '../docker/runtime.js';
import type { AgentRuntime } from './runtime.js';

/** Output is paused while more than this is queued on the WebSocket. */
const HIGH_WATER = 1024 * 1024;
/** `sh` prints its PID, which `exec` hands on to `nc`, before anything else on stderr. */
const FORWARDER = 'echo "$$" >&2 && exec nc 127.0.0.1 "$1"';
const MAX_STDERR = 4096;

export interface PortForwardTarget {
  /** The pod's running infra container. */
  sandboxId: string;
  /** `NS/NAME`, for messages. */
  pod: string;
  ports: readonly number[];
}

/** Why a forwarder ended badly, from what `nc` printed: `Connection refused`. */
export function forwardFailure(stderr: string, exitCode: number | undefined): string {
  const line =
    stderr
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .at(-1) ?? '';
  const refused = /can't connect to remote host \([^)]*\): (.+)$/.exec(line);
  if (refused) return refused[1]!.trim();
  if (line) return line.replace(/^nc: /, '');
  return `the forwarder exited with status ${exitCode ?? 'unknown'}`;
}

interface Stream {
  port: number;
  session?: ExecSession;
  /** Data that came before the session. */
  pending: Buffer[];
  pid: Promise<string | undefined>;
  done: boolean;
}

/** Forwards until every port's connection has ended or the client hangs up. */
export async function runPortForward(
  ws: WebSocket,
  runtime: AgentRuntime,
  target: PortForwardTarget,
  signal: AbortSignal,
  logger: Logger,
): Promise<void> {
  let hungUp = false;
  const streams: Stream[] = target.ports.map((port) => ({
    port,
    pending: [],
    pid: Promise.resolve(undefined),
    done: false,
  }));

  const write = (stream: Stream, data: Buffer): void => {
    const stdin = stream.session?.stdin;
    if (!stdin) {
      if (!stream.done) stream.pending.push(data);
      return;
    }
    if (stdin.writableEnded || stdin.destroyed || data.length === 0) return;
    if (!stdin.write(data)) {
      ws.pause();
      stdin.once('drain', () => ws.resume());
    }
  };

  ws.on('message', (message: WebSocket.RawData) => {
    const frame = decodeFrame(message);
    if (!frame || frame.channel % 2 !== 0) return;
    const stream = streams[frame.channel / 2];
    if (stream) write(stream, frame.data);
  });
  ws.on('error', (err) => logger.debug({ err: err.message }, 'port-forward socket error'));

  /** Ends a forwarder whose client left: hang up, then kill `nc` by its PID. */
  const stop = async (stream: Stream): Promise<void> => {
    if (stream.done || !stream.session) return;
    stream.session.close();
    const pid = await Promise.race([
      stream.pid,
      new Promise<undefined>((r) => setTimeout(() => r(undefined), 2000).unref()),
    ]);
    if (!pid) return;
    await runtime
      .execInContainer(target.sandboxId, ['kill', pid], { timeoutMs: 5000 })
      .catch((err: unknown) =>
        logger.debug({ err: (err as Error).message }, 'cannot stop a port-forward connection'),
      );
  };

  const closed = new Promise<void>((resolve) => {
    ws.on('close', () => {
      hungUp = true;
      void Promise.all(streams.map(stop)).finally(resolve);
    });
  });
  const onAbort = (): void => {
    ws.resume();
    ws.close(1001, 'the node agent is shutting down');
  };
  signal.addEventListener('abort', onAbort, { once: true });

  const send = (frame: Buffer, then?: () => void): void => {
    if (ws.readyState === ws.OPEN) ws.send(frame, then);
  };

  const forward = async (stream: Stream, index: number): Promise<void> => {
    const fail = (reason: string): void => {
      send(
        encodeFrame(
          errorChannel(index),
          `error forwarding port ${stream.port} to pod ${target.pod}: ${reason}`,
        ),
      );
    };
    let session: ExecSession;
    try {
      session = await runtime.exec(
        target.sandboxId,
        ['sh', '-c', FORWARDER, 'port-forward', String(stream.port)],
        { stdin: true, tty: false },
      );
    } catch (err) {
      fail(`cannot start a connection inside the pod: ${(err as Error).message}`);
      return;
    }
    stream.session = session;
    if (hungUp) {
      session.close();
      return;
    }
    let stderr = '';
    stream.pid = new Promise<string | undefined>((resolve) => {
      session.stderr.on('data', (chunk: Buffer) => {
        if (stderr.length < MAX_STDERR) stderr += chunk.toString('utf8');
        const m = /^(\d+)\n/.exec(stderr);
        if (m) resolve(m[1]);
      });
      session.stderr.on('close', () => resolve(undefined));
      session.stderr.on('end', () => resolve(undefined));
    });
    const output = new Promise<void>((resolve) => {
      const source: Readable = session.stdout;
      source.on('data', (chunk: Buffer) => {
        send(encodeFrame(dataChannel(index), chunk), () => {
          if (ws.bufferedAmount < HIGH_WATER / 2 && session.stream.isPaused()) {
            session.stream.resume();
          }
        });
        if (ws.bufferedAmount > HIGH_WATER) session.stream.pause();
      });
      source.on('end', resolve);
      source.on('close', resolve);
    });
    for (const data of stream.pending.splice(0)) write(stream, data);
    await output;
    const exitCode = await session.exitCode.catch(() => undefined);
    stream.done = true;
    if (hungUp) return;
    if (exitCode !== 0) {
      const reason = forwardFailure(stderr.replace(/^\d+\n/, ''), exitCode);
      fail(`failed to connect to localhost:${stream.port} inside the pod: ${reason}`);
    }
  };

  try {
    streams.forEach((stream, index) => {
      send(portPrefixFrame(dataChannel(index), stream.port));
      send(portPrefixFrame(errorChannel(index), stream.port));
    });
    await Promise.all(streams.map(forward));
    if (!hungUp) {
      ws.resume();
      ws.close(1000);
    }
    await closed;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
