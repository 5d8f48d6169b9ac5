import { describe, expect, it } from 'vitest';
import { builtinKinds } from '../api/index.js';
import { parseTargets, qualifiedName, resolveKind, resourceName } from './resources.js';

const registry = builtinKinds();
const show = (args: string[]) =>
  parseTargets(registry, args).map((t) => `${t.def.kind}${t.name ? `/${t.name}` : ''}`);

describe('resolveKind', () => {
  it('knows plural, singular, short and kind names', () => {
    for (const name of ['pods', 'pod', 'po', 'Pod', 'PODS'])
      expect(resolveKind(registry, name).kind).toBe('Pod');
    expect(resolveKind(registry, 'cm').kind).toBe('ConfigMap');
    expect(resolveKind(registry, 'no').kind).toBe('Node');
    expect(resolveKind(registry, 'ev').kind).toBe('Event');
    expect(resolveKind(registry, 'projects.project.openshift.io').kind).toBe('Project');
    expect(() => resolveKind(registry, 'widgets')).toThrow(
      'the server doesn\'t have a resource type "widgets"',
    );
  });
});

describe('parseTargets', () => {
  it('reads TYPE, TYPE NAME..., TYPE,TYPE and TYPE/NAME forms', () => {
    expect(show(['pods'])).toEqual(['Pod']);
    expect(show(['po', 'a', 'b'])).toEqual(['Pod/a', 'Pod/b']);
    expect(show(['pods,cm'])).toEqual(['Pod', 'ConfigMap']);
    expect(show(['pod/a', 'cm/b'])).toEqual(['Pod/a', 'ConfigMap/b']);
    expect(show([])).toEqual([]);
  });

  it('reads all as the kinds oc lists for it, in its order, once each', () => {
    expect(show(['all'])).toEqual([
      'Pod',
      'ReplicationController',
      'Service',
      'Deployment',
      'ReplicaSet',
      'DeploymentConfig',
      'BuildConfig',
      'Build',
      'ImageStream',
      'Route',
    ]);
    expect(show(['cm,all,pods']).slice(0, 3)).toEqual([
      'ConfigMap',
      'Pod',
      'ReplicationController',
    ]);
    expect(show(['cm,all,pods'])).toHaveLength(11);
  });

  it('refuses mixing the forms', () => {
    expect(() => show(['pods', 'cm/b'])).toThrow(
      /no need to specify a resource type as a separate argument/,
    );
    expect(() => show(['pod/'])).toThrow(/must have a single resource and name/);
  });
});

describe('names', () => {
  it('qualifies grouped kinds like kubectl', () => {
    expect(resourceName(resolveKind(registry, 'pods'))).toBe('pod');
    expect(resourceName(resolveKind(registry, 'projects'))).toBe('project.project.openshift.io');
    expect(qualifiedName(resolveKind(registry, 'cm'), 'x')).toBe('configmap/x');
  });
});
