/**
 * What every test that runs `slipway up` on the local engine needs: a fresh HOME, a node name and
 * a service range of the run's own, the run's labels on everything the agent creates, and a
 * teardown that stops the server and removes what the run left on this host (containers, the
 * node's service rules, the registry container, the HOME).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { removeServiceRules } from '../../../agent/network/service-proxy.js';
import { assertAgentBuilt } from '../../agent/cluster.js';
import { cleanupRun } from '../../agent/support.js';
import { slipway } from '../../cli/support/slipway.js';
import {
  assertDockerAvailable,
  ensureImage,
  newTestRun,
  removeUpRegistry,
  TEST_LABEL,
  TEST_RUN_LABEL,
} from '../../support/docker.js';
import { randomServiceRange } from '../../support/service-range.js';

export interface UpRun {
  runId: string;
  nodeName: string;
  home: string;
  env: Record<string, string>;
  /** Stops the server and removes what the run left; `beforeRegistry` runs once the run's
   * containers are gone and before the registry is (e.g. to remove images pulled from it). */
  close(options?: { beforeRegistry?: () => Promise<void> }): Promise<void>;
}

export async function startUpRun(docker: Docker, label: string): Promise<UpRun> {
  assertAgentBuilt();
  await assertDockerAvailable(docker);
  await ensureImage('pause');
  const { runId } = newTestRun();
  const nodeName = `${label}-${runId}`;
  const home = await mkdtemp(join(tmpdir(), `slipway-${label}-`));
  const env = {
    HOME: home,
    SLIPWAY_AGENT_NODE_NAME: nodeName,
    SLIPWAY_SERVICE_CIDR: randomServiceRange().cidr,
    SLIPWAY_AGENT_LABELS: `${TEST_LABEL}=1,${TEST_RUN_LABEL}=${runId}`,
    SLIPWAY_AGENT_HEARTBEAT_INTERVAL: '1s',
  };
  return {
    runId,
    nodeName,
    home,
    env,
    async close(options = {}) {
      await slipway(['down'], { env, timeoutMs: 30_000 }).catch(() => undefined);
      await cleanupRun(docker, runId);
      // Agents keep their service rules when they stop; this run's node is gone for good.
      await removeServiceRules(nodeName).catch(() => false);
      await options.beforeRegistry?.();
      await removeUpRegistry(docker, join(home, '.slipway', 'data'));
      await rm(home, { recursive: true, force: true });
    },
  };
}
