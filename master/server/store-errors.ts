import { ApiError } from '../../src/api/errors.js';
import { isStoreError } from '../store/types.js';

/** What an operation was about, so a store error can be told in API words. */
export interface ErrorContext {
  /** `pods`, `projects.project.openshift.io` */
  resource: string;
  name?: string;
  /** The resourceVersion the client asked to watch or list from. */
  resourceVersion?: string;
}

export const CONFLICT_MESSAGE =
  'the object has been modified; please apply your changes to the latest version and try again';

/**
 * The one place store errors become API errors. Anything that is not a StoreError passes
 * through unchanged.
 */
export function toApiError(err: unknown, ctx: ErrorContext): unknown {
  if (!isStoreError(err)) return err;
  const name = ctx.name ?? '';
  switch (err.code) {
    case 'KeyExists':
      return new ApiError('AlreadyExists', `${ctx.resource} "${name}" already exists`, {
        details: { name, kind: ctx.resource },
        cause: err,
      });
    case 'NotFound':
      return new ApiError('NotFound', `${ctx.resource} "${name}" not found`, {
        details: { name, kind: ctx.resource },
        cause: err,
      });
    case 'Conflict':
      return new ApiError(
        'Conflict',
        `Operation cannot be fulfilled on ${ctx.resource} "${name}": ${CONFLICT_MESSAGE}`,
        { details: { name, kind: ctx.resource }, cause: err },
      );
    case 'Compacted':
      return new ApiError(
        'Gone',
        `too old resource version: ${ctx.resourceVersion ?? '?'} (${err.revision ?? '?'})`,
        { cause: err },
      );
    case 'TooSlow':
      return new ApiError(
        'Gone',
        'the watch fell too far behind; watch again from the last resourceVersion seen',
        {
          cause: err,
        },
      );
    case 'Closed':
      return new ApiError('ServiceUnavailable', 'the server is shutting down', { cause: err });
  }
  return err;
}

/** Runs a store call and maps its errors. */
export async function mapStoreErrors<T>(ctx: ErrorContext, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toApiError(err, ctx);
  }
}
