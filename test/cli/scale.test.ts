// `slipway scale` and `slipway delete --cascade`: the built CLI as a subprocess against a real
// master with its controllers (the replication controller and the garbage collector).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  podKind,
  type AnyKindDefinition,
  replicationControllerKind,
  type ApiObject,
  type Pod,
} from '../../src/api/index.js';
import type { ReplicationController } from '../../src/api/kinds/replication-controller.js';
import { ApiClient } from '../../src/client/index.js';
import { holdsFor, waitFor } from '../controllers/support.js';
import { startCliTestMaster, type CliTestMaster } from './support/master.js';
import { cliSession } from './support/session.js';
import { assertBuilt } from './support/slipway.js';

let master: CliTestMaster;
let admin: ApiClient;
const NS = 'scaling';

const cli = cliSession({ name: 'scale-test', oneLineErrors: true });
const { ok, fails } = cli;

const manifests = `apiVersion: v1
kind: ReplicationController
metadata:
  name: web
spec:
  replicas: 2
  selector:
    app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
        - name: web
          image: busybox:1
---
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: api
spec:
  replicas: 1
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
          image: busybox:1
`;

async function podsOf(owner: string): Promise<Pod[]> {
  const list = await admin.list<Pod>(podKind, { namespace: NS });
  return list.items.filter((p) =>
    p.metadata.ownerReferences?.some((r) => r.controller && r.name === owner),
  );
}

const replicasOf = async (def: AnyKindDefinition, name: string): Promise<number | undefined> =>
  ((await admin.get<ApiObject>(def, name, { namespace: NS })).spec as { replicas?: number })
    .replicas;

beforeAll(async () => {
  assertBuilt();
  master = await startCliTestMaster({ controllers: true });
  admin = new ApiClient({ server: master.url, token: master.adminToken });
  await cli.open();
  await cli.login(master.url, master.adminToken, NS);
  await ok(['apply', '-f', '-'], manifests);
});

afterAll(async () => {
  await master?.close();
  await cli.close();
});

describe('slipway scale', () => {
  it('scales a ReplicationController and a ReplicaSet and the controllers follow', async () => {
    expect(await ok(['scale', 'rc/web', '--replicas=3'])).toBe(
      'replicationcontroller/web scaled\n',
    );
    expect(await replicasOf(replicationControllerKind, 'web')).toBe(3);
    await waitFor(
      '3 pods of web',
      () => podsOf('web'),
      (pods) => pods.length === 3,
    );

    expect(await ok(['scale', 'replicasets', 'api', '--replicas', '2'])).toBe(
      'replicaset.apps/api scaled\n',
    );
    await waitFor(
      '2 pods of api',
      () => podsOf('api'),
      (pods) => pods.length === 2,
    );

    expect(await ok(['scale', 'rc/web', '--replicas=1', '--current-replicas=3'])).toBe(
      'replicationcontroller/web scaled\n',
    );
    await waitFor(
      '1 pod of web',
      () => podsOf('web'),
      (pods) => pods.length === 1,
    );
    const table = await ok(['get', 'rc', 'web', '-o', 'wide']);
    expect(table.split('\n')[0]).toMatch(
      /^NAME\s+DESIRED\s+CURRENT\s+READY\s+AGE\s+CONTAINERS\s+IMAGES\s+SELECTOR$/,
    );
    expect(table.split('\n')[1]).toMatch(/^web\s+1\s+\d\s+0\s+\S+\s+web\s+busybox:1\s+app=web$/);
    expect((await ok(['get', 'rs'])).split('\n')[1]).toMatch(/^api\s+2\s+\d\s+0\s+\S+$/);
    const rc = await admin.get<ReplicationController>(replicationControllerKind, 'web', {
      namespace: NS,
    });
    expect(rc.spec.replicas).toBe(1);
  });

  it('refuses a stale --current-replicas or --resource-version and what cannot be scaled', async () => {
    await ok(['scale', 'rc/web', '--replicas=1']);
    expect(await fails(['scale', 'rc/web', '--replicas=4', '--current-replicas=2'])).toBe(
      'error: Expected replicas to be 2, was 1',
    );
    const stale = await fails(['scale', 'rc/web', '--replicas=4', '--resource-version=1']);
    expect(stale).toMatch(/^Error from server \(Conflict\): /);
    expect(await replicasOf(replicationControllerKind, 'web')).toBe(1);

    expect(await fails(['scale', 'rc/web'])).toBe(
      'error: The --replicas=COUNT flag is required, and COUNT must be greater than or equal to 0',
    );
    expect(await fails(['scale', 'pod/x', '--replicas=1'])).toBe(
      'error: cannot scale pods: the kind has no replicas to set',
    );
    expect(await fails(['scale', 'rc/missing', '--replicas=1'])).toBe(
      'Error from server (NotFound): replicationcontrollers "missing" not found',
    );
  });
});

describe('slipway delete --cascade', () => {
  it('deletes the pods with their controller by default, and leaves them with --cascade=orphan', async () => {
    const pods = await waitFor(
      '2 pods of api',
      () => podsOf('api'),
      (p) => p.length === 2,
    );
    expect(await ok(['delete', 'rs', 'api', '--cascade=orphan'])).toBe(
      'replicaset.apps "api" deleted\n',
    );
    const left = await admin.list<Pod>(podKind, { namespace: NS, labelSelector: 'app=api' });
    expect(left.items.map((p) => p.metadata.name).sort()).toEqual(
      pods.map((p) => p.metadata.name).sort(),
    );
    for (const p of left.items) expect(p.metadata.ownerReferences).toBeUndefined();
    // Neither re-adopted nor collected.
    await holdsFor(
      'the orphans to stay',
      async () =>
        (await admin.list<Pod>(podKind, { namespace: NS, labelSelector: 'app=api' })).items
          .length === 2,
      1000,
    );

    await ok(['delete', 'rc', 'web']);
    await waitFor(
      'the pods of web gone',
      () => admin.list<Pod>(podKind, { namespace: NS, labelSelector: 'app=web' }),
      (list) => list.items.every((p) => p.metadata.deletionTimestamp !== undefined),
    );
    // Orphans stay orphans.
    const still = await admin.list<Pod>(podKind, { namespace: NS, labelSelector: 'app=api' });
    expect(still.items).toHaveLength(2);
  });
});
