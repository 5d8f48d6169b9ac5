import type { IncomingMessage } from 'node:http';
import { parseAllDocuments } from 'yaml';
import { ApiError } from '../../src/api/errors.js';
import type { PatchType } from './resources.js';

/** Request bodies above this are refused with 413 (etcd's object limit, with room for YAML). */
export const MAX_BODY_BYTES = 3 * 1024 * 1024;

/** An oversize body is read and discarded up to here, so the client sees the 413; beyond it
 * the connection is closed. */
const DRAIN_LIMIT_BYTES = 16 * 1024 * 1024;

const JSON_TYPES = new Set(['application/json']);
const YAML_TYPES = new Set(['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml']);
const PATCH_TYPES: Record<string, PatchType> = {
  'application/merge-patch+json': 'merge',
  'application/strategic-merge-patch+json': 'strategic',
  'application/json-patch+json': 'json',
};

export function mediaType(req: IncomingMessage): string | undefined {
  const header = req.headers['content-type'];
  if (!header) return undefined;
  return header.split(';', 1)[0]!.trim().toLowerCase() || undefined;
}

export function tooLarge(limit: number): ApiError {
  return new ApiError(
    'RequestEntityTooLarge',
    `the request body is too large: the limit is ${limit} bytes`,
  );
}

/** Reads the whole body, refusing more than `limit` bytes with a 413. */
export function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > DRAIN_LIMIT_BYTES)
    return Promise.reject(tooLarge(limit));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
      else if (size > DRAIN_LIMIT_BYTES) {
        cleanup();
        reject(tooLarge(limit));
      }
    };
    const onEnd = (): void => {
      cleanup();
      if (size > limit) reject(tooLarge(limit));
      else resolve(Buffer.concat(chunks, size));
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(ApiError.badRequest(`the request body could not be read: ${err.message}`));
    };
    const onAborted = (): void => {
      cleanup();
      reject(ApiError.badRequest('the client aborted the request'));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
  });
}

/** Line and column (1-based) of a character offset. */
function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = 0; i < offset && i < text.length; i += 1) {
    if (text.charCodeAt(i) === 10) {
      line += 1;
      start = i + 1;
    }
  }
  return { line, column: offset - start + 1 };
}

/**
 * Where JSON.parse gave up, for error messages: a small scanner that follows the JSON grammar
 * and returns the offset of the first character it cannot accept.
 */
export function jsonErrorOffset(text: string): number {
  let i = 0;
  const ws = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i += 1;
  };
  const fail = (): never => {
    throw new RangeError(String(i));
  };
  const literal = (word: string): void => {
    for (const ch of word) {
      if (text[i] !== ch) fail();
      i += 1;
    }
  };
  const string = (): void => {
    i += 1;
    for (;;) {
      if (i >= text.length) fail();
      const ch = text[i]!;
      if (ch === '"') {
        i += 1;
        return;
      }
      if (ch === '\\') {
        i += 1;
        const esc = text[i];
        if (esc === 'u') {
          for (let k = 1; k <= 4; k += 1) if (!/[0-9a-fA-F]/.test(text[i + k] ?? '')) fail();
          i += 5;
        } else if (esc !== undefined && '"\\/bfnrt'.includes(esc)) i += 1;
        else fail();
      } else if (ch.charCodeAt(0) < 0x20) fail();
      else i += 1;
    }
  };
  const number = (): void => {
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?/.exec(text.slice(i));
    if (!m || m[0] === '-' || m[0] === '') fail();
    i += m![0].length;
  };
  const value = (): void => {
    ws();
    const ch = text[i];
    if (ch === '{') {
      i += 1;
      ws();
      if (text[i] === '}') {
        i += 1;
        return;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail();
        string();
        ws();
        if (text[i] !== ':') fail();
        i += 1;
        value();
        ws();
        if (text[i] === ',') i += 1;
        else if (text[i] === '}') {
          i += 1;
          return;
        } else fail();
      }
    } else if (ch === '[') {
      i += 1;
      ws();
      if (text[i] === ']') {
        i += 1;
        return;
      }
      for (;;) {
        value();
        ws();
        if (text[i] === ',') i += 1;
        else if (text[i] === ']') {
          i += 1;
          return;
        } else fail();
      }
    } else if (ch === '"') string();
    else if (ch === 't') literal('true');
    else if (ch === 'f') literal('false');
    else if (ch === 'n') literal('null');
    else if (ch === '-' || (ch !== undefined && ch >= '0' && ch <= '9')) number();
    else fail();
  };
  try {
    value();
    ws();
    return i < text.length ? i : text.length;
  } catch (err) {
    if (err instanceof RangeError) return Number(err.message);
    throw err;
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    const offset = jsonErrorOffset(text);
    const { line, column } = lineColumn(text, offset);
    const why = (err as Error).message;
    const message = `the request body is not valid JSON: ${why} (at line ${line}, column ${column}, offset ${offset})`;
    throw ApiError.badRequest(message, [
      { message: `${why} (line ${line}, column ${column})`, reason: 'FieldValueInvalid' },
    ]);
  }
}

function parseYaml(text: string): unknown {
  const docs = parseAllDocuments(text, { uniqueKeys: true, prettyErrors: true });
  const list = Array.isArray(docs) ? docs : [];
  if (list.length > 1) {
    throw ApiError.badRequest(
      `the request body holds ${list.length} YAML documents; send one object per request`,
    );
  }
  const doc = list[0];
  if (!doc) throw ApiError.badRequest('the request body is empty');
  const error = doc.errors[0];
  if (error) {
    // The first line of the parser's message ends "at line L, column C:".
    const why = error.message.split('\n', 1)[0]!.replace(/:$/, '');
    throw ApiError.badRequest(`the request body is not valid YAML: ${why}`, [
      { message: why, reason: 'FieldValueInvalid' },
    ]);
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    throw ApiError.badRequest(`the request body is not valid YAML: ${(err as Error).message}`);
  }
  // Only what JSON can express goes further (no Maps, binary, special numbers).
  return JSON.parse(JSON.stringify(value) ?? 'null') as unknown;
}

/** An object body (create, update, delete options): JSON, or YAML by Content-Type. */
export function decodeObjectBody(buf: Buffer, type: string | undefined): unknown {
  const text = buf.toString('utf8');
  if (text.trim() === '') throw ApiError.badRequest('the request body is empty');
  if (type === undefined || JSON_TYPES.has(type)) return parseJson(text);
  if (YAML_TYPES.has(type)) return parseYaml(text);
  throw new ApiError(
    'UnsupportedMediaType',
    `the body of the request was in an unknown format (${type}); accepted media types: application/json, application/yaml`,
  );
}

/** A PATCH body: its patch type comes from the Content-Type. */
export function decodePatchBody(
  buf: Buffer,
  type: string | undefined,
): { type: PatchType; patch: unknown } {
  const patchType = type === undefined ? undefined : PATCH_TYPES[type];
  if (!patchType) {
    throw new ApiError(
      'UnsupportedMediaType',
      `the patch type ${type ?? '(none)'} is not supported; use application/merge-patch+json, application/strategic-merge-patch+json or application/json-patch+json`,
    );
  }
  const text = buf.toString('utf8');
  if (text.trim() === '') throw ApiError.badRequest('the request body is empty');
  return { type: patchType, patch: parseJson(text) };
}
