// A real master in the test process, on 127.0.0.1 with a memory store and a fresh data dir.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../../master/config.js';
import { startMaster } from '../../../master/main.js';
import { silentLogger } from '../../../src/util/logger.js';

export interface CliTestMaster {
  url: string;
  adminToken: string;
  close(): Promise<void>;
}

export async function startCliTestMaster(): Promise<CliTestMaster> {
  const dataDir = await mkdtemp(join(tmpdir(), 'slipway-cli-master-'));
  const config = loadConfig(
    {},
    {
      dataDir,
      listen: '127.0.0.1:0',
      storeUrl: 'memory://',
      compactionIntervalSeconds: 0,
      logLevel: 'silent',
      // A bare API: no scheduler events among the ones these tests expect.
      controllers: false,
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
