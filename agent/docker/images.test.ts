import { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/util/logger.js';
import { isRuntimeError } from './errors.js';
import { ensureImage, isStaticElf, pauseImageContext, type PullProgress } from './images.js';

/** A fake engine: images present by ref, and what `pull` streams (or throws). */
function fakeDocker(options: {
  present?: string[];
  pull?: () => Promise<NodeJS.ReadableStream>;
}): Docker & { pulls: string[] } {
  const present = new Set(options.present ?? []);
  const pulls: string[] = [];
  const notFound = (ref: string): Error =>
    Object.assign(new Error(`No such image: ${ref}`), {
      statusCode: 404,
      json: { message: `No such image: ${ref}` },
    });
  return {
    pulls,
    getImage: (ref: string) => ({
      inspect: async () => {
        if (!present.has(ref)) throw notFound(ref);
        return {
          Id: `sha256:${ref}`,
          Config: {
            User: '1001',
            Entrypoint: ['/run'],
            Cmd: null,
            Labels: { a: 'b' },
            StopSignal: 'SIGQUIT',
          },
        };
      },
    }),
    pull: async (ref: string) => {
      pulls.push(ref);
      const stream = await (options.pull ?? (async () => Readable.from([])))();
      present.add(ref);
      return stream;
    },
  } as unknown as Docker & { pulls: string[] };
}

const lines = (...objs: unknown[]): NodeJS.ReadableStream =>
  Readable.from([Buffer.from(objs.map((o) => JSON.stringify(o)).join('\n'))]);

describe('ensureImage', () => {
  it('follows pull policies', async () => {
    const docker = fakeDocker({ present: ['have:1'] });
    expect(
      await ensureImage(docker, 'have:1', { pullPolicy: 'IfNotPresent' }, silentLogger()),
    ).toEqual({
      ref: 'have:1',
      id: 'sha256:have:1',
      pulled: false,
      user: '1001',
      stopSignal: 'SIGQUIT',
      entrypoint: ['/run'],
      cmd: undefined,
      labels: { a: 'b' },
      repoDigests: [],
    });
    expect(docker.pulls).toEqual([]);
    expect(
      (await ensureImage(docker, 'have:1', { pullPolicy: 'Always' }, silentLogger())).pulled,
    ).toBe(true);
    expect(
      (await ensureImage(docker, 'new:1', { pullPolicy: 'IfNotPresent' }, silentLogger())).pulled,
    ).toBe(true);
    expect(docker.pulls).toEqual(['have:1', 'new:1']);
    await expect(
      ensureImage(docker, 'missing:1', { pullPolicy: 'Never' }, silentLogger()),
    ).rejects.toSatisfy((err) => isRuntimeError(err, 'ImageNotFound'));
  });

  it('reports progress and fails on an error message inside the stream', async () => {
    const progress: PullProgress[] = [];
    const docker = fakeDocker({
      pull: async () =>
        lines(
          { status: 'Pulling from shop/web', id: '1.0' },
          { status: 'Downloading', id: 'abc', progressDetail: { current: 10, total: 100 } },
          {
            error: 'unauthorized: authentication required',
            errorDetail: { message: 'unauthorized: authentication required' },
          },
        ),
    });
    const err = await ensureImage(
      docker,
      'shop/web:1.0',
      { pullPolicy: 'Always', onProgress: (p) => progress.push(p) },
      silentLogger(),
    ).catch((e: unknown) => e);
    expect(isRuntimeError(err, 'ImagePullFailed')).toBe(true);
    expect((err as Error).message).toBe(
      'pull image shop/web:1.0: unauthorized: authentication required',
    );
    expect(progress).toEqual([
      { status: 'Pulling from shop/web', id: '1.0' },
      { status: 'Downloading', id: 'abc', current: 10, total: 100 },
    ]);
  });

  it('maps an HTTP failure of the pull to ImagePullFailed with the engine message', async () => {
    const docker = fakeDocker({
      pull: async () => {
        throw Object.assign(new Error('(HTTP code 500) server error - x'), {
          statusCode: 500,
          json: {
            message:
              'Get "https://127.0.0.1:9/v2/": dial tcp 127.0.0.1:9: connect: connection refused',
          },
        });
      },
    });
    await expect(
      ensureImage(docker, '127.0.0.1:9/x:1', { pullPolicy: 'IfNotPresent' }, silentLogger()),
    ).rejects.toThrow(
      'pull image 127.0.0.1:9/x:1: Get "https://127.0.0.1:9/v2/": dial tcp 127.0.0.1:9: connect: connection refused',
    );
  });

  it('uses the local image after a failed Always pull only with fallbackToLocal', async () => {
    const failing = (): Docker & { pulls: string[] } =>
      fakeDocker({ present: ['app:latest'], pull: async () => lines({ error: 'no route' }) });
    await expect(
      ensureImage(failing(), 'app:latest', { pullPolicy: 'Always' }, silentLogger()),
    ).rejects.toThrow('no route');
    const info = await ensureImage(
      failing(),
      'app:latest',
      { pullPolicy: 'Always', fallbackToLocal: true },
      silentLogger(),
    );
    expect(info.pulled).toBe(false);
  });
});

describe('pause image', () => {
  it('builds from a context holding BusyBox, /pause and a FROM-scratch Dockerfile', () => {
    const ctx = pauseImageContext(Buffer.from('BUSYBOX'), { 'slipway.test': '1' }).toString(
      'latin1',
    );
    expect(ctx).toContain('FROM scratch');
    expect(ctx).toContain('ENTRYPOINT ["/pause"]');
    expect(ctx).toContain('LABEL "io.slipway.image"="pause"');
    expect(ctx).toContain('LABEL "slipway.test"="1"');
    expect(ctx).toContain("trap 'exit 0' TERM INT HUP");
    expect(ctx).toContain('rootfs/bin/busybox');
  });

  it('recognizes static ELF binaries', () => {
    const elf = (interp: boolean): Buffer => {
      const b = Buffer.alloc(64 + 56 * 2);
      b.writeUInt32BE(0x7f454c46, 0);
      b[4] = 2; // 64-bit
      b[5] = 1; // little endian
      b.writeBigUInt64LE(64n, 32); // e_phoff
      b.writeUInt16LE(56, 54); // e_phentsize
      b.writeUInt16LE(2, 56); // e_phnum
      b.writeUInt32LE(1, 64); // PT_LOAD
      b.writeUInt32LE(interp ? 3 : 1, 64 + 56);
      return b;
    };
    expect(isStaticElf(elf(false))).toBe(true);
    expect(isStaticElf(elf(true))).toBe(false);
    expect(isStaticElf(Buffer.from('#!/bin/sh\n'))).toBe(false);
  });
});
