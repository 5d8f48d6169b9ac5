import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/util/logger.js';
import { RuntimeError } from '../docker/errors.js';
import { PLATFORM_LABEL } from '../docker/platform-engine.js';
import { platformPaths } from './paths.js';
import {
  AUTH_LABEL,
  DATA_DIR_LABEL,
  ensureRegistry,
  REALM_LABEL,
  registryRealm,
  PLATFORM_NETWORK,
  registryAddress,
  registryContainerName,
  REGISTRY_ENV,
  type RegistryOptions,
} from './registry.js';
import { FakePlatformDocker } from './testing/fake-platform-docker.js';

let home: string;
let dataDir: string;
let docker: FakePlatformDocker;

function options(extra: Partial<RegistryOptions> = {}): RegistryOptions {
  return {
    dataDir,
    host: '127.0.0.1',
    port: 5000,
    paths: platformPaths(),
    logger: silentLogger(),
    user: '1000:1000',
    portFree: async () => true,
    healthy: async () => true,
    startTimeoutMs: 0,
    adoptTimeoutMs: 0,
    ...extra,
  };
}

beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'slipway-registry-unit-'));
  dataDir = join(home, 'data');
  docker = new FakePlatformDocker();
  docker.addImage('slipway/debian:bookworm');
});

afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

describe('ensureRegistry', () => {
  it('runs a hardened registry container for the data directory', async () => {
    docker.addImage('registry:2');
    const reg = await ensureRegistry(docker, options());
    const name = registryContainerName(dataDir);
    expect(reg).toEqual({
      address: '127.0.0.1:5000',
      container: name,
      image: 'registry:2',
      adopted: false,
      storage: join(dataDir, 'registry'),
    });
    expect((await stat(join(dataDir, 'registry'))).mode & 0o777).toBe(0o700);
    expect(docker.networks).toEqual(new Set([PLATFORM_NETWORK]));
    expect(docker.containers.get(name)?.spec).toEqual({
      name,
      image: 'registry:2',
      labels: { [PLATFORM_LABEL]: 'registry', [DATA_DIR_LABEL]: dataDir, [AUTH_LABEL]: 'none' },
      env: REGISTRY_ENV,
      user: '1000:1000',
      publish: { containerPort: 5000, hostIp: '127.0.0.1', hostPort: 5000 },
      binds: [{ source: join(dataDir, 'registry'), target: '/var/lib/registry' }],
      network: PLATFORM_NETWORK,
      restartPolicy: 'unless-stopped',
      readOnlyRootfs: true,
      tmpfs: { '/tmp': 'rw,nosuid,nodev,size=64m' },
      pidsLimit: 512,
      log: { maxSize: '10m', maxFiles: 3 },
    });
    expect(REGISTRY_ENV).toMatchObject({
      REGISTRY_STORAGE_DELETE_ENABLED: 'true',
      REGISTRY_HEALTH_STORAGEDRIVER_ENABLED: 'true',
      REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: '/var/lib/registry',
    });
  });

  it('takes only tokens the master signs, and replaces a registry whose token settings changed', async () => {
    docker.addImage('registry:2');
    const auth = {
      realm: 'http://127.0.0.1:8443/openshift/token',
      service: 'slipway-registry',
      issuer: 'slipway',
      certFile: join(dataDir, 'registry-auth', 'token-signing.crt'),
      certPem: 'CERT A',
    };
    const name = registryContainerName(dataDir);
    await ensureRegistry(docker, options({ auth }));
    const spec = docker.containers.get(name)!.spec!;
    expect(spec.env).toEqual({
      ...REGISTRY_ENV,
      REGISTRY_AUTH_TOKEN_REALM: auth.realm,
      REGISTRY_AUTH_TOKEN_SERVICE: 'slipway-registry',
      REGISTRY_AUTH_TOKEN_ISSUER: 'slipway',
      REGISTRY_AUTH_TOKEN_ROOTCERTBUNDLE: '/etc/slipway/registry-token.crt',
    });
    expect(spec.binds).toContainEqual({
      source: auth.certFile,
      target: '/etc/slipway/registry-token.crt',
      readOnly: true,
    });
    expect(spec.labels[AUTH_LABEL]).toMatch(/^[0-9a-f]{16}$/);
    expect(await registryRealm(docker, dataDir)).toBe(auth.realm);

    // The same settings: adopted. Another certificate: replaced (the data stays).
    expect((await ensureRegistry(docker, options({ auth }))).adopted).toBe(true);
    const replaced = await ensureRegistry(
      docker,
      options({ auth: { ...auth, certPem: 'CERT B' } }),
    );
    expect(replaced.adopted).toBe(false);
    expect(docker.containers.get(name)!.spec!.labels[REALM_LABEL]).toBe(auth.realm);
    expect((await ensureRegistry(docker, options())).adopted).toBe(false);
    expect(await registryRealm(docker, dataDir)).toBeUndefined();
  });

  it('names one container per data directory', () => {
    expect(registryContainerName('/a')).toMatch(/^slipway-registry-[0-9a-f]{12}$/);
    expect(registryContainerName('/a')).not.toBe(registryContainerName('/b'));
    expect(registryAddress('::1', 5000)).toBe('[::1]:5000');
  });

  it('builds slipway/registry from images/registry when registry:2 cannot be pulled', async () => {
    const reg = await ensureRegistry(docker, options());
    expect(reg.image).toBe('slipway/registry:2.8.2');
    expect(docker.calls).toContain('pullImage registry:2');
    expect(docker.builds.map((b) => b.tag)).toEqual(['slipway/registry:2.8.2']);
  });

  it('uses registry:2 when the pull works, and builds nothing', async () => {
    docker.failPull = undefined;
    const reg = await ensureRegistry(docker, options());
    expect(reg.image).toBe('registry:2');
    expect(docker.builds).toEqual([]);
  });

  it('reuses an up-to-date local build without trying to pull', async () => {
    await ensureRegistry(docker, options());
    docker.containers.clear();
    docker.calls = [];
    await ensureRegistry(docker, options());
    expect(docker.calls).not.toContain('pullImage registry:2');
    expect(docker.builds).toHaveLength(1);
  });

  it('adopts a running, healthy registry of the data directory on the asked port', async () => {
    const name = registryContainerName(dataDir);
    docker.addContainer({
      name,
      labels: { [PLATFORM_LABEL]: 'registry', [DATA_DIR_LABEL]: dataDir },
      published: { hostIp: '127.0.0.1', hostPort: 5000 },
    });
    const reg = await ensureRegistry(docker, options());
    expect(reg).toMatchObject({ address: '127.0.0.1:5000', container: name, adopted: true });
    expect(docker.calls.filter((c) => c.startsWith('runContainer'))).toEqual([]);
  });

  it('with port 0 adopts the running registry whatever its port', async () => {
    docker.addContainer({
      name: registryContainerName(dataDir),
      labels: { [PLATFORM_LABEL]: 'registry', [DATA_DIR_LABEL]: dataDir },
      published: { hostIp: '127.0.0.1', hostPort: 41234 },
    });
    const reg = await ensureRegistry(docker, options({ port: 0 }));
    expect(reg).toMatchObject({ address: '127.0.0.1:41234', adopted: true });
  });

  it.each([
    ['stopped', { running: false, status: 'exited' }, true],
    ['on another port', { published: { hostIp: '127.0.0.1', hostPort: 5001 } }, true],
    ['not answering', {}, false],
  ] as const)(
    'replaces a registry container that is %s, keeping its data',
    async (_, state, oldAnswers) => {
      const name = registryContainerName(dataDir);
      docker.addImage('registry:2');
      docker.addContainer({
        name,
        labels: { [PLATFORM_LABEL]: 'registry', [DATA_DIR_LABEL]: dataDir },
        published: { hostIp: '127.0.0.1', hostPort: 5000 },
        ...state,
      });
      let probes = 0;
      // A silent old container never answers; the new one does.
      const healthy = async (): Promise<boolean> => oldAnswers || ++probes > 1;
      const reg = await ensureRegistry(docker, options({ healthy }));
      expect(reg.adopted).toBe(false);
      expect(docker.calls).toContain(`removeContainer id-${name}`);
      expect(docker.containers.get(name)?.spec?.binds).toEqual([
        { source: join(dataDir, 'registry'), target: '/var/lib/registry' },
      ]);
    },
  );

  it('refuses a port another program holds, saying what to do', async () => {
    docker.addImage('registry:2');
    await expect(ensureRegistry(docker, options({ portFree: async () => false }))).rejects.toThrow(
      '127.0.0.1:5000 is already in use by another program; choose another port with --registry 127.0.0.1:PORT (or --registry 127.0.0.1:0 for any free port)',
    );
    expect(docker.containers.size).toBe(0);
  });

  it('refuses the port of the registry of another data directory that still exists', async () => {
    const other = join(home, 'other');
    await ensureRegistry(docker, options({ dataDir: other }));
    await expect(ensureRegistry(docker, options())).rejects.toThrow(
      `127.0.0.1:5000 is taken by the registry of data directory ${other} (container ${registryContainerName(other)})`,
    );
  });

  it('removes registries whose data directory is gone, and takes their port', async () => {
    const gone = join(home, 'deleted');
    docker.addImage('registry:2');
    docker.addContainer({
      name: registryContainerName(gone),
      labels: { [PLATFORM_LABEL]: 'registry', [DATA_DIR_LABEL]: gone },
      published: { hostIp: '127.0.0.1', hostPort: 5000 },
    });
    const reg = await ensureRegistry(docker, options());
    expect(reg.address).toBe('127.0.0.1:5000');
    expect(docker.containers.has(registryContainerName(gone))).toBe(false);
  });

  it('refuses a container that has the name but another data directory', async () => {
    docker.addContainer({
      name: registryContainerName(dataDir),
      labels: { [PLATFORM_LABEL]: 'registry', [DATA_DIR_LABEL]: '/elsewhere' },
    });
    await expect(ensureRegistry(docker, options())).rejects.toThrow(
      /does not belong to data directory .*; remove it \(docker rm -f slipway-registry-/,
    );
  });

  it("turns the engine's port conflict into the same advice", async () => {
    docker.addImage('registry:2');
    docker.failRun = new RuntimeError(
      'EngineError',
      'start container x: driver failed programming external connectivity: Bind for 127.0.0.1:5000 failed: port is already allocated',
    );
    await expect(ensureRegistry(docker, options())).rejects.toThrow(
      '127.0.0.1:5000 is already in use; choose another port with --registry 127.0.0.1:PORT',
    );
  });

  it('removes a registry that never answers and quotes its last lines', async () => {
    docker.addImage('registry:2');
    await expect(ensureRegistry(docker, options({ healthy: async () => false }))).rejects.toThrow(
      /does not answer on http:\/\/127\.0\.0\.1:5000\/v2\/; its last lines:\nlevel=fatal msg="open \/var\/lib\/registry: permission denied"/,
    );
    expect(docker.containers.size).toBe(0);
  });
});
