import { describe, expect, it } from 'vitest';
import { createTar } from './tar.js';

interface Parsed {
  name: string;
  mode: number;
  uid: number;
  gid: number;
  type: string;
  linkname: string;
  data: string;
}

/** A small reader (ustar + pax path/uid/gid) to check what the writer produced. */
function parse(buf: Buffer): Parsed[] {
  const out: Parsed[] = [];
  let pax: Record<string, string> = {};
  for (let off = 0; off + 512 <= buf.length;) {
    const h = buf.subarray(off, off + 512);
    if (h.every((b) => b === 0)) break;
    const str = (o: number, l: number): string =>
      h.toString('utf8', o, o + l).replace(/\0.*$/s, '');
    const oct = (o: number, l: number): number => parseInt(str(o, l).trim() || '0', 8);
    const stored = oct(148, 8);
    const copy = Buffer.from(h);
    copy.fill(' ', 148, 156);
    expect(copy.reduce((s, b) => s + b, 0)).toBe(stored);
    expect(str(257, 6)).toBe('ustar');
    const size = oct(124, 12);
    const data = buf.subarray(off + 512, off + 512 + size);
    off += 512 + Math.ceil(size / 512) * 512;
    const type = str(156, 1);
    if (type === 'x') {
      pax = {};
      for (const rec of data.toString('utf8').split('\n').filter(Boolean)) {
        const [, kv = ''] = /^\d+ (.*)$/.exec(rec) ?? [];
        const eq = kv.indexOf('=');
        pax[kv.slice(0, eq)] = kv.slice(eq + 1);
      }
      continue;
    }
    const prefix = str(345, 155);
    out.push({
      name: pax.path ?? (prefix ? `${prefix}/${str(0, 100)}` : str(0, 100)),
      mode: oct(100, 8),
      uid: pax.uid ? Number(pax.uid) : oct(108, 8),
      gid: pax.gid ? Number(pax.gid) : oct(116, 8),
      type,
      linkname: pax.linkpath ?? str(157, 100),
      data: data.toString('utf8'),
    });
    pax = {};
  }
  return out;
}

describe('createTar', () => {
  it('writes files, directories and symlinks with owner and mode', () => {
    const tar = createTar([
      { path: 'vol/', type: 'dir', mode: 0o777, uid: 1001, gid: 0 },
      {
        path: 'vol/conf/app.conf',
        type: 'file',
        data: Buffer.from('x=1\n'),
        mode: 0o640,
        uid: 1001,
        gid: 3000,
      },
      { path: 'bin/sh', type: 'symlink', linkname: 'busybox' },
    ]);
    expect(tar.length % 512).toBe(0);
    expect(parse(tar)).toEqual([
      { name: 'vol/', mode: 0o777, uid: 1001, gid: 0, type: '5', linkname: '', data: '' },
      {
        name: 'vol/conf/app.conf',
        mode: 0o640,
        uid: 1001,
        gid: 3000,
        type: '0',
        linkname: '',
        data: 'x=1\n',
      },
      { name: 'bin/sh', mode: 0o777, uid: 0, gid: 0, type: '2', linkname: 'busybox', data: '' },
    ]);
  });

  it('puts large UIDs and long paths into pax records', () => {
    const long = `${'d'.repeat(120)}/${'f'.repeat(90)}`;
    const huge = 'p'.repeat(300);
    const parsed = parse(
      createTar([
        { path: 'f', type: 'file', data: Buffer.from('a'), uid: 1000680000, gid: 1000680000 },
        { path: long, type: 'file', data: Buffer.alloc(0) },
        { path: huge, type: 'file', data: Buffer.from('b'.repeat(600)) },
      ]),
    );
    expect(parsed.map((p) => [p.name, p.uid, p.gid, p.data.length])).toEqual([
      ['f', 1000680000, 1000680000, 1],
      [long, 0, 0, 0],
      [huge, 0, 0, 600],
    ]);
  });

  it('normalizes leading ./ and / and marks directories', () => {
    expect(
      parse(
        createTar([
          { path: './a', type: 'dir' },
          { path: '/b', type: 'file' },
        ]),
      ).map((p) => p.name),
    ).toEqual(['a/', 'b']);
  });
});
