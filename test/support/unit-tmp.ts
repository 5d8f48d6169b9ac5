// Runs once around the unit project: every temporary directory the unit tests make (os.tmpdir()
// reads TMPDIR) goes under one directory of this run, removed when the run ends, so a run leaves
// nothing in the machine's /tmp whatever a test forgot to clean.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default async function setup(): Promise<() => Promise<void>> {
  const previous = process.env.TMPDIR;
  const dir = await mkdtemp(join(tmpdir(), 'slipway-unit-run-'));
  process.env.TMPDIR = dir;
  return async () => {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    await rm(dir, { recursive: true, force: true });
  };
}
