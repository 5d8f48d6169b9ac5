import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ArchiveTooLargeError,
  entryProblem,
  extractSafely,
  UnsafeArchiveError,
} from './safe-extract.js';
import { hostileArchives, makeArchive } from './testing/tar-archives.js';

let base: string;
let n = 0;
let sentinel: string;
let victim: string;

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'slipway-extract-'));
  await mkdir(join(base, 'outside'));
  sentinel = join(base, 'outside', 'sentinel');
  victim = join(base, 'outside', 'victim');
  await writeFile(victim, 'original');
});

afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

async function target(): Promise<string> {
  n += 1;
  const dir = join(base, 'work', `x${n}`);
  await mkdir(dir, { recursive: true });
  return dir;
}

describe('extractSafely', () => {
  it('unpacks an ordinary archive with directories, files and inner links', async () => {
    const dir = await target();
    const archive = await makeArchive([
      { name: 'app', type: 'directory' },
      { name: 'app/index.html', data: 'hello' },
      { name: './app/run.sh', data: '#!/bin/sh\n', mode: 0o4755 },
      { name: 'app/current', type: 'symlink', linkname: 'index.html' },
      { name: 'app/copy.html', type: 'link', linkname: 'app/index.html' },
    ]);
    const out = await extractSafely(Readable.from([archive]), dir, {
      gzip: true,
      maxBytes: 1 << 20,
    });
    expect(out.entries).toBe(5);
    expect(await readFile(join(dir, 'app/index.html'), 'utf8')).toBe('hello');
    expect(await readFile(join(dir, 'app/copy.html'), 'utf8')).toBe('hello');
    expect(await readlink(join(dir, 'app/current'))).toBe('index.html');
    const { mode } = await import('node:fs/promises').then((fs) =>
      fs.stat(join(dir, 'app/run.sh')),
    );
    expect(mode & 0o7777).toBe(0o755); // no setuid
  });

  it("takes an async iterable of chunks (the API client's stream)", async () => {
    const dir = await target();
    const archive = await makeArchive([{ name: 'a.txt', data: 'a' }]);
    async function* chunks(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < archive.length; i += 7) yield archive.subarray(i, i + 7);
    }
    await extractSafely(chunks(), dir, { gzip: true, maxBytes: 1 << 20 });
    expect(await readFile(join(dir, 'a.txt'), 'utf8')).toBe('a');
  });

  it('stops at the size limit (a decompression bomb included)', async () => {
    const dir = await target();
    const archive = await makeArchive([{ name: 'zeros', data: '\0'.repeat(4 << 20) }]);
    expect(archive.length).toBeLessThan(64 * 1024);
    await expect(
      extractSafely(Readable.from([archive]), dir, { gzip: true, maxBytes: 1 << 20 }),
    ).rejects.toBeInstanceOf(ArchiveTooLargeError);
  });

  it('refuses devices and FIFOs', () => {
    expect(entryProblem({ name: 'dev', type: 'character-device' } as never)).toMatch(/not allowed/);
    expect(entryProblem({ name: 'p', type: 'fifo' } as never)).toMatch(/not allowed/);
  });

  describe('B1: hostile archives never write outside the directory', () => {
    const names = Object.keys(hostileArchives('/x', '/o/s', '/o/v'));
    for (const name of names) {
      it(`refuses ${name}`, async () => {
        const dir = await target();
        const entries = hostileArchives(dir, sentinel, victim)[name]!;
        const archive = await makeArchive(entries);
        await expect(
          extractSafely(Readable.from([archive]), dir, { gzip: true, maxBytes: 1 << 20 }),
        ).rejects.toSatisfy(
          (err: unknown) =>
            err instanceof UnsafeArchiveError || /not a valid/.test((err as Error).message),
        );
        expect(existsSync(sentinel)).toBe(false);
        expect(await readFile(victim, 'utf8')).toBe('original');
        expect(existsSync(join(base, 'work', 'x'))).toBe(false);
      });
    }
  });
});
