import { describe, expect, it } from 'vitest';
import { builtinKinds, podKind, projectKind } from '../../src/api/kinds/index.js';
import {
  POD_SCC_ANNOTATION,
  PROJECT_SCC_ANNOTATION,
  UID_RANGE_ANNOTATION,
} from '../../src/api/scc.js';
import { silentLogger } from '../../src/util/logger.js';
import { CLUSTER_ADMINS_GROUP } from '../auth/user.js';
import { Projects } from '../server/projects.js';
import { ResourceStore } from '../server/resources.js';
import { MemoryStore } from '../store/memory.js';
import { installAdmission } from './index.js';

const admin = { user: 'admin', groups: [CLUSTER_ADMINS_GROUP] };
const someone = { user: 'developer', groups: ['system:authenticated'] };

function setup() {
  const resources = new ResourceStore({ store: new MemoryStore(), registry: builtinKinds() });
  const projects = new Projects(resources, silentLogger());
  installAdmission({ resources, projects, logger: silentLogger() });
  return { resources, projects };
}

const grant = (value: string | null) => ({
  metadata: { annotations: { [PROJECT_SCC_ANNOTATION]: value } },
});

describe('project security annotations', () => {
  it('only cluster administrators change the grant or the range', async () => {
    const { resources, projects } = setup();
    await projects.request({ metadata: { name: 'p' } }, someone);
    await expect(
      resources.patch(projectKind, undefined, 'p', 'merge', grant('anyuid'), undefined, someone),
    ).rejects.toMatchObject({
      reason: 'Forbidden',
      message: expect.stringContaining(
        'User "developer" cannot change the annotation security.slipway.io/scc',
      ) as string,
    });
    await expect(
      resources.patch(
        projectKind,
        undefined,
        'p',
        'merge',
        { metadata: { annotations: { [UID_RANGE_ANNOTATION]: '0/10000' } } },
        undefined,
        someone,
      ),
    ).rejects.toMatchObject({ reason: 'Forbidden' });
    // Other annotations are not guarded here.
    await resources.patch(
      projectKind,
      undefined,
      'p',
      'merge',
      { metadata: { annotations: { note: 'x' } } },
      undefined,
      someone,
    );
    const granted = await resources.patch(
      projectKind,
      undefined,
      'p',
      'merge',
      grant('anyuid'),
      undefined,
      admin,
    );
    expect(granted.metadata.annotations?.[PROJECT_SCC_ANNOTATION]).toBe('anyuid');
    // A PUT that leaves the grant out removes it: also an administrator's change.
    const { metadata, ...rest } = granted;
    const { [PROJECT_SCC_ANNOTATION]: _dropped, ...others } = metadata.annotations ?? {};
    await expect(
      resources.update(
        projectKind,
        undefined,
        'p',
        { ...rest, metadata: { ...metadata, annotations: others } },
        undefined,
        someone,
      ),
    ).rejects.toMatchObject({ reason: 'Forbidden' });
  });

  it('refuses policies Slipway does not have', async () => {
    const { resources, projects } = setup();
    await projects.request({ metadata: { name: 'p' } });
    await expect(
      resources.patch(projectKind, undefined, 'p', 'merge', grant('privileged'), undefined, admin),
    ).rejects.toMatchObject({
      reason: 'Invalid',
      message:
        'Project "p" is invalid: metadata.annotations[security.slipway.io/scc]: Unsupported value: "privileged": supported values: "restricted", "anyuid"',
    });
  });

  it('refuses the grant in a project request, and in a non-admin create', async () => {
    const { resources, projects } = setup();
    await expect(
      projects.request(
        { metadata: { name: 'p', annotations: { [PROJECT_SCC_ANNOTATION]: 'anyuid' } } },
        admin,
      ),
    ).rejects.toMatchObject({ reason: 'Forbidden' });
    const body = {
      apiVersion: 'project.openshift.io/v1',
      kind: 'Project',
      metadata: { name: 'q', annotations: { [PROJECT_SCC_ANNOTATION]: 'anyuid' } },
    };
    await expect(resources.create(projectKind, undefined, body, someone)).rejects.toMatchObject({
      reason: 'Forbidden',
    });
    const created = await resources.create(projectKind, undefined, body, admin);
    expect(created.metadata.annotations?.[PROJECT_SCC_ANNOTATION]).toBe('anyuid');
  });

  it('gives new pods the new policy and leaves existing ones alone', async () => {
    const { resources, projects } = setup();
    await projects.request({ metadata: { name: 'p' } });
    const pod = (name: string, runAsUser?: number) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name },
      spec: {
        containers: [
          {
            name: 'c',
            image: 'i',
            ...(runAsUser === undefined ? {} : { securityContext: { runAsUser } }),
          },
        ],
      },
    });
    const before = await resources.create(podKind, 'p', pod('before'));
    await expect(resources.create(podKind, 'p', pod('root', 0))).rejects.toMatchObject({
      reason: 'Forbidden',
    });
    await resources.patch(projectKind, undefined, 'p', 'merge', grant('anyuid'), undefined, admin);
    const root = await resources.create(podKind, 'p', pod('root', 0));
    expect(root.metadata.annotations?.[POD_SCC_ANNOTATION]).toBe('anyuid');
    const still = await resources.get(podKind, 'p', 'before');
    expect(still).toEqual(before);
    await resources.patch(projectKind, undefined, 'p', 'merge', grant(null), undefined, admin);
    await expect(resources.create(podKind, 'p', pod('root2', 0))).rejects.toMatchObject({
      reason: 'Forbidden',
    });
  });
});
