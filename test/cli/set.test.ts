// `slipway set env|image|triggers` on the kinds with pod templates: the built CLI as a
// subprocess against a real master (no controllers: only what the commands write is checked).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replicationControllerKind } from '../../src/api/index.js';
import { deploymentConfigKind, deploymentKind } from '../../src/api/kinds/index.js';
import type { Deployment } from '../../src/api/kinds/deployment.js';
import type { DeploymentConfig } from '../../src/api/kinds/deployment-config.js';
import type { ReplicationController } from '../../src/api/kinds/replication-controller.js';
import { ApiClient } from '../../src/client/index.js';
import { startCliTestMaster, type CliTestMaster } from './support/master.js';
import { cliSession } from './support/session.js';
import { assertBuilt } from './support/slipway.js';

let master: CliTestMaster;
let admin: ApiClient;
const NS = 'set-cli';

const cli = cliSession({ name: 'cli-set' });
const { ok, fails } = cli;

const manifests = `apiVersion: v1
kind: ReplicationController
metadata:
  name: worker
spec:
  replicas: 0
  selector:
    app: worker
  template:
    metadata:
      labels:
        app: worker
    spec:
      containers:
        - name: main
          image: example/worker:1
          env:
            - name: KEEP
              value: "1"
            - name: DROP
              value: "2"
            - name: TOKEN
              valueFrom:
                secretKeyRef:
                  name: creds
                  key: token
        - name: sidecar
          image: example/sidecar:1
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  replicas: 0
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
---
apiVersion: apps.openshift.io/v1
kind: DeploymentConfig
metadata:
  name: web
spec:
  replicas: 0
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
        - name: web
          image: example/web:1
  triggers:
    - type: ConfigChange
    - type: ImageChange
      imageChangeParams:
        automatic: false
        containerNames: [web]
        from:
          kind: ImageStreamTag
          name: web:latest
        lastTriggeredImage: example/web:1
---
apiVersion: v1
kind: Pod
metadata:
  name: lone
spec:
  containers:
    - name: app
      image: example/app:1
      env:
        - name: MODE
          value: test
`;

beforeAll(async () => {
  assertBuilt();
  master = await startCliTestMaster();
  admin = new ApiClient({ server: master.url, token: master.adminToken });
  await cli.open();
  await cli.login(master.url, master.adminToken, NS);
  await ok(['apply', '-f', '-'], manifests);
});

afterAll(async () => {
  await master?.close();
  await cli.close();
});

const worker = async () =>
  (await admin.get<ReplicationController>(replicationControllerKind, 'worker', { namespace: NS }))
    .spec.template!.spec.containers;

describe('set env', () => {
  it('lists, sets, replaces and removes, in every container or the ones -c names', async () => {
    expect(await ok(['set', 'env', 'rc/worker', '--list'])).toBe(
      [
        '# replicationcontrollers/worker, container main',
        'KEEP=1',
        'DROP=2',
        '# TOKEN from secret creds, key token',
        '# replicationcontrollers/worker, container sidecar',
        '',
      ].join('\n'),
    );
    expect(
      await ok(['set', 'env', 'rc/worker', 'KEEP=one', 'DROP-', '-e', 'NEW=x=y', '-c', 'main']),
    ).toBe('replicationcontroller/worker updated\n');
    const [main, sidecar] = await worker();
    expect(main!.env).toEqual([
      { name: 'KEEP', value: 'one' },
      { name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'creds', key: 'token' } } },
      { name: 'NEW', value: 'x=y' },
    ]);
    expect(sidecar!.env).toBeUndefined();
    expect(await ok(['set', 'env', 'rc', 'worker', 'ALL=1'])).toBe(
      'replicationcontroller/worker updated\n',
    );
    expect((await worker()).map((ct) => ct.env?.find((e) => e.name === 'ALL')?.value)).toEqual([
      '1',
      '1',
    ]);
    expect(await ok(['set', 'env', 'rc/worker', 'ALL=1'])).toBe(
      'replicationcontroller/worker not changed\n',
    );
  });

  it('works on Deployments and DeploymentConfigs; a pod can only be listed', async () => {
    expect(await ok(['set', 'env', 'deployment/api', 'LEVEL=debug'])).toBe(
      'deployment.apps/api updated\n',
    );
    const d = await admin.get<Deployment>(deploymentKind, 'api', { namespace: NS });
    expect(d.spec.template?.spec.containers[0]?.env).toEqual([{ name: 'LEVEL', value: 'debug' }]);
    expect(await ok(['set', 'env', 'dc/web', 'A=b'])).toBe(
      'deploymentconfig.apps.openshift.io/web updated\n',
    );
    expect(await ok(['set', 'env', 'pod/lone', '--list'])).toBe(
      '# pods/lone, container app\nMODE=test\n',
    );
    expect(await fails(['set', 'env', 'pod/lone', 'MODE=prod'])).toMatch(
      /^Error from server \(Invalid\): .*spec/,
    );
  });

  it('says what is wrong with the arguments', async () => {
    expect(await fails(['set', 'env', 'rc/worker'])).toBe(
      'error: give at least one NAME=VALUE or NAME- (or --list)\n',
    );
    expect(await fails(['set', 'env', 'rc/worker', 'A=1', '--list'])).toBe(
      'error: --list and environment changes cannot be combined\n',
    );
    expect(await fails(['set', 'env', 'rc/worker', 'A=1', '-c', 'nope'])).toBe(
      'error: replicationcontroller/worker has no container matching "nope"\n',
    );
    expect(await fails(['set', 'env', 'configmap/x', 'A=1'])).toMatch(/not found|NotFound/);
  });
});

describe('set image and set triggers', () => {
  it('changes images by container name and lists and switches image triggers', async () => {
    expect(await ok(['set', 'image', 'rc/worker', 'sidecar=example/sidecar:2'])).toBe(
      'replicationcontroller/worker image updated\n',
    );
    expect((await worker()).map((ct) => ct.image)).toEqual([
      'example/worker:1',
      'example/sidecar:2',
    ]);
    expect(await fails(['set', 'image', 'rc/worker', 'nope=x'])).toBe(
      'error: unable to find container named "nope"\n',
    );
    const listed = (await ok(['set', 'triggers', 'dc/web'])).trimEnd().split('\n');
    expect(listed[0]).toMatch(/^NAME\s+TYPE\s+VALUE\s+AUTO$/);
    expect(listed[1]).toMatch(/^deploymentconfigs\/web\s+config\s+true$/);
    expect(listed[2]).toMatch(/^deploymentconfigs\/web\s+image\s+web:latest \(web\)\s+false$/);
    expect(await ok(['set', 'triggers', 'dc/web', '--auto'])).toBe(
      'deploymentconfig.apps.openshift.io/web triggers updated\n',
    );
    const dc = await admin.get<DeploymentConfig>(deploymentConfigKind, 'web', { namespace: NS });
    expect(dc.spec.triggers?.[1]?.imageChangeParams?.automatic).toBe(true);
  });
});

describe('set probe', () => {
  it('adds, retimes, replaces and removes probes, with a command after --', async () => {
    expect(
      await ok([
        'set',
        'probe',
        'rc/worker',
        '--readiness',
        '--get-url=http://:8080/healthz',
        '--initial-delay-seconds=5',
        '-c',
        'main',
      ]),
    ).toBe('replicationcontroller/worker probes updated\n');
    let [main, sidecar] = await worker();
    expect(main!.readinessProbe).toEqual({
      httpGet: { scheme: 'HTTP', port: 8080, path: '/healthz' },
      initialDelaySeconds: 5,
    });
    expect(sidecar!.readinessProbe).toBeUndefined();

    await ok(['set', 'probe', 'rc/worker', '--readiness', '--period-seconds', '20', '-c', 'main']);
    await ok(['set', 'probe', 'rc/worker', '--liveness', '--', 'cat', '/tmp/healthy']);
    [main, sidecar] = await worker();
    expect(main!.readinessProbe).toEqual({
      httpGet: { scheme: 'HTTP', port: 8080, path: '/healthz' },
      initialDelaySeconds: 5,
      periodSeconds: 20,
    });
    expect(main!.livenessProbe).toEqual({ exec: { command: ['cat', '/tmp/healthy'] } });
    expect(sidecar!.livenessProbe).toEqual({ exec: { command: ['cat', '/tmp/healthy'] } });

    expect(
      await fails(['set', 'probe', 'rc/worker', '--startup', '--timeout-seconds=3']),
    ).toContain('container "main" has no startup probe to change');
    expect(await fails(['set', 'probe', 'rc/worker', '--open-tcp=8080'])).toContain(
      'one of --liveness, --readiness or --startup',
    );

    expect(await ok(['set', 'probe', 'rc/worker', '--liveness', '--readiness', '--remove'])).toBe(
      'replicationcontroller/worker probes updated\n',
    );
    [main, sidecar] = await worker();
    expect(main!.readinessProbe).toBeUndefined();
    expect(main!.livenessProbe).toBeUndefined();
    expect(sidecar!.livenessProbe).toBeUndefined();
  });
});
