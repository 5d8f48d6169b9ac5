// A real master in the test process, on 127.0.0.1 with a memory store and a fresh data dir.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../../master/config.js';
import { imageStreamKind } from '../../../src/api/index.js';
import type { ApiClient } from '../../../src/client/index.js';
import { startMaster } from '../../../master/main.js';
import { silentLogger } from '../../../src/util/logger.js';

export interface CliTestMaster {
  url: string;
  adminToken: string;
  close(): Promise<void>;
}

export interface CliTestMasterOptions {
  /** Run the controllers (builds, scheduler); off by default so tests see only their events. */
  controllers?: boolean;
  /** The cluster registry builds push to (nothing needs to listen there for API tests). */
  registry?: string;
  /** Registries image imports may read besides the cluster's (comma-separated). */
  allowedRegistriesForImport?: string;
  /** How often scheduled image imports run (default: the master's, 15 minutes). */
  scheduledImageImportIntervalSeconds?: number;
}

export async function startCliTestMaster(
  options: CliTestMasterOptions = {},
): Promise<CliTestMaster> {
  const dataDir = await mkdtemp(join(tmpdir(), 'slipway-cli-master-'));
  const config = loadConfig(
    {},
    {
      dataDir,
      listen: '127.0.0.1:0',
      storeUrl: 'memory://',
      compactionIntervalSeconds: 0,
      logLevel: 'silent',
      // By default a bare API: no scheduler events among the ones these tests expect.
      controllers: options.controllers ?? false,
      registry: options.registry,
      allowedRegistriesForImport: options.allowedRegistriesForImport,
      scheduledImageImportIntervalSeconds: options.scheduledImageImportIntervalSeconds,
    },
  );
  const master = await startMaster(config, silentLogger());
  return {
    url: master.url,
    adminToken: master.adminToken,
    close: async () => {
      await master.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** The shared builder stream `openshift/NAME`, its `latest` tag at `image`, as `slipway up` makes it. */
export async function createBuilderStream(
  admin: ApiClient,
  name: string,
  image: string,
): Promise<void> {
  await admin.create(imageStreamKind, {
    apiVersion: 'image.openshift.io/v1',
    kind: 'ImageStream',
    metadata: { name, namespace: 'openshift' },
    spec: { tags: [{ name: 'latest', from: { kind: 'DockerImage', name: image } }] },
  });
}
