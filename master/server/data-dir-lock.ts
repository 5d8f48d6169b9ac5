import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { link, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const LOCK_FILE = 'master.lock';

export interface DataDirLock {
  readonly path: string;
  release(): Promise<void>;
}

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException).code;
}

/** Whether a process with this pid runs (EPERM: it exists but is not ours); a zombie, dead
 * but not yet reaped by its parent, does not count. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if (errno(err) !== 'EPERM') return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

async function readPid(path: string): Promise<number | undefined> {
  try {
    const pid = Number.parseInt((await readFile(path, 'utf8')).trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch (err) {
    if (errno(err) === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Takes DATA_DIR/master.lock, holding our pid, so that two masters never share a data
 * directory. The file appears complete and atomically (written aside, then hard-linked into
 * place). A lock whose process is gone is stale and taken over; a live one is refused with
 * `data directory D is in use by process PID`.
 */
export async function lockDataDir(dataDir: string): Promise<DataDirLock> {
  const path = join(dataDir, LOCK_FILE);
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`;
  await writeFile(tmp, `${process.pid}\n`, { mode: 0o644 });
  try {
    for (let attempt = 0; attempt < 5; attempt += 1) {
      try {
        await link(tmp, path);
        return {
          path,
          release: async () => {
            if ((await readPid(path)) === process.pid) await unlink(path).catch(() => undefined);
          },
        };
      } catch (err) {
        if (errno(err) !== 'EEXIST') throw err;
      }
      const holder = await readPid(path);
      if (holder !== undefined && isAlive(holder)) {
        throw new Error(`data directory ${dataDir} is in use by process ${holder}`);
      }
      // Stale: move it aside, and only drop it if it is still the stale one we looked at.
      const aside = `${path}.stale.${process.pid}`;
      try {
        await rename(path, aside);
      } catch (err) {
        if (errno(err) === 'ENOENT') continue;
        throw err;
      }
      const moved = await readPid(aside);
      if (moved !== holder && moved !== undefined && isAlive(moved)) {
        // Another master took the lock in between: put its lock back and refuse.
        await rename(aside, path).catch(() => undefined);
        throw new Error(`data directory ${dataDir} is in use by process ${moved}`);
      }
      await unlink(aside).catch(() => undefined);
    }
    throw new Error(`could not lock data directory ${dataDir}: the lock file keeps changing`);
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}
