import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { isRuntimeError } from './errors.js';
import { openProgress, progressHandler, readProgress, type PullProgress } from './progress.js';

const lines = (...objs: unknown[]): NodeJS.ReadableStream =>
  Readable.from([Buffer.from(objs.map((o) => JSON.stringify(o)).join('\n'))]);

function broken(): NodeJS.ReadableStream {
  return new Readable({
    read() {
      this.destroy(new Error('socket hang up'));
    },
  });
}

const httpError = (statusCode: number, message: string): Error =>
  Object.assign(new Error(`(HTTP code ${statusCode}) x - ${message}`), {
    statusCode,
    json: { message },
  });

describe('openProgress', () => {
  it("turns the engine's refusal into the operation's code with the engine's words", async () => {
    const err = await openProgress(
      async () => {
        throw httpError(500, 'registry unreachable');
      },
      { op: 'push r:1', code: 'ImagePushFailed' },
    ).catch((e: unknown) => e);
    expect(isRuntimeError(err, 'ImagePushFailed')).toBe(true);
    expect((err as Error).message).toBe('push r:1: registry unreachable');
  });

  it('keeps EngineUnavailable and the codes it is asked to keep', async () => {
    const gone = await openProgress(
      async () => {
        throw Object.assign(new Error('connect ENOENT'), { code: 'ENOENT' });
      },
      { op: 'pull image a', code: 'ImagePullFailed' },
    ).catch((e: unknown) => e);
    expect(isRuntimeError(gone, 'EngineUnavailable')).toBe(true);
    const missing = (keep: boolean): Promise<unknown> =>
      openProgress(
        async () => {
          throw httpError(404, 'No such image: a');
        },
        {
          op: 'push a',
          code: 'ImagePushFailed',
          kind: 'image',
          ...(keep ? { keep: ['ImageNotFound' as const] } : {}),
        },
      ).catch((e: unknown) => e);
    expect(isRuntimeError(await missing(true), 'ImageNotFound')).toBe(true);
    expect(isRuntimeError(await missing(false), 'ImagePushFailed')).toBe(true);
  });
});

describe('readProgress', () => {
  it('hands every message on and fails on the first carrying an error', async () => {
    const seen: PullProgress[] = [];
    const err = await readProgress(
      lines(
        { status: 'Pushing', id: 'abc', progressDetail: { current: 1, total: 4 } },
        { stream: 'no status' },
        { error: 'denied \n', errorDetail: { message: 'denied' } },
        { status: 'never seen' },
      ),
      { op: 'push r:1', code: 'ImagePushFailed', onMessage: progressHandler((p) => seen.push(p)) },
    ).catch((e: unknown) => e);
    expect(isRuntimeError(err, 'ImagePushFailed')).toBe(true);
    expect((err as Error).message).toBe('push r:1: denied');
    expect(seen).toEqual([{ status: 'Pushing', id: 'abc', current: 1, total: 4 }]);
  });

  it('words the error as asked', async () => {
    const err = await readProgress(lines({ errorDetail: { message: 'step 2 failed' } }), {
      op: 'build x',
      code: 'ImageBuildFailed',
      errorText: (error) => error,
    }).catch((e: unknown) => e);
    expect((err as Error).message).toBe('step 2 failed');
  });

  it('fails with the code when the stream breaks, and with Timeout once aborted', async () => {
    const err = await readProgress(broken(), { op: 'pull image a', code: 'ImagePullFailed' }).catch(
      (e: unknown) => e,
    );
    expect(isRuntimeError(err, 'ImagePullFailed')).toBe(true);
    expect((err as Error).message).toBe('pull image a: socket hang up');
    const aborted = AbortSignal.abort();
    const timeout = await readProgress(broken(), {
      op: 'build x',
      code: 'ImageBuildFailed',
      timeoutSignal: aborted,
    }).catch((e: unknown) => e);
    expect(isRuntimeError(timeout, 'Timeout')).toBe(true);
    expect((timeout as Error).message).toBe('build x: aborted');
  });
});
