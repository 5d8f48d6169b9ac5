import { describe, expect, it } from 'vitest';
import type { ApiObject } from '../../src/api/meta.js';
import { CONTROLLER_MANAGER_USER } from '../auth/user.js';
import { admitBuildPodCreate, admitBuildPodUpdate, looksLikeBuildPod } from './build-pods.js';

const plain: ApiObject = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web' } };
const labelled: ApiObject = {
  ...plain,
  metadata: { name: 'x-1-build', labels: { 'openshift.io/build.name': 'x-1' } },
};
const owned: ApiObject = {
  ...plain,
  metadata: {
    name: 'sneaky',
    ownerReferences: [
      {
        apiVersion: 'build.openshift.io/v1',
        kind: 'Build',
        name: 'x-1',
        uid: 'u',
        controller: true,
      },
    ],
  },
};

describe('build pod admission', () => {
  it('recognises build pods by label or controlling Build', () => {
    expect(looksLikeBuildPod(plain)).toBe(false);
    expect(looksLikeBuildPod(labelled)).toBe(true);
    expect(looksLikeBuildPod(owned)).toBe(true);
  });

  it('lets only the build controller create them', () => {
    expect(() => admitBuildPodCreate(labelled, { user: 'admin' })).toThrow(
      /only the build controller runs build pods/,
    );
    expect(() => admitBuildPodCreate(owned, { user: 'alice' })).toThrow(/forbidden/);
    expect(() => admitBuildPodCreate(labelled, { user: CONTROLLER_MANAGER_USER })).not.toThrow();
    expect(() => admitBuildPodCreate(plain, { user: 'alice' })).not.toThrow();
  });

  it('refuses turning a pod into a build pod by update', () => {
    expect(() => admitBuildPodUpdate(plain, labelled, { user: 'admin' })).toThrow(/forbidden/);
    expect(() => admitBuildPodUpdate(labelled, labelled, { user: 'admin' })).not.toThrow();
    expect(() =>
      admitBuildPodUpdate(plain, owned, { user: CONTROLLER_MANAGER_USER }),
    ).not.toThrow();
  });
});
