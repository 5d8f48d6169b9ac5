// Restricted-by-default pods and the anyuid grant, on a real master over HTTP and through the
// built CLI.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pod } from '../../src/api/kinds/pod.js';
import type { ApiObject } from '../../src/api/meta.js';
import {
  MCS_ANNOTATION,
  POD_SCC_ANNOTATION,
  PROJECT_SCC_ANNOTATION,
  SUPPLEMENTAL_GROUPS_ANNOTATION,
  UID_RANGE_ANNOTATION,
} from '../../src/api/scc.js';
import {
  createProject,
  expectStatus,
  podsPath,
  startTestMaster,
  type TestMaster,
} from '../api/helpers.js';
import { assertBuilt, slipway, type Result } from '../cli/support/slipway.js';

const PROJECTS = '/apis/project.openshift.io/v1/projects';

let t: TestMaster;
let home: string;

/** The CLI logged in as the admin, or with the node-join token. */
function cli(args: string[], who: 'admin' | 'join' = 'admin'): Promise<Result> {
  return slipway(args, { env: { HOME: home, SLIPWAY_CONFIG: join(home, `${who}-config`) } });
}

async function ok(args: string[], who: 'admin' | 'join' = 'admin'): Promise<string> {
  const r = await cli(args, who);
  expect(r.stderr, `slipway ${args.join(' ')}`).toBe('');
  expect(r.code, `slipway ${args.join(' ')}`).toBe(0);
  return r.stdout;
}

function pod(name: string, container: Record<string, unknown> = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: { containers: [{ name: 'app', image: 'busybox:1', ...container }] },
  };
}

async function project(name: string): Promise<ApiObject> {
  return (await t.admin.get(`${PROJECTS}/${name}`)).body;
}

function firstUid(p: ApiObject): number {
  return Number(p.metadata.annotations?.[UID_RANGE_ANNOTATION]?.split('/')[0]);
}

beforeAll(async () => {
  assertBuilt();
  t = await startTestMaster();
  home = await mkdtemp(join(tmpdir(), 'slipway-admission-'));
  await ok(['login', t.url, '--token', t.master.adminToken]);
  await ok(['login', t.url, '--token', t.master.joinToken], 'join');
});

afterAll(async () => {
  await t?.close();
  if (home) await rm(home, { recursive: true, force: true });
});

describe('project UID ranges', () => {
  it('gives every project its own block, bootstrap projects included', async () => {
    await createProject(t.admin, 'alpha');
    await createProject(t.admin, 'beta');
    const all = (await t.admin.list(PROJECTS)).body.items;
    const ranges = all.map((p) => p.metadata.annotations?.[UID_RANGE_ANNOTATION]);
    expect(all.map((p) => p.metadata.name).sort()).toEqual([
      'alpha',
      'beta',
      'default',
      'openshift',
      'openshift-config',
      'openshift-dns',
    ]);
    for (const r of ranges) expect(r).toMatch(/^1\d{9}\/10000$/);
    expect(new Set(ranges).size).toBe(ranges.length);
    const alpha = await project('alpha');
    expect(alpha.metadata.annotations?.[SUPPLEMENTAL_GROUPS_ANNOTATION]).toBe(
      alpha.metadata.annotations?.[UID_RANGE_ANNOTATION],
    );
    expect(alpha.metadata.annotations?.[MCS_ANNOTATION]).toMatch(/^s0:c\d+,c\d+$/);
  });

  it('refuses a project request that sets the grant', async () => {
    const res = await t.admin.post('/apis/project.openshift.io/v1/projectrequests', {
      apiVersion: 'project.openshift.io/v1',
      kind: 'ProjectRequest',
      metadata: { name: 'sneaky', annotations: { [PROJECT_SCC_ANNOTATION]: 'anyuid' } },
    });
    expect(expectStatus(res, 403, 'Forbidden').message).toContain(
      'a project request may not set security.slipway.io/scc',
    );
    expectStatus(await t.admin.get(`${PROJECTS}/sneaky`), 404, 'NotFound');
  });
});

describe('restricted by default', () => {
  beforeAll(async () => {
    await createProject(t.admin, 'restricted-demo');
  });

  it("runs a plain pod as its project's first UID and records the policy", async () => {
    const res = await t.admin.post<Pod>(podsPath('restricted-demo'), pod('plain'));
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const uid = firstUid(await project('restricted-demo'));
    expect(res.body.metadata.annotations?.[POD_SCC_ANNOTATION]).toBe('restricted');
    expect(res.body.spec.containers[0]!.securityContext?.runAsUser).toBe(uid);
    expect(res.body.spec.securityContext).toMatchObject({ runAsUser: uid, fsGroup: uid });
    const stored = (await t.admin.get<Pod>(podsPath('restricted-demo', 'plain'))).body;
    expect(stored.spec.containers[0]!.securityContext?.runAsUser).toBe(uid);
  });

  it('refuses a privileged pod naming the field and the policy, storing nothing', async () => {
    const res = await t.admin.post(
      podsPath('restricted-demo'),
      pod('priv', { securityContext: { privileged: true } }),
    );
    const status = expectStatus(res, 403, 'Forbidden');
    expect(status.message).toBe(
      'pods "priv" is forbidden: unable to validate against any security context constraint: ' +
        '[spec.containers[0].securityContext.privileged: Forbidden: privileged containers are not allowed by the restricted policy]',
    );
    expect(status.details?.causes?.[0]?.field).toBe(
      'spec.containers[0].securityContext.privileged',
    );
    expectStatus(await t.admin.get(podsPath('restricted-demo', 'priv')), 404, 'NotFound');
  });

  it('refuses root', async () => {
    const res = await t.admin.post(
      podsPath('restricted-demo'),
      pod('root', { securityContext: { runAsUser: 0 } }),
    );
    expect(expectStatus(res, 403, 'Forbidden').message).toContain(
      'spec.containers[0].securityContext.runAsUser: Forbidden: running as root (UID 0) is not allowed by the restricted policy',
    );
    expectStatus(await t.admin.get(podsPath('restricted-demo', 'root')), 404, 'NotFound');
  });

  it('refuses changing the security context of a running pod', async () => {
    const res = await t.admin.patch(podsPath('restricted-demo', 'plain'), {
      spec: { securityContext: { runAsUser: 0 } },
    });
    const status = expectStatus(res, 422, 'Invalid');
    expect(status.details?.causes?.[0]?.field).toBe('spec.securityContext.runAsUser');
    // Images may change.
    const image = await t.admin.patch<Pod>(podsPath('restricted-demo', 'plain'), {
      spec: { containers: [{ name: 'app', image: 'busybox:2' }] },
    });
    expect(image.status, JSON.stringify(image.body)).toBe(200);
    expect(image.body.spec.containers[0]!.securityContext?.runAsUser).toBeGreaterThan(0);
  });

  it('reports the refusal through the CLI', async () => {
    const manifest = `apiVersion: v1
kind: Pod
metadata:
  name: priv
spec:
  containers:
    - name: app
      image: busybox:1
      securityContext:
        privileged: true
`;
    const r = await slipway(['create', '-n', 'restricted-demo', '-f', '-'], {
      env: { HOME: home, SLIPWAY_CONFIG: join(home, 'admin-config') },
      stdin: manifest,
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'Error from server (Forbidden): error when creating "STDIN": pods "priv" is forbidden: ' +
        'unable to validate against any security context constraint: ' +
        '[spec.containers[0].securityContext.privileged: Forbidden: privileged containers are not allowed by the restricted policy]\n',
    );
  });
});

describe('adm policy add-scc-to-project anyuid', () => {
  beforeAll(async () => {
    await createProject(t.admin, 'legacy');
  });

  it('lets new pods run as root, but never privileged', async () => {
    const before = await t.admin.post<Pod>(podsPath('legacy'), pod('before'));
    expect(before.status).toBe(201);

    expect(await ok(['adm', 'policy', 'add-scc-to-project', 'anyuid', '-n', 'legacy'])).toBe(
      'scc "anyuid" added to project "legacy"\n',
    );
    expect((await project('legacy')).metadata.annotations?.[PROJECT_SCC_ANNOTATION]).toBe('anyuid');
    expect(await ok(['adm', 'policy', 'add-scc-to-project', 'anyuid', '-n', 'legacy'])).toBe(
      'scc "anyuid" already added to project "legacy"\n',
    );

    const root = await t.admin.post<Pod>(
      podsPath('legacy'),
      pod('root', { securityContext: { runAsUser: 0 } }),
    );
    expect(root.status, JSON.stringify(root.body)).toBe(201);
    expect(root.body.metadata.annotations?.[POD_SCC_ANNOTATION]).toBe('anyuid');
    expect(root.body.spec.containers[0]!.securityContext?.runAsUser).toBe(0);
    const imageUser = await t.admin.post<Pod>(podsPath('legacy'), pod('image-user'));
    expect(imageUser.body.spec.containers[0]!.securityContext?.runAsUser).toBeUndefined();

    const priv = await t.admin.post(
      podsPath('legacy'),
      pod('priv', { securityContext: { runAsUser: 0, privileged: true } }),
    );
    expect(expectStatus(priv, 403, 'Forbidden').message).toContain(
      'spec.containers[0].securityContext.privileged: Forbidden: privileged containers are not allowed by the anyuid policy',
    );
    const hostPath = await t.admin.post(podsPath('legacy'), {
      ...pod('host'),
      spec: { ...pod('host').spec, volumes: [{ name: 'docker', hostPath: { path: '/var/run' } }] },
    });
    expect(expectStatus(hostPath, 403, 'Forbidden').details?.causes?.[0]?.field).toBe(
      'spec.volumes[0].hostPath',
    );

    // The pod admitted before the grant is as it was.
    const still = (await t.admin.get<Pod>(podsPath('legacy', 'before'))).body;
    expect(still.metadata.annotations?.[POD_SCC_ANNOTATION]).toBe('restricted');
    expect(still.metadata.resourceVersion).toBe(before.body.metadata.resourceVersion);

    expect(await ok(['adm', 'policy', 'remove-scc-from-project', 'anyuid', '-n', 'legacy'])).toBe(
      'scc "anyuid" removed from project "legacy"\n',
    );
    const again = await t.admin.post(
      podsPath('legacy'),
      pod('root-again', { securityContext: { runAsUser: 0 } }),
    );
    expectStatus(again, 403, 'Forbidden');
  });

  it('explains what Slipway grants instead of users and unknown policies', async () => {
    const user = await cli(['adm', 'policy', 'add-scc-to-user', 'anyuid', '-z', 'default']);
    expect(user.code).toBe(1);
    expect(user.stderr).toBe(
      'error: Slipway grants security policies to projects, not to users or service accounts: use "slipway adm policy add-scc-to-project SCC -n PROJECT"\n',
    );
    const unknown = await cli([
      'adm',
      'policy',
      'add-scc-to-project',
      'privileged',
      '-n',
      'legacy',
    ]);
    expect(unknown.stderr).toBe(
      'error: Slipway has no security policy "privileged": it has restricted (every project\'s default) and anyuid\n',
    );
    // OpenShift's way to grant a whole project, accepted as such.
    expect(
      await ok(['adm', 'policy', 'add-scc-to-group', 'anyuid', 'system:serviceaccounts:legacy']),
    ).toBe('scc "anyuid" added to project "legacy"\n');
    await ok(['adm', 'policy', 'remove-scc-from-project', 'anyuid', '-n', 'legacy']);
  });

  it('cannot be granted with the node-join token', async () => {
    const r = await cli(['adm', 'policy', 'add-scc-to-project', 'anyuid', '-n', 'legacy'], 'join');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^Error from server \(Forbidden\): /);
    const res = await t.join.patch(`${PROJECTS}/legacy`, {
      metadata: { annotations: { [PROJECT_SCC_ANNOTATION]: 'anyuid' } },
    });
    expectStatus(res, 403, 'Forbidden');
    expect((await project('legacy')).metadata.annotations?.[PROJECT_SCC_ANNOTATION]).toBe(
      undefined,
    );
    const root = await t.admin.post(
      podsPath('legacy'),
      pod('root-join', { securityContext: { runAsUser: 0 } }),
    );
    expectStatus(root, 403, 'Forbidden');
  });
});
