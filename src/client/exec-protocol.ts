/**
 * Kubernetes' streaming protocol for `exec` over WebSocket (`v5.channel.k8s.io`, and
 * `v4.channel.k8s.io` without the close signal). Every binary message starts with one byte naming
 * the channel:
 *
 *   0 stdin   client -> server
 *   1 stdout  server -> client
 *   2 stderr  server -> client
 *   3 error   server -> client, once: a Status JSON with the result (exit code)
 *   4 resize  client -> server: `{"Width":W,"Height":H}`
 *   255 close (v5 only) client -> server: the next byte names a channel whose writer is done
 *       (`[255, 0]`: end of stdin)
 *
 * Pure: framing and the result Status; the WebSocket code is in exec-client.ts (CLI side) and in
 * the master and agent servers.
 */

export const EXEC_PROTOCOL_V5 = 'v5.channel.k8s.io';
export const EXEC_PROTOCOL_V4 = 'v4.channel.k8s.io';
/** Offered in order of preference. */
export const EXEC_PROTOCOLS: readonly string[] = [EXEC_PROTOCOL_V5, EXEC_PROTOCOL_V4];

export const CHANNEL = {
  stdin: 0,
  stdout: 1,
  stderr: 2,
  error: 3,
  resize: 4,
  close: 255,
} as const;

/** One message: the channel byte, then the data. */
export function encodeFrame(channel: number, data: Uint8Array | string = new Uint8Array()): Buffer {
  const body = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const frame = Buffer.allocUnsafe(body.length + 1);
  frame[0] = channel;
  frame.set(body, 1);
  return frame;
}

export interface Frame {
  channel: number;
  data: Buffer;
}

/** Splits a message into its channel and data; undefined for an empty message. */
export function decodeFrame(message: Buffer | ArrayBuffer | Buffer[]): Frame | undefined {
  const buf = Array.isArray(message)
    ? Buffer.concat(message)
    : Buffer.isBuffer(message)
      ? message
      : Buffer.from(message);
  if (buf.length === 0) return undefined;
  return { channel: buf[0]!, data: buf.subarray(1) };
}

export interface TerminalSize {
  width: number;
  height: number;
}

export function encodeResize(size: TerminalSize): Buffer {
  return encodeFrame(CHANNEL.resize, JSON.stringify({ Width: size.width, Height: size.height }));
}

/** Parses a resize message body; undefined when it is not one. */
export function decodeResize(data: Buffer): TerminalSize | undefined {
  try {
    const v = JSON.parse(data.toString('utf8')) as { Width?: unknown; Height?: unknown };
    const ok = (n: unknown): n is number =>
      typeof n === 'number' && Number.isInteger(n) && n > 0 && n <= 0xffff;
    return ok(v.Width) && ok(v.Height) ? { width: v.Width, height: v.Height } : undefined;
  } catch {
    return undefined;
  }
}

/** What the error channel carries: Kubernetes' Status, as the kubelet sends it. */
export interface ExecStatus {
  metadata: Record<string, never>;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  details?: { causes?: { reason?: string; message?: string }[] };
}

export function successStatus(): ExecStatus {
  return { metadata: {}, status: 'Success' };
}

/** The Status for a process that exited with a non-zero code. */
export function exitCodeStatus(exitCode: number): ExecStatus {
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: exit status ${exitCode}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(exitCode) }] },
  };
}

/** A failure that is not the process's exit code (it could not be started, the engine broke). */
export function failureStatus(message: string, reason = 'InternalError'): ExecStatus {
  return { metadata: {}, status: 'Failure', message, reason };
}

export type ExecOutcome =
  | { kind: 'exit'; exitCode: number }
  | { kind: 'error'; message: string; reason: string | undefined };

/** Reads the error channel's Status: the exit code, or why the exec failed. */
export function parseExecStatus(data: Buffer | string): ExecOutcome {
  let status: ExecStatus;
  try {
    status = JSON.parse(typeof data === 'string' ? data : data.toString('utf8')) as ExecStatus;
  } catch {
    const text = (typeof data === 'string' ? data : data.toString('utf8')).trim();
    return {
      kind: 'error',
      message: text || 'the server sent an unreadable exec status',
      reason: undefined,
    };
  }
  if (status.status === 'Success') return { kind: 'exit', exitCode: 0 };
  if (status.reason === 'NonZeroExitCode') {
    const cause = status.details?.causes?.find((c) => c.reason === 'ExitCode');
    const code = Number(cause?.message);
    if (Number.isInteger(code)) return { kind: 'exit', exitCode: code };
  }
  return {
    kind: 'error',
    message: status.message || 'the exec failed without saying why',
    reason: status.reason,
  };
}
