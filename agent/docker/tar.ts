/**
 * A minimal POSIX tar (ustar + pax) writer for the archives the runtime sends to the engine:
 * volume contents for `putArchive` and the pause image's build context. Pure, in memory (these
 * archives are small: ConfigMaps/Secrets are at most 1 MiB). Large UIDs such as OpenShift's
 * 1000680000 do not fit ustar's octal fields and go into pax records, which Docker reads.
 */

export interface TarEntry {
  /** Relative path; directories may end with '/'. */
  path: string;
  type: 'file' | 'dir' | 'symlink';
  data?: Buffer;
  /** Permission bits (default 0644 files, 0755 dirs, 0777 symlinks). */
  mode?: number;
  uid?: number;
  gid?: number;
  /** Symlink target. */
  linkname?: string;
  /** Seconds since the epoch (default 0: archives are reproducible). */
  mtime?: number;
}

const BLOCK = 512;
const MAX_OCTAL_7 = 0o7777777;

function writeString(buf: Buffer, offset: number, length: number, value: string): void {
  buf.write(value, offset, Math.min(length, Buffer.byteLength(value)), 'utf8');
}

function writeOctal(buf: Buffer, offset: number, length: number, value: number): void {
  const text = Math.max(0, Math.floor(value))
    .toString(8)
    .padStart(length - 1, '0');
  buf.write(`${text.slice(-(length - 1))}\0`, offset, length, 'ascii');
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body) + 1;
  while (String(len).length + Buffer.byteLength(body) !== len)
    len = String(len).length + Buffer.byteLength(body);
  return `${len}${body}`;
}

/** Splits a long path into ustar prefix (<=155) and name (<=100) at a '/', if possible. */
function splitPath(path: string): { name: string; prefix: string } | undefined {
  if (Buffer.byteLength(path) <= 100) return { name: path, prefix: '' };
  for (let i = path.indexOf('/'); i !== -1; i = path.indexOf('/', i + 1)) {
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100 && name !== '')
      return { name, prefix };
  }
  return undefined;
}

function header(fields: {
  name: string;
  prefix: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  typeflag: string;
  linkname: string;
}): Buffer {
  const h = Buffer.alloc(BLOCK);
  writeString(h, 0, 100, fields.name);
  writeOctal(h, 100, 8, fields.mode);
  writeOctal(h, 108, 8, fields.uid);
  writeOctal(h, 116, 8, fields.gid);
  writeOctal(h, 124, 12, fields.size);
  writeOctal(h, 136, 12, fields.mtime);
  h.fill(' ', 148, 156);
  h.write(fields.typeflag, 156, 1, 'ascii');
  writeString(h, 157, 100, fields.linkname);
  h.write('ustar\0', 257, 6, 'ascii');
  h.write('00', 263, 2, 'ascii');
  writeString(h, 345, 155, fields.prefix);
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
  return h;
}

function pad(data: Buffer): Buffer[] {
  const rest = data.length % BLOCK;
  return rest === 0 ? [data] : [data, Buffer.alloc(BLOCK - rest)];
}

/** Serializes entries, in order, into a complete tar archive. */
export function createTar(entries: readonly TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    let path = e.path.replace(/^\.?\/+/, '');
    if (e.type === 'dir' && !path.endsWith('/')) path += '/';
    if (path === '/') path = './';
    const data = e.type === 'file' ? (e.data ?? Buffer.alloc(0)) : Buffer.alloc(0);
    const uid = e.uid ?? 0;
    const gid = e.gid ?? 0;
    const linkname = e.linkname ?? '';
    const pax: string[] = [];
    let split = splitPath(path);
    if (!split) {
      pax.push(paxRecord('path', path));
      split = { name: path.slice(-100), prefix: '' };
    }
    if (uid > MAX_OCTAL_7) pax.push(paxRecord('uid', String(uid)));
    if (gid > MAX_OCTAL_7) pax.push(paxRecord('gid', String(gid)));
    if (Buffer.byteLength(linkname) > 100) pax.push(paxRecord('linkpath', linkname));
    const mtime = e.mtime ?? 0;
    if (pax.length > 0) {
      const body = Buffer.from(pax.join(''), 'utf8');
      parts.push(
        header({
          name: 'PaxHeader',
          prefix: '',
          mode: 0o644,
          uid: 0,
          gid: 0,
          size: body.length,
          mtime,
          typeflag: 'x',
          linkname: '',
        }),
        ...pad(body),
      );
    }
    const typeflag = e.type === 'file' ? '0' : e.type === 'dir' ? '5' : '2';
    const mode = e.mode ?? (e.type === 'file' ? 0o644 : e.type === 'dir' ? 0o755 : 0o777);
    parts.push(
      header({
        ...split,
        mode,
        uid: Math.min(uid, MAX_OCTAL_7),
        gid: Math.min(gid, MAX_OCTAL_7),
        size: data.length,
        mtime,
        typeflag,
        linkname: linkname.slice(0, 100),
      }),
    );
    if (data.length > 0) parts.push(...pad(data));
  }
  parts.push(Buffer.alloc(BLOCK * 2));
  return Buffer.concat(parts);
}
