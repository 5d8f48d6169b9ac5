// A DeploymentConfig's rolling update of real pods on the local Docker engine: a master with
// its controllers and an in-process agent. The pods become ready by a readiness probe (a file
// their command makes after a while); the pods are sampled throughout the update.
import { describe, expect, it } from 'vitest';
import { podKind, replicationControllerKind, type Pod } from '../../src/api/index.js';
import { deploymentConfigKind } from '../../src/api/kinds/index.js';
import { deploymentPhaseOf, type DeploymentConfig } from '../../src/api/kinds/deployment-config.js';
import type { ReplicationController } from '../../src/api/kinds/replication-controller.js';
import { dockerClient } from '../support/docker.js';
import {
  eventually,
  isReady,
  podContainers,
  sh,
  useClusterWithAgent,
  type Cluster,
} from '../agent/cluster.js';

const docker = dockerClient();
let cluster: Cluster;

useClusterWithAgent(docker, (c) => (cluster = c), { master: { controllers: true } });

function dcBody(version: string): DeploymentConfig {
  return {
    apiVersion: 'apps.openshift.io/v1',
    kind: 'DeploymentConfig',
    metadata: { name: 'probed' },
    spec: {
      replicas: 4,
      selector: { app: 'probed' },
      strategy: {
        type: 'Rolling',
        rollingParams: { maxSurge: '25%', maxUnavailable: '25%', timeoutSeconds: 120 },
      },
      template: {
        metadata: { labels: { app: 'probed' } },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [
            sh('app', 'sleep 2; touch /tmp/up; exec sleep 3600', {
              env: [{ name: 'VERSION', value: version }],
              readinessProbe: {
                exec: { command: ['test', '-e', '/tmp/up'] },
                periodSeconds: 1,
              },
            }),
          ],
        },
      },
    },
  };
}

async function phaseOf(name: string): Promise<string | undefined> {
  try {
    const rc = await cluster.admin.get<ReplicationController>(replicationControllerKind, name, {
      namespace: cluster.namespace,
    });
    return deploymentPhaseOf(rc);
  } catch {
    return undefined;
  }
}

const complete = (name: string, timeoutMs: number) =>
  eventually(
    async () => ((await phaseOf(name)) === 'Complete' ? true : undefined),
    timeoutMs,
    `${name} to be Complete`,
  );

describe('DeploymentConfig on Docker', () => {
  it('rolls real pods over with at least 3 ready and at most 5 pods at every sample', async () => {
    const ns = cluster.namespace;
    await cluster.admin.create(deploymentConfigKind, dcBody('1'), { namespace: ns });
    await complete('probed-1', 60_000);

    let sampling = true;
    let minReady = Infinity;
    let maxTotal = 0;
    let samples = 0;
    const sampler = (async () => {
      while (sampling) {
        const pods = (
          await cluster.admin.list<Pod>(podKind, { namespace: ns, labelSelector: 'app=probed' })
        ).items.filter((p) => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed');
        maxTotal = Math.max(maxTotal, pods.length);
        minReady = Math.min(
          minReady,
          pods.filter((p) => !p.metadata.deletionTimestamp && isReady(p)).length,
        );
        samples += 1;
        await new Promise((r) => setTimeout(r, 50));
      }
    })();

    const dc = await cluster.admin.get<DeploymentConfig>(deploymentConfigKind, 'probed', {
      namespace: ns,
    });
    dc.spec.template = dcBody('2').spec.template;
    await cluster.admin.update(deploymentConfigKind, dc, { namespace: ns });
    await complete('probed-2', 90_000);
    // The old pods' containers stop too.
    const pods = await eventually(
      async () => {
        const list = (
          await cluster.admin.list<Pod>(podKind, { namespace: ns, labelSelector: 'app=probed' })
        ).items;
        return list.length === 4 && list.every((p) => isReady(p)) ? list : undefined;
      },
      30_000,
      'only the 4 new pods',
    );
    sampling = false;
    await sampler;

    expect(samples).toBeGreaterThan(20);
    expect(minReady).toBeGreaterThanOrEqual(3);
    expect(maxTotal).toBeLessThanOrEqual(5);
    for (const pod of pods) {
      expect(pod.metadata.labels?.deployment).toBe('probed-2');
      expect(pod.spec.containers[0]?.env).toEqual([{ name: 'VERSION', value: '2' }]);
      const containers = await podContainers(docker, pod.metadata.uid!);
      expect(containers.some((c) => c.State === 'running')).toBe(true);
    }
  }, 150_000);
});
