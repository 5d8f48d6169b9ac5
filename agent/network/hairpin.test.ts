import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/util/logger.js';
import { HairpinSetter, type HairpinFs } from './hairpin.js';

/** /sys and /proc as files in a map; writes recorded. */
function fakeFs(files: Record<string, string>): HairpinFs & { writes: string[] } {
  const writes: string[] = [];
  return {
    writes,
    readFile: (path) =>
      path in files ? Promise.resolve(files[path]!) : Promise.reject(new Error(`ENOENT ${path}`)),
    writeFile: (path, data) => {
      writes.push(`${path}=${data}`);
      return Promise.resolve();
    },
    readdir: (path) =>
      Promise.resolve(
        [
          ...new Set(
            Object.keys(files)
              .filter((f) => f.startsWith(`${path}/`))
              .map((f) => f.slice(path.length + 1).split('/')[0]!),
          ),
        ].sort(),
      ),
  };
}

describe('HairpinSetter', () => {
  it("turns hairpin mode on for endpoint sandboxes' veths, once each", async () => {
    const fs = fakeFs({
      '/sys/class/net/lo/ifindex': '1\n',
      '/sys/class/net/docker0/ifindex': '3\n',
      '/sys/class/net/veth1/ifindex': '41\n',
      '/sys/class/net/veth2/ifindex': '42\n',
      '/proc/100/root/sys/class/net/eth0/iflink': '41\n',
      '/proc/200/root/sys/class/net/eth0/iflink': '42\n',
    });
    let listed = 0;
    const setter = new HairpinSetter({
      sandboxes: () => {
        listed += 1;
        return Promise.resolve([
          { id: 'a', ip: '172.17.0.2' },
          { id: 'b', ip: '172.17.0.3' },
        ]);
      },
      pidOf: (id) => Promise.resolve(id === 'a' ? 100 : 200),
      fs,
      logger: silentLogger(),
    });
    await setter.ensure(new Set(['172.17.0.2', '10.0.0.1']));
    expect(fs.writes).toEqual(['/sys/class/net/veth1/brport/hairpin_mode=1']);
    await setter.ensure(new Set(['172.17.0.2', '172.17.0.3']));
    expect(fs.writes).toEqual([
      '/sys/class/net/veth1/brport/hairpin_mode=1',
      '/sys/class/net/veth2/brport/hairpin_mode=1',
    ]);
    await setter.ensure(new Set(['172.17.0.2', '172.17.0.3']));
    expect(fs.writes).toHaveLength(2);
    expect(listed).toBe(3);
  });

  it('skips sandboxes it cannot look into', async () => {
    const fs = fakeFs({ '/sys/class/net/veth1/ifindex': '41' });
    const setter = new HairpinSetter({
      sandboxes: () => Promise.resolve([{ id: 'a', ip: '172.17.0.2' }]),
      pidOf: () => Promise.resolve(100),
      fs,
      logger: silentLogger(),
    });
    await setter.ensure(new Set(['172.17.0.2']));
    expect(fs.writes).toEqual([]);
  });
});
