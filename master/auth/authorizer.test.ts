import { describe, expect, it } from 'vitest';
import { RuleAuthorizer, type RequestAttributes } from './authorizer.js';
import {
  ADMIN_USER,
  CLUSTER_ADMINS_GROUP,
  CONTROLLER_MANAGER_USER,
  NODE_BOOTSTRAP_USER,
  NODE_BOOTSTRAPPERS_GROUP,
} from './user.js';

const admin = { name: ADMIN_USER, groups: [CLUSTER_ADMINS_GROUP] };
const node = { name: NODE_BOOTSTRAP_USER, groups: [NODE_BOOTSTRAPPERS_GROUP] };
const controllers = { name: CONTROLLER_MANAGER_USER, groups: [] };
const nobody = { name: 'someone', groups: [] };

const attrs = (
  verb: RequestAttributes['verb'],
  resource: string,
  extra: Partial<RequestAttributes> = {},
): RequestAttributes => ({
  verb,
  group: '',
  resource,
  ...extra,
});

describe('RuleAuthorizer', () => {
  const authz = new RuleAuthorizer();

  it('lets cluster admins do everything', () => {
    expect(
      authz.allows(admin, attrs('delete', 'projects', { group: 'project.openshift.io' })),
    ).toBe(true);
    expect(
      authz.allows(admin, attrs('update', 'pods', { subresource: 'status', namespace: 'x' })),
    ).toBe(true);
  });

  it.each([
    ['get', 'nodes', undefined, true],
    ['create', 'nodes', undefined, true],
    ['patch', 'nodes', 'status', true],
    ['delete', 'nodes', undefined, false],
    ['watch', 'pods', undefined, true],
    ['update', 'pods', undefined, false],
    ['update', 'pods', 'status', true],
    ['create', 'pods', undefined, false],
    ['create', 'events', undefined, true],
    ['list', 'events', undefined, false],
    ['get', 'secrets', undefined, true],
    ['list', 'secrets', undefined, false],
    ['get', 'configmaps', undefined, true],
  ] as const)('node bootstrap: %s %s/%s -> %s', (verb, resource, subresource, allowed) => {
    expect(authz.allows(node, attrs(verb, resource, { subresource, namespace: 'ns' }))).toBe(
      allowed,
    );
  });

  it.each([
    ['list', 'pods', undefined, undefined, true],
    ['watch', 'pods', undefined, undefined, true],
    ['update', 'pods', 'status', 'ns', true],
    ['create', 'pods', 'binding', 'ns', true],
    ['delete', 'pods', undefined, 'ns', true],
    ['create', 'pods', undefined, 'ns', false],
    ['watch', 'nodes', undefined, undefined, true],
    ['update', 'nodes', 'status', undefined, true],
    ['update', 'nodes', undefined, undefined, false],
    ['delete', 'nodes', undefined, undefined, false],
    ['create', 'events', undefined, 'default', true],
    ['patch', 'events', undefined, 'ns', true],
    ['get', 'secrets', undefined, 'ns', false],
  ] as const)(
    'controller-manager: %s %s/%s in %s -> %s',
    (verb, resource, subresource, namespace, allowed) => {
      expect(authz.allows(controllers, attrs(verb, resource, { subresource, namespace }))).toBe(
        allowed,
      );
    },
  );

  it('denies unknown users and words the refusal like OpenShift', () => {
    expect(authz.allows(nobody, attrs('get', 'pods', { namespace: 'a' }))).toBe(false);
    expect(() =>
      authz.authorize(node, attrs('list', 'pods', { namespace: 'y', verb: 'delete' })),
    ).toThrow(
      'pods is forbidden: User "system:node-bootstrap" cannot delete resource "pods" in project "y"',
    );
    expect(() =>
      authz.authorize(
        nobody,
        attrs('get', 'projects', { group: 'project.openshift.io', name: 'p' }),
      ),
    ).toThrow(
      'projects "p" is forbidden: User "someone" cannot get resource "projects" in API group "project.openshift.io" at the cluster scope',
    );
  });

  it('scopes bindings to a project', () => {
    const scoped = new RuleAuthorizer([
      {
        subjects: [{ kind: 'User', name: 'dev' }],
        namespace: 'a',
        rules: [{ verbs: ['*'], apiGroups: [''], resources: ['pods'] }],
      },
    ]);
    const dev = { name: 'dev', groups: [] };
    expect(scoped.allows(dev, attrs('create', 'pods', { namespace: 'a' }))).toBe(true);
    expect(scoped.allows(dev, attrs('create', 'pods', { namespace: 'b' }))).toBe(false);
    expect(scoped.allows(dev, attrs('list', 'pods'))).toBe(false);
  });
});
