import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importX509, jwtVerify, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Build } from '../../src/api/index.js';
import { parseScopes } from '../../src/api/registry-scope.js';
import { RuleAuthorizer } from '../auth/authorizer.js';
import {
  loadOrCreateSigningKey,
  REGISTRY_TOKEN_ISSUER,
  RegistryTokenIssuer,
  type RegistrySigningKey,
} from '../auth/registry-tokens.js';
import {
  AUTHENTICATED_GROUP,
  CLUSTER_ADMINS_GROUP,
  NODE_BOOTSTRAPPERS_GROUP,
  type UserInfo,
} from '../auth/user.js';
import { RegistryAccessPolicy } from './registry-token.js';
import type { ResourceStore } from './resources.js';

const REGISTRY = '127.0.0.1:5000';
const admin: UserInfo = { name: 'admin', groups: [CLUSTER_ADMINS_GROUP, AUTHENTICATED_GROUP] };
const node: UserInfo = {
  name: 'system:node-bootstrap',
  groups: [NODE_BOOTSTRAPPERS_GROUP, AUTHENTICATED_GROUP],
};
const someone: UserInfo = { name: 'dev', groups: [AUTHENTICATED_GROUP] };

function build(namespace: string, phase: string, output: string): Build {
  return {
    apiVersion: 'build.openshift.io/v1',
    kind: 'Build',
    metadata: { name: `b-${phase}`, namespace },
    spec: {},
    status: { phase, outputDockerImageReference: output },
  } as unknown as Build;
}

function policyWith(builds: Build[]): RegistryAccessPolicy {
  const resources = {
    list: (_def: unknown, namespace: string) =>
      Promise.resolve({ items: builds.filter((b) => b.metadata.namespace === namespace) }),
  } as unknown as ResourceStore;
  return new RegistryAccessPolicy({
    authorizer: new RuleAuthorizer(),
    resources,
    clusterRegistry: REGISTRY,
  });
}

describe('parseScopes', () => {
  it('reads several scopes per parameter, merges actions, drops malformed ones', () => {
    expect(
      parseScopes([
        'repository:a/app:pull repository:a/app:push',
        'repository(plugin):b/x:pull',
        'registry:catalog:*',
        'nonsense',
        'repository::pull',
        'repository:a/y:',
      ]),
    ).toEqual([
      { type: 'repository', name: 'a/app', actions: ['pull', 'push'] },
      { type: 'repository', name: 'b/x', actions: ['pull'] },
      { type: 'registry', name: 'catalog', actions: ['*'] },
    ]);
  });
});

describe('RegistryAccessPolicy', () => {
  const scope = (name: string, ...actions: string[]) => ({ type: 'repository', name, actions });

  it('gives a cluster admin everything asked, `*` spelled out, and the catalog', async () => {
    const policy = policyWith([]);
    expect(
      await policy.grant(admin, [
        scope('a/app', '*'),
        { type: 'registry', name: 'catalog', actions: ['*'] },
      ]),
    ).toEqual([
      scope('a/app', 'pull', 'push', 'delete'),
      { type: 'registry', name: 'catalog', actions: ['*'] },
    ]);
  });

  it('lets a node pull anything but push only where a running build of that project outputs', async () => {
    const policy = policyWith([
      build('a', 'Running', `${REGISTRY}/a/app:latest`),
      build('a', 'Complete', `${REGISTRY}/a/done@sha256:${'1'.repeat(64)}`),
      // A build of project c writing into b's repository gets no push there (nor in c).
      build('c', 'Running', `${REGISTRY}/b/app:latest`),
      build('a', 'Pending', `other.example/a/elsewhere:latest`),
    ]);
    expect(await policy.grant(node, [scope('a/app', 'pull', 'push')])).toEqual([
      scope('a/app', 'pull', 'push'),
    ]);
    expect(await policy.grant(node, [scope('a/done', 'pull', 'push')])).toEqual([
      scope('a/done', 'pull'),
    ]);
    expect(await policy.grant(node, [scope('b/app', 'pull', 'push')])).toEqual([
      scope('b/app', 'pull'),
    ]);
    expect(await policy.grant(node, [scope('a/elsewhere', 'push')])).toEqual([]);
    expect(await policy.grant(node, [scope('a/app', 'delete')])).toEqual([]);
    expect(
      await policy.grant(node, [{ type: 'registry', name: 'catalog', actions: ['*'] }]),
    ).toEqual([]);
  });

  it('lets every user pull the shared builder images and nothing else', async () => {
    const policy = policyWith([]);
    expect(
      await policy.grant(someone, [
        scope('openshift/nodejs', 'pull', 'push'),
        scope('a/app', 'pull'),
      ]),
    ).toEqual([scope('openshift/nodejs', 'pull')]);
  });

  it('grants nothing for names that are not PROJECT/NAME', async () => {
    const policy = policyWith([]);
    expect(
      await policy.grant(admin, [
        scope('app', 'pull'),
        scope('a/b/c', 'pull'),
        scope('A/app', 'pull'),
        { type: 'blob', name: 'a/app', actions: ['pull'] },
      ]),
    ).toEqual([]);
  });
});

describe('RegistryTokenIssuer', () => {
  let dir: string;
  let signing: RegistrySigningKey;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'registry-tokens-'));
    signing = await loadOrCreateSigningKey(dir);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('keeps the key and certificate of the data directory across starts', async () => {
    const again = await loadOrCreateSigningKey(dir);
    expect(again.certPem).toBe(signing.certPem);
    expect(again.key.export({ type: 'pkcs8', format: 'pem' })).toBe(
      signing.key.export({ type: 'pkcs8', format: 'pem' }),
    );
  });

  it('signs tokens the certificate verifies, for the service, carrying the certificate', async () => {
    const now = Date.UTC(2026, 0, 1);
    const issuer = new RegistryTokenIssuer(signing, { now: () => now });
    const access = [{ type: 'repository', name: 'a/app', actions: ['pull'] }];
    const { token, expiresIn } = await issuer.issue('admin', access);
    const header = decodeProtectedHeader(token);
    expect(header.alg).toBe('RS256');
    expect(header.x5c).toEqual([
      signing.certPem.replace(/-----(BEGIN|END) CERTIFICATE-----|\s/g, ''),
    ]);
    const { payload } = await jwtVerify(token, await importX509(signing.certPem, 'RS256'), {
      issuer: REGISTRY_TOKEN_ISSUER,
      audience: 'slipway-registry',
      currentDate: new Date(now + 1000),
    });
    expect(payload).toMatchObject({ sub: 'admin', access, exp: now / 1000 + expiresIn });

    // Another key's signature does not pass.
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const forged = await new RegistryTokenIssuer(
      { ...signing, key: other.privateKey },
      { now: () => now },
    ).issue('admin', access);
    await expect(
      jwtVerify(forged.token, await importX509(signing.certPem, 'RS256'), {
        currentDate: new Date(now + 1000),
      }),
    ).rejects.toThrow(/signature/);
  });
});
