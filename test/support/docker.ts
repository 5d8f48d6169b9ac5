// The one place tests talk to Docker directly. Production code reaches Docker only through
// agent/docker/; tests use this to prepare images and to clean up after themselves.
import { registryContainerName } from '../../agent/platform/registry.js';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import Docker from 'dockerode';

const execFileAsync = promisify(execFile);

/** Every container a test creates carries this label, so leftovers can always be found. */
export const TEST_LABEL = 'slipway.test';
/** Plus one naming the test run, so a run removes exactly what it created. */
export const TEST_RUN_LABEL = 'slipway.test.run';

export const PAUSE_IMAGE = 'slipway/pause:1';
export const DEBIAN_IMAGE = 'slipway/debian:bookworm';

const scriptsDir = fileURLToPath(new URL('../../scripts/', import.meta.url));

/** A client for the default engine (DOCKER_HOST or /var/run/docker.sock). */
export function dockerClient(): Docker {
  return new Docker();
}

/** Resolves when the engine answers; otherwise rejects with what to do about it. */
export async function assertDockerAvailable(docker: Docker, timeoutMs = 10_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([docker.ping(), timeout]);
  } catch (err) {
    throw new Error(
      'Docker engine is not reachable; the integration tests need one. ' +
        'Run `bash scripts/setup-docker.sh` (or start Docker / set DOCKER_HOST).',
      { cause: err },
    );
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Makes sure a local image built by scripts/ exists (building it offline if needed) and returns
 * its reference.
 */
export async function ensureImage(kind: 'pause' | 'debian', ref?: string): Promise<string> {
  const script = kind === 'pause' ? 'pause-image.sh' : 'base-image.sh';
  const args = [`${scriptsDir}${script}`, ...(ref ? [ref] : [])];
  try {
    const { stdout } = await execFileAsync('bash', args, { timeout: 600_000 });
    const image = stdout.trim().split('\n').pop();
    if (!image) throw new Error(`${script} printed no image reference`);
    return image;
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? '';
    throw new Error(`scripts/${script} failed: ${stderr.trim()}`, { cause: err });
  }
}

/** Labels for one test run: `slipway.test=1` and a run id unique to this process. */
export function newTestRun(): { runId: string; labels: Record<string, string> } {
  const runId = `${process.pid}-${randomBytes(4).toString('hex')}`;
  return { runId, labels: { [TEST_LABEL]: '1', [TEST_RUN_LABEL]: runId } };
}

/** Force-removes every container carrying `key=value`; returns how many were removed. */
export async function removeContainersByLabel(
  docker: Docker,
  key: string,
  value: string,
): Promise<number> {
  const containers = await docker.listContainers({
    all: true,
    filters: { label: [`${key}=${value}`] },
  });
  await Promise.all(
    containers.map(async (c) => {
      try {
        await docker.getContainer(c.Id).remove({ force: true, v: true });
      } catch (err) {
        // Already gone (another cleanup raced us) is fine; anything else is not.
        if ((err as { statusCode?: number }).statusCode !== 404) throw err;
      }
    }),
  );
  return containers.length;
}

/**
 * Removes the registry a `slipway up` test started for its data directory (`down` leaves it
 * running, as it leaves pods). Absent is fine.
 */
export async function removeUpRegistry(docker: Docker, dataDir: string): Promise<void> {
  await docker
    .getContainer(registryContainerName(dataDir))
    .remove({ force: true, v: true })
    .catch((err: { statusCode?: number }) => {
      if (err.statusCode !== 404) throw err;
    });
}
