// Image pull secrets on the real engine, through a real master and agent, from a real registry
// that asks for a password: a pod naming a kubernetes.io/dockerconfigjson Secret in
// imagePullSecrets pulls and runs; without it the pull is refused (ErrImagePull, the registry's
// words); a pull secret that does not exist is reported (FailedToRetrieveImagePullSecret).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { secretKind, type Secret } from '../../src/api/index.js';
import {
  assertDockerAvailable,
  dockerClient,
  ensureImage,
  PAUSE_IMAGE,
} from '../support/docker.js';
import {
  dockerConfigSecret,
  pushAs,
  startRegistry,
  type TestRegistry,
} from '../support/registry.js';
import {
  containerStatus,
  createPod,
  podEvents,
  podFor,
  startCluster,
  waitForPod,
  type Cluster,
} from './cluster.js';

const docker = dockerClient();
const CREDENTIALS = { username: 'puller', password: 'pull-me: a long secret' };
let cluster: Cluster;
let registry: TestRegistry;
let image: string;

beforeAll(async () => {
  await assertDockerAvailable(docker);
  await ensureImage('pause');
  registry = await startRegistry({ auth: CREDENTIALS });
  image = `${registry.address}/private/pause:1`;
  await pushAs(docker, PAUSE_IMAGE, image, registry, CREDENTIALS);
  cluster = await startCluster(docker);
  await cluster.startAgent();
  await cluster.admin.create<Secret>(
    secretKind,
    dockerConfigSecret('registry-login', registry, CREDENTIALS),
    { namespace: cluster.namespace },
  );
}, 120_000);

afterAll(async () => {
  await cluster?.close();
  await docker
    .getImage(image)
    .remove({ noprune: true })
    .catch(() => undefined);
  await registry?.close();
});

const app = (): { name: string; image: string; command: string[]; imagePullPolicy: 'Always' } => ({
  name: 'app',
  image,
  command: ['sh', '-c', 'sleep 3600'],
  imagePullPolicy: 'Always',
});

describe('imagePullSecrets', () => {
  it('pull with the named Secret, and the pod runs', async () => {
    await createPod(
      cluster,
      podFor(cluster, 'with-secret', {
        containers: [app()],
        imagePullSecrets: [{ name: 'registry-login' }],
      }),
    );
    const pod = await waitForPod(
      cluster,
      'with-secret',
      (p) => p.status?.phase === 'Running',
      30_000,
      'Running',
    );
    expect(containerStatus(pod, 'app')?.state.running).toBeDefined();
  });

  it('without one, the registry refuses the pull: ErrImagePull with its words', async () => {
    await createPod(cluster, podFor(cluster, 'without-secret', { containers: [app()] }));
    const pod = await waitForPod(
      cluster,
      'without-secret',
      (p) =>
        ['ErrImagePull', 'ImagePullBackOff'].includes(
          containerStatus(p, 'app')?.state.waiting?.reason ?? '',
        ),
      30_000,
      'a refused pull',
    );
    const events = await podEvents(cluster, pod);
    expect(events.map((e) => e.message).join('\n')).toMatch(
      /Failed to pull image .*(no basic auth credentials|unauthorized|authentication required)/,
    );
  });

  it('reports a pull secret that does not exist, and pulls without it', async () => {
    await createPod(
      cluster,
      podFor(cluster, 'missing-secret', {
        containers: [app()],
        imagePullSecrets: [{ name: 'nowhere' }],
      }),
    );
    const pod = await waitForPod(
      cluster,
      'missing-secret',
      (p) => containerStatus(p, 'app')?.state.waiting?.reason !== undefined,
      30_000,
      'a waiting container',
    );
    const events = await podEvents(cluster, pod);
    expect(events).toContainEqual(
      expect.objectContaining({
        reason: 'FailedToRetrieveImagePullSecret',
        type: 'Warning',
        message:
          'Unable to retrieve some image pull secrets (nowhere); attempting to pull the image may not succeed.',
      }),
    );
  });
});
