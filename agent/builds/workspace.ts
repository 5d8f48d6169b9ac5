/**
 * A build pod's directory under the agent's data directory, keyed by pod uid:
 *
 *   DATA/builds/<uid>/build.log     the build log (kept until the pod is deleted)
 *                     started       written when the build begins: a restarted agent that
 *                                   finds it without a result knows the build was cut short
 *                     result.json   the outcome, written once at the end
 *                     work/         source, scripts, artifacts, credentials (removed at the end)
 *
 * The agent keeps no other state for builds: the result is also in the pod's status.
 */
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BuildOutcome } from './types.js';

const UID = /^[A-Za-z0-9][A-Za-z0-9-]{0,127}$/;

export function isSafeUid(uid: string): boolean {
  return UID.test(uid);
}

export class BuildWorkspace {
  readonly root: string;
  readonly logPath: string;
  readonly work: string;
  readonly #startedPath: string;
  readonly #resultPath: string;

  constructor(buildsDir: string, uid: string) {
    if (!isSafeUid(uid)) throw new Error(`"${uid}" is not a pod uid`);
    this.root = join(buildsDir, uid);
    this.logPath = join(this.root, 'build.log');
    this.work = join(this.root, 'work');
    this.#startedPath = join(this.root, 'started');
    this.#resultPath = join(this.root, 'result.json');
  }

  /** Creates the directories (private to the agent). */
  async create(): Promise<void> {
    await mkdir(this.work, { recursive: true, mode: 0o700 });
  }

  async markStarted(at: string): Promise<void> {
    await mkdir(this.root, { recursive: true, mode: 0o700 });
    await writeFile(this.#startedPath, `${at}\n`, { mode: 0o600 });
  }

  async started(): Promise<boolean> {
    return exists(this.#startedPath);
  }

  /** Writes the outcome atomically (a crash leaves the old file or the new one). */
  async writeResult(outcome: BuildOutcome): Promise<void> {
    await mkdir(this.root, { recursive: true, mode: 0o700 });
    const tmp = `${this.#resultPath}.tmp`;
    await writeFile(tmp, JSON.stringify(outcome), { mode: 0o600 });
    await rename(tmp, this.#resultPath);
  }

  async readResult(): Promise<BuildOutcome | undefined> {
    try {
      return JSON.parse(await readFile(this.#resultPath, 'utf8')) as BuildOutcome;
    } catch {
      return undefined;
    }
  }

  async hasResult(): Promise<boolean> {
    return exists(this.#resultPath);
  }

  /** Removes the working files (source, scripts, credentials); the log and result stay. */
  async cleanWork(): Promise<void> {
    await rm(this.work, { recursive: true, force: true, maxRetries: 3 });
  }

  /** Removes everything of this build. */
  async remove(): Promise<void> {
    await rm(this.root, { recursive: true, force: true, maxRetries: 3 });
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** The pod uids that have a build directory. */
export async function listBuildDirs(buildsDir: string): Promise<string[]> {
  try {
    return (await readdir(buildsDir)).filter(isSafeUid);
  } catch {
    return [];
  }
}
