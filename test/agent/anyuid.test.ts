// A project granted anyuid: its pods that name no user run as their image's USER (root for the
// BusyBox image, which declares none), as OpenShift's anyuid SCC does; a restricted project's
// pods run as the numeric UID from the project's range.
import { describe, expect, it } from 'vitest';
import { projectKind, type Pod } from '../../src/api/index.js';
import { PROJECT_SCC_ANNOTATION } from '../../src/api/scc.js';
import { dockerClient } from '../support/docker.js';
import {
  containerStatus,
  createPod,
  podFor,
  sh,
  useClusterWithAgent,
  waitForPod,
  type Cluster,
} from './cluster.js';

const docker = dockerClient();
let cluster: Cluster;

useClusterWithAgent(docker, (c) => (cluster = c));

async function uidOf(pod: Pod): Promise<string> {
  const id = containerStatus(pod, 'c')!.containerID!.replace('docker://', '');
  const out = await cluster.runtime.execInContainer(id, ['id', '-u'], { timeoutMs: 5000 });
  return out.stdout.trim();
}

describe('the anyuid policy on a node', () => {
  it('runs a restricted pod as the project UID and an anyuid pod as the image user', async () => {
    const restricted = await createPod(
      cluster,
      podFor(cluster, 'restricted', { containers: [sh('c', 'exec sleep 3600')] }),
    );
    expect(restricted.metadata.annotations?.['openshift.io/scc']).toBe('restricted');
    const running = await waitForPod(cluster, 'restricted', (p) => p.status?.phase === 'Running');
    expect(Number(await uidOf(running))).toBeGreaterThanOrEqual(1_000_000_000);

    await cluster.admin.patch(projectKind, cluster.namespace, {
      metadata: { annotations: { [PROJECT_SCC_ANNOTATION]: 'anyuid' } },
    });
    const granted = await createPod(
      cluster,
      podFor(cluster, 'image-user', { containers: [sh('c', 'exec sleep 3600')] }),
    );
    expect(granted.metadata.annotations?.['openshift.io/scc']).toBe('anyuid');
    const asImage = await waitForPod(cluster, 'image-user', (p) => p.status?.phase === 'Running');
    expect(await uidOf(asImage)).toBe('0');
  });
});
