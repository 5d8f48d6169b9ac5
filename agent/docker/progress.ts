/**
 * The engine's progress streams (pull, build, push): starting one, reading it to the end, and the
 * failures both can end in. Every image operation that streams progress goes through here, so a
 * failure is reported the same way whichever caller started it.
 */
import { isRuntimeError, mapDockerError, RuntimeError, type RuntimeErrorCode } from './errors.js';
import { jsonLines } from './streams.js';

/** A pull's or push's progress: one message of the engine's stream. */
export interface PullProgress {
  /** Layer ID, when the message is about a layer. */
  id?: string;
  status: string;
  current?: number;
  total?: number;
}

/** One message of the engine's pull, build or push progress stream. */
export interface ProgressMessage {
  stream?: string;
  status?: string;
  progress?: string;
  id?: string;
  error?: string;
  errorDetail?: { message?: string };
  aux?: { ID?: string; Tag?: string; Digest?: string; Size?: number };
  progressDetail?: { current?: number; total?: number };
}

/** The failure codes of the operations that stream progress. */
export type ProgressFailure = 'ImagePullFailed' | 'ImageBuildFailed' | 'ImagePushFailed';

/** The error a message carries, if it carries one. */
function messageError(msg: ProgressMessage): string | undefined {
  return msg.error || msg.errorDetail?.message || undefined;
}

/** The message as progress, for messages with a status. */
function toPullProgress(msg: ProgressMessage): PullProgress | undefined {
  if (!msg.status) return undefined;
  const p: PullProgress = { status: msg.status };
  if (msg.id) p.id = msg.id;
  if (msg.progressDetail?.current !== undefined) p.current = msg.progressDetail.current;
  if (msg.progressDetail?.total !== undefined) p.total = msg.progressDetail.total;
  return p;
}

/** `onProgress` as a message handler: it gets the progress of every message with a status. */
export function progressHandler(
  onProgress: ((p: PullProgress) => void) | undefined,
): ((msg: ProgressMessage) => void) | undefined {
  if (!onProgress) return undefined;
  return (msg) => {
    const p = toPullProgress(msg);
    if (p) onProgress(p);
  };
}

/**
 * Starts a streaming operation. The engine being away stays EngineUnavailable, as do the codes
 * in `keep`; anything else becomes `code` with the engine's words.
 */
export async function openProgress(
  start: () => Promise<NodeJS.ReadableStream>,
  context: {
    op: string;
    code: ProgressFailure;
    kind?: 'image';
    keep?: readonly RuntimeErrorCode[];
  },
): Promise<NodeJS.ReadableStream> {
  try {
    return await start();
  } catch (err) {
    const { op, kind } = context;
    const mapped = mapDockerError(err, kind ? { op, kind } : { op });
    if (mapped.code === 'EngineUnavailable' || context.keep?.includes(mapped.code)) throw mapped;
    throw new RuntimeError(context.code, mapped.message, { cause: err });
  }
}

/**
 * Reads a progress stream to its end, handing every message to `onMessage`. A message carrying
 * an error fails with `code` and `errorText(error)` (by default `OP: ERROR`, trimmed); a stream
 * that breaks fails with `code` and its error, or with Timeout once `timeoutSignal` has aborted.
 */
export async function readProgress(
  stream: NodeJS.ReadableStream,
  context: {
    op: string;
    code: ProgressFailure;
    onMessage?: (msg: ProgressMessage) => void;
    errorText?: (error: string) => string;
    timeoutSignal?: AbortSignal | undefined;
  },
): Promise<void> {
  const { op, code } = context;
  try {
    for await (const raw of jsonLines(stream)) {
      const msg = raw as ProgressMessage;
      const error = messageError(msg);
      if (error !== undefined) {
        throw new RuntimeError(code, context.errorText?.(error) ?? `${op}: ${error.trim()}`);
      }
      context.onMessage?.(msg);
    }
  } catch (err) {
    if (isRuntimeError(err)) throw err;
    if (context.timeoutSignal?.aborted) throw new RuntimeError('Timeout', `${op}: aborted`);
    throw new RuntimeError(code, `${op}: ${(err as Error).message}`, { cause: err });
  }
}
