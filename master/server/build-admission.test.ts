import { describe, expect, it } from 'vitest';
import {
  buildConfigKind,
  buildKind,
  builtinKinds,
  imageStreamKind,
  type Build,
  type BuildConfig,
  type ImageStream,
} from '../../src/api/index.js';
import { CONTROLLER_MANAGER_USER } from '../auth/user.js';
import { MemoryStore } from '../store/memory.js';
import { registerBuildAdmission } from './build-admission.js';
import { ResourceStore } from './resources.js';

function setup() {
  const resources = new ResourceStore({ store: new MemoryStore(), registry: builtinKinds() });
  registerBuildAdmission(resources, { allowFileGitSources: false });
  return resources;
}

const spec = {
  source: { git: { uri: 'https://git.example.com/a.git' } },
  strategy: { type: 'Docker', dockerStrategy: {} },
};

describe('build admission', () => {
  it('starts BuildConfigs at lastVersion 0 and Builds New, whatever status they were sent with', async () => {
    const r = setup();
    const bc = (await r.create(buildConfigKind, 'ns', {
      apiVersion: 'build.openshift.io/v1',
      kind: 'BuildConfig',
      metadata: { name: 'a' },
      spec,
      status: { lastVersion: 7 },
    })) as BuildConfig;
    expect(bc.status).toEqual({ lastVersion: 0 });
    const build = (await r.create(buildKind, 'ns', {
      apiVersion: 'build.openshift.io/v1',
      kind: 'Build',
      metadata: { name: 'a-1' },
      spec,
      status: { phase: 'Complete' },
    })) as Build;
    expect(build.status).toEqual({ phase: 'New' });
  });

  it('lets users cancel a build but not write the rest of its status or its spec', async () => {
    const r = setup();
    await r.create(buildKind, 'ns', {
      apiVersion: 'build.openshift.io/v1',
      kind: 'Build',
      metadata: { name: 'a-1' },
      spec,
    });
    const user = { user: 'admin', groups: ['system:cluster-admins'] };
    const patched = (await r.patch(
      buildKind,
      'ns',
      'a-1',
      'merge',
      { status: { phase: 'Complete', cancelled: true } },
      undefined,
      user,
    )) as Build;
    expect(patched.status).toEqual({ phase: 'New', cancelled: true });
    await expect(
      r.patch(
        buildKind,
        'ns',
        'a-1',
        'merge',
        { spec: { nodeSelector: { a: 'b' } } },
        undefined,
        user,
      ),
    ).rejects.toMatchObject({ reason: 'Invalid' });
    const byController = (await r.patch(
      buildKind,
      'ns',
      'a-1',
      'merge',
      { status: { phase: 'Cancelled' } },
      undefined,
      { user: CONTROLLER_MANAGER_USER },
    )) as Build;
    expect(byController.status?.phase).toBe('Cancelled');
  });

  it('stamps image stream spec tags with the generation their from last changed in', async () => {
    const r = setup();
    const tag = (name: string, image: string) => ({
      name,
      from: { kind: 'DockerImage', name: image },
    });
    await r.create(imageStreamKind, 'ns', {
      apiVersion: 'image.openshift.io/v1',
      kind: 'ImageStream',
      metadata: { name: 's' },
      spec: { tags: [tag('a', 'x:1'), tag('b', 'y:1')] },
    });
    const updated = (await r.patch(imageStreamKind, 'ns', 's', 'merge', {
      spec: { tags: [tag('a', 'x:1'), tag('b', 'y:2'), tag('c', 'z:1')] },
    })) as ImageStream;
    expect(updated.metadata.generation).toBe(2);
    expect(updated.spec?.tags?.map((t) => [t.name, t.generation])).toEqual([
      ['a', 1],
      ['b', 2],
      ['c', 2],
    ]);
  });
});
