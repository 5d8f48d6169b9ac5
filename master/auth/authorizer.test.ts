import { describe, expect, it } from 'vitest';
import {
  POD_EXEC_RULES,
  POD_LOG_RULES,
  RuleAuthorizer,
  type RequestAttributes,
} from './authorizer.js';
import {
  ADMIN_USER,
  CLUSTER_ADMINS_GROUP,
  CONTROLLER_MANAGER_USER,
  NODE_BOOTSTRAP_USER,
  NODE_BOOTSTRAPPERS_GROUP,
  ROUTER_USER,
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
    ['watch', 'services', undefined, true],
    ['list', 'endpoints', undefined, true],
    ['update', 'services', undefined, false],
    ['create', 'endpoints', undefined, false],
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
    // Build pods.
    ['create', 'pods', undefined, 'ns', true],
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

  const build = (
    verb: RequestAttributes['verb'],
    resource: string,
    extra: Partial<RequestAttributes> = {},
  ): RequestAttributes => attrs(verb, resource, { group: 'build.openshift.io', ...extra });
  const image = (
    verb: RequestAttributes['verb'],
    resource: string,
    extra: Partial<RequestAttributes> = {},
  ): RequestAttributes => attrs(verb, resource, { group: 'image.openshift.io', ...extra });

  it('lets nodes read builds and fetch binary inputs, and nothing more of builds', () => {
    expect(authz.allows(node, build('get', 'builds', { namespace: 'a' }))).toBe(true);
    expect(authz.allows(node, build('watch', 'builds'))).toBe(true);
    expect(
      authz.allows(node, build('get', 'builds', { subresource: 'source', namespace: 'a' })),
    ).toBe(true);
    expect(authz.allows(node, build('update', 'builds', { namespace: 'a' }))).toBe(false);
    expect(authz.allows(node, build('get', 'builds', { subresource: 'log', namespace: 'a' }))).toBe(
      false,
    );
    expect(authz.allows(node, build('get', 'buildconfigs', { namespace: 'a' }))).toBe(false);
    expect(
      authz.allows(
        node,
        build('create', 'buildconfigs', { subresource: 'instantiate', namespace: 'a' }),
      ),
    ).toBe(false);
    expect(authz.allows(node, image('get', 'imagestreams', { namespace: 'a' }))).toBe(false);
  });

  it('lets the build controllers run builds, start triggered ones, keep image stream status and import scheduled tags', () => {
    expect(authz.allows(controllers, build('update', 'builds', { namespace: 'a' }))).toBe(true);
    expect(authz.allows(controllers, build('delete', 'builds', { namespace: 'a' }))).toBe(true);
    expect(
      authz.allows(
        controllers,
        build('create', 'buildconfigs', { subresource: 'instantiate', namespace: 'a' }),
      ),
    ).toBe(true);
    expect(authz.allows(controllers, build('update', 'buildconfigs', { namespace: 'a' }))).toBe(
      false,
    );
    expect(
      authz.allows(
        controllers,
        image('update', 'imagestreams', { subresource: 'status', namespace: 'a' }),
      ),
    ).toBe(true);
    // Scheduled imports: an import writes the stream's spec tag and status in one go.
    expect(
      authz.allows(controllers, image('create', 'imagestreamimports', { namespace: 'a' })),
    ).toBe(true);
    expect(authz.allows(controllers, image('update', 'imagestreams', { namespace: 'a' }))).toBe(
      true,
    );
    expect(authz.allows(controllers, image('delete', 'imagestreams', { namespace: 'a' }))).toBe(
      false,
    );
    expect(
      authz.allows(controllers, build('get', 'builds', { subresource: 'source', namespace: 'a' })),
    ).toBe(false);
  });

  it('lets every authenticated user read the openshift project’s image streams, only those', () => {
    const user = { name: 'dev', groups: ['system:authenticated'] };
    expect(authz.allows(user, image('get', 'imagestreams', { namespace: 'openshift' }))).toBe(true);
    expect(authz.allows(user, image('list', 'imagestreamtags', { namespace: 'openshift' }))).toBe(
      true,
    );
    expect(authz.allows(user, image('update', 'imagestreams', { namespace: 'openshift' }))).toBe(
      false,
    );
    expect(authz.allows(user, image('get', 'imagestreams', { namespace: 'other' }))).toBe(false);
    expect(authz.allows(user, image('list', 'imagestreams'))).toBe(false);
  });

  it('lets the router read routes, services and endpoints everywhere, and nothing else', () => {
    const router = { name: ROUTER_USER, groups: ['system:authenticated'] };
    const route = (verb: RequestAttributes['verb'], extra: Partial<RequestAttributes> = {}) =>
      attrs(verb, 'routes', { group: 'route.openshift.io', ...extra });
    expect(authz.allows(router, route('list'))).toBe(true);
    expect(authz.allows(router, route('watch', { namespace: 'a' }))).toBe(true);
    expect(authz.allows(router, attrs('watch', 'services'))).toBe(true);
    expect(authz.allows(router, attrs('list', 'endpoints'))).toBe(true);
    expect(authz.allows(router, route('update', { subresource: 'status', namespace: 'a' }))).toBe(
      false,
    );
    expect(authz.allows(router, route('create', { namespace: 'a' }))).toBe(false);
    expect(authz.allows(router, attrs('list', 'secrets'))).toBe(false);
    expect(authz.allows(router, attrs('list', 'pods'))).toBe(false);
  });

  it('lets every authenticated user read the openshift project’s templates', () => {
    const user = { name: 'dev', groups: ['system:authenticated'] };
    const template = (verb: RequestAttributes['verb'], namespace: string) =>
      attrs(verb, 'templates', { group: 'template.openshift.io', namespace });
    expect(authz.allows(user, template('get', 'openshift'))).toBe(true);
    expect(authz.allows(user, template('create', 'openshift'))).toBe(false);
    expect(authz.allows(user, template('get', 'other'))).toBe(false);
  });

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

  it('lets admins read logs and exec, and never nodes or the controllers', () => {
    const log = attrs('get', 'pods', { subresource: 'log', namespace: 'a', name: 'p' });
    const exec = attrs('create', 'pods', { subresource: 'exec', namespace: 'a', name: 'p' });
    expect([authz.allows(admin, log), authz.allows(admin, exec)]).toEqual([true, true]);
    for (const user of [node, controllers, nobody]) {
      expect([authz.allows(user, log), authz.allows(user, exec)]).toEqual([false, false]);
    }
    expect(() => authz.authorize(node, exec)).toThrow(
      'pods/exec "p" is forbidden: User "system:node-bootstrap" cannot create resource "pods/exec" in project "a"',
    );
  });

  it('grants logs, exec and port-forward per project through the pod rules', () => {
    const scoped = new RuleAuthorizer([
      { subjects: [{ kind: 'User', name: 'viewer' }], namespace: 'a', rules: POD_LOG_RULES },
      { subjects: [{ kind: 'User', name: 'dev' }], namespace: 'a', rules: POD_EXEC_RULES },
    ]);
    const viewer = { name: 'viewer', groups: [] };
    const dev = { name: 'dev', groups: [] };
    const log = (ns: string) => attrs('get', 'pods', { subresource: 'log', namespace: ns });
    const exec = (ns: string) => attrs('create', 'pods', { subresource: 'exec', namespace: ns });
    expect(scoped.allows(viewer, log('a'))).toBe(true);
    expect(scoped.allows(viewer, exec('a'))).toBe(false);
    expect(scoped.allows(dev, exec('a'))).toBe(true);
    expect(scoped.allows(dev, exec('b'))).toBe(false);
    expect(scoped.allows(dev, attrs('get', 'pods', { subresource: 'exec', namespace: 'a' }))).toBe(
      false,
    );
    const forward = (ns: string) =>
      attrs('create', 'pods', { subresource: 'portforward', namespace: ns });
    expect([scoped.allows(viewer, forward('a')), scoped.allows(dev, forward('a'))]).toEqual([
      false,
      true,
    ]);
    expect(scoped.allows(dev, forward('b'))).toBe(false);
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
