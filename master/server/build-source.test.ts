import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/util/logger.js';
import { BuildSources, tarHeader } from './build-source.js';

const UID = '0b7c2f4e-1111-4222-8333-944445555666';
const dirs: string[] = [];

afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function sources(maxBytes = 1024) {
  const dataDir = await mkdtemp(join(tmpdir(), 'slipway-sources-'));
  dirs.push(dataDir);
  return {
    dataDir,
    sources: new BuildSources({ dataDir, maxBytes, logger: silentLogger(), now: () => 0 }),
  };
}

function request(body: Buffer, headers: Record<string, string> = {}): IncomingMessage {
  const stream = Readable.from([body]) as unknown as IncomingMessage;
  (stream as { headers: Record<string, string> }).headers = headers;
  return stream;
}

async function read(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

describe('BuildSources', () => {
  it('keeps a gzip upload per build and serves it back', async () => {
    const { sources: s } = await sources();
    const body = gzipSync(Buffer.from('tar bytes'));
    const upload = await s.receive(request(body), undefined);
    expect(await s.open('ns', 'app-1', UID)).toBeUndefined();
    await upload.place('ns', 'app-1', UID);
    await upload.discard();
    const opened = (await s.open('ns', 'app-1', UID))!;
    expect(opened.size).toBe(body.length);
    expect((await read(opened.stream)).equals(body)).toBe(true);
  });

  it('refuses too much (413), nothing gzip (400) and nothing at all, leaving no files', async () => {
    const { dataDir, sources: s } = await sources(16);
    await expect(
      s.receive(request(gzipSync(Buffer.alloc(4096, 1))), undefined),
    ).rejects.toMatchObject({
      reason: 'RequestEntityTooLarge',
    });
    await expect(s.receive(request(Buffer.from('plain')), undefined)).rejects.toMatchObject({
      reason: 'BadRequest',
    });
    await expect(s.receive(request(Buffer.alloc(0)), undefined)).rejects.toMatchObject({
      reason: 'BadRequest',
    });
    await expect(
      s.receive(
        request(Buffer.from('x'), { 'content-length': String(64 * 1024 * 1024) }),
        undefined,
      ),
    ).rejects.toMatchObject({ reason: 'RequestEntityTooLarge' });
    expect(await readdir(join(dataDir, 'builds', '.incoming'))).toEqual([]);
  });

  it('wraps an asFile upload into a one-file tar', async () => {
    const { sources: s } = await sources();
    const upload = await s.receive(request(Buffer.from('hello')), 'a.txt');
    await upload.place('ns', 'app-1', UID);
    await upload.discard();
    const tar = gunzipSync(await read((await s.open('ns', 'app-1', UID))!.stream));
    expect(tar.length).toBe(512 * 4);
    expect(tar.subarray(512, 517).toString()).toBe('hello');
  });

  it('writes valid ustar checksums', () => {
    const header = tarHeader('index.html', 10, 0);
    const stored = Number.parseInt(header.subarray(148, 154).toString(), 8);
    const copy = Buffer.from(header);
    copy.write('        ', 148, 'ascii');
    let sum = 0;
    for (const b of copy) sum += b;
    expect(stored).toBe(sum);
  });

  it('sweeps archives of builds that are gone', async () => {
    const { dataDir, sources: s } = await sources();
    for (const name of ['keep-1', 'gone-1']) {
      const upload = await s.receive(request(gzipSync(Buffer.from(name))), undefined);
      await upload.place('ns', name, UID);
      await upload.discard();
    }
    const removed = await s.sweep((_ns, build) => Promise.resolve(build === 'keep-1'), true);
    expect(removed).toBe(1);
    expect(await readdir(join(dataDir, 'builds', 'ns'))).toEqual([`keep-1.${UID}.tar.gz`]);
    expect(
      (await readFile(join(dataDir, 'builds', 'ns', `keep-1.${UID}.tar.gz`))).length,
    ).toBeGreaterThan(0);
  });
});
