// The cluster registry against the real engine: a Docker Distribution registry in a container
// the engine supervises, that accepts pushes and serves pulls through dockerd, keeps its data in
// DATA_DIR/registry, is adopted by the next start, is replaced (data kept) when stopped, cannot
// be reached from the pods' bridge, and refuses a port someone else holds.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pullImage, pushImage, tagImage } from '../../agent/docker/images.js';
import { PLATFORM_LABEL, PlatformEngine } from '../../agent/docker/platform-engine.js';
import { platformPaths } from '../../agent/platform/paths.js';
import {
  DATA_DIR_LABEL,
  ensureRegistry,
  PLATFORM_NETWORK,
  registryContainerName,
  type RegistryOptions,
  type RunningRegistry,
} from '../../agent/platform/registry.js';
import { silentLogger } from '../../src/util/logger.js';
import { cleanupRun } from '../agent/support.js';
import {
  assertDockerAvailable,
  dockerClient,
  ensureImage,
  newTestRun,
  PAUSE_IMAGE,
} from '../support/docker.js';
import { runOnce } from './support.js';

const docker = dockerClient();
const engine = new PlatformEngine(docker);
const run = newTestRun();
let home: string;
let dataDir: string;
let registry: RunningRegistry;
/** Local tags this file gives images, removed at the end. */
const tags: string[] = [];

function options(extra: Partial<RegistryOptions> = {}): RegistryOptions {
  return {
    dataDir,
    host: '127.0.0.1',
    // Any free port: the machine's default 5000 may be in use by a running Slipway.
    port: 0,
    paths: platformPaths(),
    logger: silentLogger(),
    labels: run.labels,
    ...extra,
  };
}

async function pushPause(repo: string): Promise<{ ref: string; digest: string }> {
  const ref = `${registry.address}/${repo}:1`;
  await tagImage(docker, PAUSE_IMAGE, ref);
  tags.push(ref);
  const { digest } = await pushImage(docker, ref);
  return { ref, digest };
}

beforeAll(async () => {
  await assertDockerAvailable(docker);
  await ensureImage('pause');
  home = await mkdtemp(join(tmpdir(), 'slipway-registry-'));
  dataDir = join(home, 'data');
  registry = await ensureRegistry(engine, options());
});

afterAll(async () => {
  await cleanupRun(docker, run.runId);
  for (const ref of tags)
    await docker
      .getImage(ref)
      .remove()
      .catch(() => undefined);
  await rm(home, { recursive: true, force: true });
});

describe('the cluster registry', () => {
  it('runs Distribution on a loopback port, supervised by the engine, apart from pods', async () => {
    expect(registry.adopted).toBe(false);
    expect(registry.address).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(registry.container).toBe(registryContainerName(dataDir));
    expect(registry.storage).toBe(join(dataDir, 'registry'));

    const res = await fetch(`http://${registry.address}/v2/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('docker-distribution-api-version')).toBe('registry/2.0');

    const info = await docker.getContainer(registry.container).inspect();
    expect(info.Config.Labels).toMatchObject({
      [PLATFORM_LABEL]: 'registry',
      [DATA_DIR_LABEL]: dataDir,
    });
    // Not a pod container: the agent's reconciler and garbage collection never touch it.
    expect(info.Config.Labels['io.slipway.managed-by']).toBeUndefined();
    expect(info.HostConfig.RestartPolicy?.Name).toBe('unless-stopped');
    expect(info.HostConfig.PortBindings).toEqual({
      '5000/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }],
    });
    expect(info.HostConfig.Binds).toEqual([`${join(dataDir, 'registry')}:/var/lib/registry`]);
    expect(info.HostConfig.CapDrop).toEqual(['ALL']);
    expect(info.HostConfig.ReadonlyRootfs).toBe(true);
    expect(Object.keys(info.NetworkSettings.Networks)).toEqual([PLATFORM_NETWORK]);
  });

  it('accepts a push and serves a pull through the engine, storing under the data directory', async () => {
    const repo = `slipway-test-${run.runId}/pause`;
    const { ref, digest } = await pushPause(repo);
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    const stored = await readdir(
      join(
        dataDir,
        'registry',
        'docker',
        'registry',
        'v2',
        'repositories',
        `slipway-test-${run.runId}`,
      ),
    );
    expect(stored).toEqual(['pause']);

    await docker.getImage(ref).remove();
    await pullImage(docker, ref, {});
    const pulled = await docker.getImage(ref).inspect();
    expect(pulled.RepoDigests).toContain(`${registry.address}/${repo}@${digest}`);
  });

  it('allows deleting a manifest (delete is enabled)', async () => {
    const repo = `slipway-test-${run.runId}/deleted`;
    const { digest } = await pushPause(repo);
    const url = `http://${registry.address}/v2/${repo}/manifests/${digest}`;
    const del = await fetch(url, { method: 'DELETE' });
    expect(del.status).toBe(202);
    const gone = await fetch(url, {
      headers: { Accept: 'application/vnd.docker.distribution.manifest.v2+json' },
    });
    expect(gone.status).toBe(404);
  });

  it('is adopted, unchanged, by the next start on the same data directory', async () => {
    const before = await docker.getContainer(registry.container).inspect();
    const again = await ensureRegistry(engine, options());
    expect(again).toEqual({ ...registry, adopted: true });
    const after = await docker.getContainer(registry.container).inspect();
    expect(after.Id).toBe(before.Id);
    expect(after.State.StartedAt).toBe(before.State.StartedAt);
  });

  it('is replaced when stopped, and the new one serves the images already pushed', async () => {
    const repo = `slipway-test-${run.runId}/kept`;
    const { digest } = await pushPause(repo);
    const old = await docker.getContainer(registry.container).inspect();
    await docker.getContainer(registry.container).stop({ t: 5 });

    registry = await ensureRegistry(engine, options());
    expect(registry.adopted).toBe(false);
    const fresh = await docker.getContainer(registry.container).inspect();
    expect(fresh.Id).not.toBe(old.Id);
    const manifest = await fetch(`http://${registry.address}/v2/${repo}/manifests/${digest}`, {
      method: 'HEAD',
      headers: { Accept: 'application/vnd.docker.distribution.manifest.v2+json' },
    });
    expect(manifest.status).toBe(200);
  });

  it("cannot be reached from a container on the pods' bridge", async () => {
    const info = await docker.getContainer(registry.container).inspect();
    const ip = info.NetworkSettings.Networks[PLATFORM_NETWORK]!.IPAddress;
    const [, port] = registry.address.split(':');
    const probe = await runOnce(
      docker,
      PAUSE_IMAGE,
      [
        '/bin/sh',
        '-c',
        // The registry's own address, and the published port through the bridge's gateway.
        `printf 'GET /v2/ HTTP/1.0\\r\\n\\r\\n' | nc -w 3 ${ip} 5000; echo "direct=$?"; ` +
          `gw=$(ip route | awk '/default/ {print $3}'); ` +
          `printf 'GET /v2/ HTTP/1.0\\r\\n\\r\\n' | nc -w 3 "$gw" ${port}; echo "gateway=$?"`,
      ],
      run.labels,
    );
    // nc ran both times and got nothing: dropped between the bridges (the connection times
    // out), refused on the gateway (the port is published on loopback only).
    expect(probe.output).not.toContain('HTTP/1.');
    expect(probe.output).toContain('direct=1\n');
    expect(probe.output).toContain('nc: timed out\n');
    expect(probe.output).toContain('gateway=1\n');
    expect(probe.output).toMatch(
      /nc: can't connect to remote host \(172\.\d+\.\d+\.1\): Connection refused\n/,
    );
  });

  it('refuses a port another program holds, and says what to do', async () => {
    const server: Server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    try {
      const other = join(home, 'other-data');
      await expect(ensureRegistry(engine, options({ dataDir: other, port }))).rejects.toThrow(
        `127.0.0.1:${port} is already in use by another program; choose another port with --registry 127.0.0.1:PORT (or --registry 127.0.0.1:0 for any free port)`,
      );
      expect(await engine.inspectContainer(registryContainerName(other))).toBeUndefined();
    } finally {
      server.close();
    }
  });

  it('refuses the port of the registry of another data directory, naming it', async () => {
    const port = Number(registry.address.split(':')[1]);
    const other = join(home, 'third-data');
    await expect(ensureRegistry(engine, options({ dataDir: other, port }))).rejects.toThrow(
      `127.0.0.1:${port} is taken by the registry of data directory ${dataDir} (container ${registry.container})`,
    );
  });
});
