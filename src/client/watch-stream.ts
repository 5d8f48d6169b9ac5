import { ApiError, type WatchEvent } from '../api/index.js';

const eventTypes = new Set(['ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK', 'ERROR']);

/** Splits a byte stream into lines, decoding UTF-8 across chunk boundaries. */
export async function* readLines(
  body: AsyncIterable<Uint8Array>,
): AsyncGenerator<string, void, undefined> {
  const decoder = new TextDecoder();
  let buffered = '';
  for await (const chunk of body) {
    buffered += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      yield line;
    }
  }
  buffered += decoder.decode();
  if (buffered.length > 0) yield buffered;
}

/** Parses one `{type, object}` JSON line of a watch stream. */
export function parseWatchLine<T>(line: string): WatchEvent<T> {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new ApiError(
      'InternalError',
      `the watch stream sent a line that is not JSON: ${line.slice(0, 80)}`,
    );
  }
  const event = value as { type?: unknown; object?: unknown } | null;
  if (
    typeof event !== 'object' ||
    event === null ||
    typeof event.type !== 'string' ||
    !eventTypes.has(event.type) ||
    typeof event.object !== 'object' ||
    event.object === null
  ) {
    throw new ApiError(
      'InternalError',
      `the watch stream sent something that is not a watch event: ${line.slice(0, 80)}`,
    );
  }
  return event as WatchEvent<T>;
}

/** The events of a `?watch=true` response body, one JSON object per line; blank lines are
 * keep-alives and skipped. */
export async function* readWatchStream<T>(
  body: AsyncIterable<Uint8Array>,
): AsyncGenerator<WatchEvent<T>, void, undefined> {
  for await (const line of readLines(body)) {
    if (line.trim() === '') continue;
    yield parseWatchLine<T>(line);
  }
}
