// A master for integration tests: on 127.0.0.1:0, with a memory store, no compaction and no log,
// over a data directory the test made (and removes).
import { loadConfig, type MasterOptions } from '../../master/config.js';
import { startMaster, type RunningMaster } from '../../master/main.js';
import { silentLogger, type Logger } from '../../src/util/logger.js';

/** Starts a master over `dataDir`; `config` adds to the test defaults or overrides them. */
export function startTestMaster(
  dataDir: string,
  config: MasterOptions = {},
  logger: Logger = silentLogger(),
): Promise<RunningMaster> {
  return startMaster(
    loadConfig(
      {},
      {
        dataDir,
        listen: '127.0.0.1:0',
        storeUrl: 'memory://',
        compactionIntervalSeconds: 0,
        logLevel: 'silent',
        ...config,
      },
    ),
    logger,
  );
}
