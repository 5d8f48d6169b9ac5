// `slipway rollout ...`, `get dc`, `describe dc` and the Deployment side: the built CLI as a
// subprocess against a real master with its controllers, pods on a simulated node whose
// kubelet the test plays.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  deploymentConfigKind,
  deploymentKind,
  replicationControllerKind,
} from '../../src/api/index.js';
import type { Deployment } from '../../src/api/kinds/deployment.js';
import type { DeploymentConfig } from '../../src/api/kinds/deployment-config.js';
import type { ReplicationController } from '../../src/api/kinds/replication-controller.js';
import { FakeKubelet, NEVER_READY_IMAGE } from '../controllers/fake-kubelet.js';
import { startClusterWithNode, type NodeCluster } from '../controllers/support.js';
import { cliSession } from './support/session.js';
import { assertBuilt } from './support/slipway.js';

let c: NodeCluster;
let kubelet: FakeKubelet;
const NS = 'rollout-cli';

const cli = cliSession({ name: 'cli-rollout', timeoutMs: 45_000 });
const { run, ok, fails } = cli;

const dcYaml = `apiVersion: v1
kind: DeploymentConfig
metadata:
  name: web
spec:
  replicas: 2
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
        - name: web
          image: example/web:1
          env:
            - name: COLOR
              value: blue
`;

const deploymentYaml = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  replicas: 2
  selector:
    matchLabels:
      app: api
  template:
    metadata:
      labels:
        app: api
    spec:
      containers:
        - name: api
          image: example/api:1
`;

beforeAll(async () => {
  assertBuilt();
  c = await startClusterWithNode();
  kubelet = new FakeKubelet(c.join, 'n1', { readyMs: [50, 300], goneMs: [50, 200] });
  kubelet.start();
  await cli.open();
  await cli.login(c.master.url, c.master.adminToken, NS);
});

afterAll(async () => {
  kubelet?.stop();
  await c?.close();
  await cli.close();
});

const rc = (name: string): Promise<ReplicationController> =>
  c.admin.get<ReplicationController>(replicationControllerKind, name, { namespace: NS });

/** The last line `rollout status` printed. */
const lastLine = (out: string): string => out.trimEnd().split('\n').at(-1) ?? '';

describe('rollout of a DeploymentConfig', () => {
  it('status waits until the version is out, as oc prints it', async () => {
    await ok(['apply', '-f', '-'], dcYaml);
    const out = await ok(['rollout', 'status', 'dc/web']);
    expect(lastLine(out)).toBe('replication controller "web-1" successfully rolled out');
    for (const line of out.trimEnd().split('\n').slice(0, -1)) {
      expect(line).toMatch(/^Waiting for (rollout to finish: |latest deployment config spec)/);
    }
    const table = (await ok(['get', 'dc'])).trimEnd().split('\n');
    expect(table[0]).toMatch(/^NAME\s+REVISION\s+DESIRED\s+CURRENT\s+TRIGGERED BY$/);
    expect(table[1]).toMatch(/^web\s+1\s+2\s+2\s+config$/);
  }, 60_000);

  it('set env rolls out a new version; history lists both; --revision shows a template', async () => {
    expect(await ok(['set', 'env', 'dc/web', 'COLOR=green', 'SIZE=L'])).toBe(
      'deploymentconfig.apps.openshift.io/web updated\n',
    );
    expect(lastLine(await ok(['rollout', 'status', 'dc/web']))).toBe(
      'replication controller "web-2" successfully rolled out',
    );
    expect(await ok(['set', 'env', 'dc/web', '--list'])).toBe(
      '# deploymentconfigs/web, container web\nCOLOR=green\nSIZE=L\n',
    );
    const history = (await ok(['rollout', 'history', 'dc/web'])).trimEnd().split('\n');
    expect(history[0]).toBe('deploymentconfigs "web"');
    expect(history[1]).toMatch(/^REVISION\s+STATUS\s+CAUSE$/);
    expect(history.slice(2).map((l) => l.split(/\s+/).slice(0, 3).join(' '))).toEqual([
      '1 Complete config',
      '2 Complete config',
    ]);
    const one = await ok(['rollout', 'history', 'dc/web', '--revision', '1']);
    expect(one).toContain('deploymentconfigs "web" with revision #1');
    expect(one).toMatch(/COLOR:\s+blue/);
    expect(one).toMatch(/Image:\s+example\/web:1/);
  }, 60_000);

  it('undo restores the previous template as a new version', async () => {
    expect(await ok(['rollout', 'undo', 'dc/web'])).toBe(
      'deploymentconfig.apps.openshift.io/web rolled back\n',
    );
    expect(lastLine(await ok(['rollout', 'status', 'dc/web']))).toBe(
      'replication controller "web-3" successfully rolled out',
    );
    const env3 = (await rc('web-3')).spec.template?.spec.containers[0]?.env;
    expect(env3).toEqual([{ name: 'COLOR', value: 'blue' }]);
    const two = await ok(['rollout', 'undo', 'dc/web', '--to-revision', '2']);
    expect(two).toBe('deploymentconfig.apps.openshift.io/web rolled back\n');
    await ok(['rollout', 'status', 'dc/web']);
    expect((await rc('web-4')).spec.template?.spec.containers[0]?.env).toEqual([
      { name: 'COLOR', value: 'green' },
      { name: 'SIZE', value: 'L' },
    ]);
  }, 60_000);

  it('latest starts a version; pause refuses it; resume lets it', async () => {
    expect(await ok(['rollout', 'latest', 'dc/web'])).toBe(
      'deploymentconfig.apps.openshift.io/web rolled out\n',
    );
    expect(lastLine(await ok(['rollout', 'status', 'dc/web']))).toBe(
      'replication controller "web-5" successfully rolled out',
    );
    expect(await ok(['rollout', 'pause', 'dc/web'])).toBe(
      'deploymentconfig.apps.openshift.io/web paused\n',
    );
    expect(await fails(['rollout', 'latest', 'dc/web'])).toBe(
      'error: cannot deploy a paused deployment config\n',
    );
    expect(await fails(['rollout', 'pause', 'web'])).toContain('give the resource as TYPE/NAME');
    expect(await ok(['rollout', 'resume', 'dc/web'])).toBe(
      'deploymentconfig.apps.openshift.io/web resumed\n',
    );
  }, 60_000);

  it('restart rolls the current release out again on new pods', async () => {
    const before = await c.admin.get<DeploymentConfig>(deploymentConfigKind, 'web', {
      namespace: NS,
    });
    expect(await ok(['rollout', 'restart', 'dc/web'])).toBe(
      'deploymentconfig.apps.openshift.io/web restarted\n',
    );
    const version = (before.status?.latestVersion ?? 0) + 1;
    expect(lastLine(await ok(['rollout', 'status', 'dc/web']))).toBe(
      `replication controller "web-${version}" successfully rolled out`,
    );
    const after = await c.admin.get<DeploymentConfig>(deploymentConfigKind, 'web', {
      namespace: NS,
    });
    expect(after.status?.latestVersion).toBe(version);
    expect(after.spec.template?.spec.containers[0]?.env).toEqual(
      before.spec.template?.spec.containers[0]?.env,
    );
  }, 60_000);

  it('cancel stops a rollout that cannot finish; status reports it and exits 1', async () => {
    expect(await ok(['set', 'image', 'dc/web', `web=${NEVER_READY_IMAGE}`])).toBe(
      'deploymentconfig.apps.openshift.io/web image updated\n',
    );
    for (let i = 0; i < 100; i++) {
      const r = await run(['rollout', 'cancel', 'dc/web']);
      if (r.code === 0) {
        expect(r.stdout).toBe('deploymentconfig.apps.openshift.io/web cancelling\n');
        break;
      }
      expect(r.stderr).toContain('no rollout is in progress');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const stderr = await fails(['rollout', 'status', 'dc/web']);
    expect(stderr).toBe('error: rollout of replication controller "web-7" was cancelled\n');
    expect(await fails(['rollout', 'cancel', 'dc/web'])).toBe(
      'error: unable to cancel deploymentconfig.apps.openshift.io/web: no rollout is in progress (latest rollout #7 failed)\n',
    );
    const history = await ok(['rollout', 'history', 'dc/web']);
    expect(history).toMatch(/7\s+Failed\s+cancelled by the user/);
  }, 60_000);

  it('describe shows the strategy, triggers, versions and events', async () => {
    const out = await ok(['describe', 'dc/web']);
    expect(out).toMatch(/Latest Version:\s+7/);
    expect(out).toMatch(/Triggers:\s+Config/);
    expect(out).toMatch(/Strategy:\s+Rolling: max surge 25%, max unavailable 25%/);
    expect(out).toContain('Deployment #7 (latest):');
    expect(out).toMatch(/Status:\s+Failed \(cancelled by the user\)/);
    expect(out).toContain('Deployment #6:');
    expect(out).toMatch(/Pods Status:\s+0 Running/);
    expect(out).toMatch(
      /DeploymentCreated\s+.*Created new replication controller "web-7" for version 7/,
    );
    expect(out).toContain('RolloutCancelled');
  }, 60_000);
});

describe('rollout of a Deployment', () => {
  it('status, set image, history and undo, as kubectl prints them', async () => {
    await ok(['apply', '-f', '-'], deploymentYaml);
    // wait, as scripts use it: a condition, a field, every selected pod; a timeout fails.
    expect(await ok(['wait', '--for=condition=Available', 'deployment/api', '--timeout=30s'])).toBe(
      'deployment.apps/api condition met\n',
    );
    expect(await ok(['wait', '--for=jsonpath={.status.readyReplicas}=2', 'deploy/api'])).toBe(
      'deployment.apps/api condition met\n',
    );
    expect(
      (await ok(['wait', '--for=condition=Ready', 'pods', '-l', 'app=api'])).trimEnd().split('\n'),
    ).toEqual([
      expect.stringMatching(/^pod\/api-\S+ condition met$/),
      expect.stringMatching(/^pod\/api-\S+ condition met$/),
    ]);
    expect(await fails(['wait', '--for=condition=Frozen', 'deployment/api', '--timeout=1s'])).toBe(
      'error: timed out waiting for the condition on deployment.apps/api\n',
    );
    expect(lastLine(await ok(['rollout', 'status', 'deployment/api']))).toBe(
      'deployment "api" successfully rolled out',
    );
    const table = (await ok(['get', 'deploy'])).trimEnd().split('\n');
    expect(table[0]).toMatch(/^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE$/);
    expect(table[1]).toMatch(/^api\s+2\/2\s+2\s+2\s+\S+$/);
    expect(await ok(['set', 'image', 'deploy/api', 'api=example/api:2'])).toBe(
      'deployment.apps/api image updated\n',
    );
    expect(lastLine(await ok(['rollout', 'status', 'deploy/api']))).toBe(
      'deployment "api" successfully rolled out',
    );
    const history = (await ok(['rollout', 'history', 'deployment/api'])).trimEnd().split('\n');
    expect(history[0]).toBe('deployment.apps/api');
    expect(history.slice(1).map((l) => l.split(/\s+/).join(' '))).toEqual([
      'REVISION CHANGE-CAUSE',
      '1 <none>',
      '2 <none>',
    ]);
    expect(await ok(['rollout', 'undo', 'deployment/api'])).toBe(
      'deployment.apps/api rolled back\n',
    );
    expect(lastLine(await ok(['rollout', 'status', 'deployment/api']))).toBe(
      'deployment "api" successfully rolled out',
    );
    expect(await ok(['rollout', 'undo', 'deployment/api', '--to-revision', '3'])).toBe(
      'deployment.apps/api skipped rollback (current template already matches revision 3)\n',
    );
    // restart: the same release on new pods, as a new revision.
    expect(await ok(['rollout', 'restart', 'deployment/api'])).toBe(
      'deployment.apps/api restarted\n',
    );
    expect(lastLine(await ok(['rollout', 'status', 'deployment/api']))).toBe(
      'deployment "api" successfully rolled out',
    );
    const restarted = await c.admin.get<Deployment>(deploymentKind, 'api', { namespace: NS });
    expect(
      restarted.spec.template?.metadata?.annotations?.['kubectl.kubernetes.io/restartedAt'],
    ).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(restarted.spec.template?.spec.containers[0]?.image).toBe('example/api:1');
    expect(
      (await ok(['rollout', 'history', 'deployment/api'])).trimEnd().split('\n').at(-1),
    ).toMatch(/^4\s+<none>$/);
    const described = await ok(['describe', 'deployment/api']);
    expect(described).toMatch(/Replicas:\s+2 desired \| 2 updated \| 2 total \| 2 available/);
    expect(described).toMatch(/NewReplicaSet:\s+api-\S+ \(2\/2 replicas created\)/);
    expect(described).toContain('ScalingReplicaSet');
  }, 60_000);
});
