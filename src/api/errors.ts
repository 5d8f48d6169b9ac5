/**
 * Typed API errors. Domain code throws these; only the HTTP layer turns them into responses
 * (see `statusCodeFor`), and the client turns `Status` bodies back into them.
 */

export type ErrorReason =
  | 'BadRequest'
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotFound'
  | 'MethodNotAllowed'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Gone'
  | 'Invalid'
  | 'RequestEntityTooLarge'
  | 'UnsupportedMediaType'
  | 'TooManyRequests'
  | 'InternalError'
  | 'ServiceUnavailable'
  | 'Timeout';

export interface StatusCause {
  field?: string;
  message: string;
  reason?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  causes?: StatusCause[];
}

/** The Kubernetes `Status` object, as sent on the wire for every error. */
export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure' | 'Success';
  message: string;
  reason: ErrorReason;
  code: number;
  details?: StatusDetails;
}

const codes: Record<ErrorReason, number> = {
  BadRequest: 400,
  Unauthorized: 401,
  Forbidden: 403,
  NotFound: 404,
  MethodNotAllowed: 405,
  AlreadyExists: 409,
  Conflict: 409,
  Gone: 410,
  Invalid: 422,
  RequestEntityTooLarge: 413,
  UnsupportedMediaType: 415,
  TooManyRequests: 429,
  InternalError: 500,
  ServiceUnavailable: 503,
  Timeout: 504,
};

export function statusCodeFor(reason: ErrorReason): number {
  return codes[reason];
}

export class ApiError extends Error {
  readonly reason: ErrorReason;
  readonly details: StatusDetails | undefined;

  constructor(
    reason: ErrorReason,
    message: string,
    options: { details?: StatusDetails; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ApiError';
    this.reason = reason;
    this.details = options.details;
  }

  get code(): number {
    return statusCodeFor(this.reason);
  }

  toStatus(): Status {
    const status: Status = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      code: this.code,
    };
    if (this.details) status.details = this.details;
    return status;
  }

  static fromStatus(status: Status): ApiError {
    return new ApiError(
      status.reason,
      status.message,
      status.details ? { details: status.details } : {},
    );
  }

  static notFound(kind: string, name: string, group = ''): ApiError {
    const resource = group ? `${kind}.${group}` : kind;
    return new ApiError('NotFound', `${resource} "${name}" not found`, {
      details: { name, kind, group },
    });
  }

  static alreadyExists(kind: string, name: string): ApiError {
    return new ApiError('AlreadyExists', `${kind} "${name}" already exists`, {
      details: { name, kind },
    });
  }

  static conflict(kind: string, name: string, why: string): ApiError {
    return new ApiError('Conflict', `Operation cannot be fulfilled on ${kind} "${name}": ${why}`, {
      details: { name, kind },
    });
  }

  /** `Pod "x" is invalid: spec.containers[0].image: Required value` */
  static invalid(kind: string, name: string, causes: StatusCause[]): ApiError {
    const summary = causes
      .map((c) => (c.field ? `${c.field}: ${c.message}` : c.message))
      .join(', ');
    return new ApiError('Invalid', `${kind} "${name}" is invalid: ${summary}`, {
      details: { name, kind, causes },
    });
  }

  static badRequest(message: string, causes?: StatusCause[]): ApiError {
    return new ApiError('BadRequest', message, causes ? { details: { causes } } : {});
  }

  static gone(message: string): ApiError {
    return new ApiError('Gone', message);
  }
}

export function isApiError(err: unknown, reason?: ErrorReason): err is ApiError {
  return err instanceof ApiError && (reason === undefined || err.reason === reason);
}

/** What `pending` resolves to, or undefined when it fails with NotFound (no such object). */
export async function unlessNotFound<T>(pending: Promise<T>): Promise<T | undefined> {
  try {
    return await pending;
  } catch (err) {
    if (isApiError(err, 'NotFound')) return undefined;
    throw err;
  }
}

export function isStatus(value: unknown): value is Status {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { kind?: unknown }).kind === 'Status' &&
    typeof (value as { code?: unknown }).code === 'number'
  );
}
