/**
 * The one place where Docker engine failures (dockerode's errors, socket errors) become typed
 * runtime errors. Everything above agent/docker/ sees only RuntimeError and its codes.
 */

export type RuntimeErrorCode =
  /** The image is not on the node (and pull policy Never, or create found none). */
  | 'ImageNotFound'
  /** A pull was attempted and failed; `message` carries the engine's/registry's words. */
  | 'ImagePullFailed'
  /** Building an image (the pause image, a Dockerfile build) failed. */
  | 'ImageBuildFailed'
  /** A push to a registry failed; `message` carries the engine's/registry's words. */
  | 'ImagePushFailed'
  | 'ContainerNotFound'
  | 'VolumeNotFound'
  /** Name already taken, container in the wrong state, volume in use... */
  | 'Conflict'
  /** The object exists but lacks this node's ownership labels: the agent will not touch it. */
  | 'NotManaged'
  /** The engine cannot be reached (socket missing, refused, reset). */
  | 'EngineUnavailable'
  /** The engine refused the request as malformed (400). */
  | 'InvalidRequest'
  /** A plan failed the last security check before reaching the engine. */
  | 'Unsafe'
  | 'Timeout'
  | 'EngineError';

export class RuntimeError extends Error {
  readonly code: RuntimeErrorCode;
  /** HTTP status from the engine, when there was one. */
  readonly statusCode: number | undefined;

  constructor(
    code: RuntimeErrorCode,
    message: string,
    options: { cause?: unknown; statusCode?: number } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RuntimeError';
    this.code = code;
    this.statusCode = options.statusCode;
  }
}

export function isRuntimeError(err: unknown, code?: RuntimeErrorCode): err is RuntimeError {
  return err instanceof RuntimeError && (code === undefined || err.code === code);
}

/** Socket-level error codes that mean "no engine here right now". */
const UNAVAILABLE = new Set([
  'ECONNREFUSED',
  'ENOENT',
  'ECONNRESET',
  'EPIPE',
  'EACCES',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** What the engine said, without dockerode's "(HTTP code 404) no such container - " wrapper. */
export function engineMessage(err: unknown): string {
  if (typeof err !== 'object' || err === null) return String(err);
  const e = err as { json?: unknown; message?: unknown };
  const json = e.json;
  if (
    typeof json === 'object' &&
    json !== null &&
    typeof (json as { message?: unknown }).message === 'string'
  ) {
    return (json as { message: string }).message.trim();
  }
  if (typeof json === 'string' && json.trim() !== '') return json.trim();
  if (Buffer.isBuffer(json) && json.length > 0) return json.toString('utf8').trim();
  const msg = typeof e.message === 'string' ? e.message : JSON.stringify(err);
  const m = /^\(HTTP code \d+\) [^-]*- (.*)$/s.exec(msg);
  return (m?.[1] ?? msg).trim();
}

export interface ErrorContext {
  /** What was being done, e.g. `create container slipway_app_...`. */
  op: string;
  /** Which kind of object a 404 refers to. */
  kind?: 'container' | 'image' | 'volume' | 'exec';
}

/** Maps anything dockerode or the socket threw to a RuntimeError (RuntimeErrors pass through). */
export function mapDockerError(err: unknown, ctx: ErrorContext): RuntimeError {
  if (err instanceof RuntimeError) return err;
  const e = (typeof err === 'object' && err !== null ? err : {}) as {
    statusCode?: unknown;
    code?: unknown;
    name?: unknown;
  };
  const status = typeof e.statusCode === 'number' ? e.statusCode : undefined;
  const message = engineMessage(err);
  const opts = status === undefined ? { cause: err } : { cause: err, statusCode: status };
  const text = `${ctx.op}: ${message}`;

  if (status === undefined) {
    if (typeof e.code === 'string' && UNAVAILABLE.has(e.code)) {
      return new RuntimeError(
        'EngineUnavailable',
        `${ctx.op}: Docker engine unavailable: ${message}`,
        opts,
      );
    }
    if (e.name === 'AbortError') return new RuntimeError('Timeout', `${ctx.op}: aborted`, opts);
    return new RuntimeError('EngineError', text, opts);
  }
  switch (status) {
    case 404: {
      const lower = message.toLowerCase();
      if (
        ctx.kind === 'image' ||
        lower.includes('no such image') ||
        lower.includes('pull access denied')
      ) {
        return new RuntimeError('ImageNotFound', text, opts);
      }
      if (ctx.kind === 'volume' || lower.includes('no such volume'))
        return new RuntimeError('VolumeNotFound', text, opts);
      return new RuntimeError('ContainerNotFound', text, opts);
    }
    case 409:
      return new RuntimeError('Conflict', text, opts);
    case 400:
      return new RuntimeError('InvalidRequest', text, opts);
    case 304:
      return new RuntimeError('Conflict', `${ctx.op}: not modified`, opts);
    default:
      return new RuntimeError('EngineError', text, opts);
  }
}

/** Runs `fn`, mapping whatever Docker throws to a RuntimeError. */
export async function callDocker<T>(
  op: string,
  fn: () => Promise<T>,
  kind?: ErrorContext['kind'],
): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw mapDockerError(err, kind ? { op, kind } : { op });
  }
}
