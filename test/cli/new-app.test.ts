// `new-app` and `status` of the built CLI against a real master with its controllers and a real
// git server. No node joins, so builds and pods stay Pending: what they make is what is tested.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  buildConfigKind,
  deploymentConfigKind,
  imageStreamKind,
  routeKind,
  serviceKind,
} from '../../src/api/kinds/index.js';
import type { BuildConfig } from '../../src/api/kinds/build-config.js';
import type { ImageStream } from '../../src/api/kinds/image-stream.js';
import type { Service } from '../../src/api/kinds/service.js';
import type { ApiObject } from '../../src/api/index.js';
import { ApiClient } from '../../src/client/index.js';
import { startGitServer, type GitServer } from '../support/git-server.js';
import { createBuilderStream, startCliTestMaster, type CliTestMaster } from './support/master.js';
import { cliSession } from './support/session.js';
import { assertBuilt } from './support/slipway.js';

const REGISTRY = '127.0.0.1:5999';
const NS = 'apps-cli';
let master: CliTestMaster;
let admin: ApiClient;
let git: GitServer;

interface DeploymentConfigView extends ApiObject {
  spec: {
    selector?: Record<string, string>;
    template?: {
      metadata?: { labels?: Record<string, string> };
      spec: {
        containers: {
          name: string;
          image: string;
          env?: { name: string; value: string }[];
          ports?: { containerPort: number; protocol?: string }[];
        }[];
      };
    };
    triggers?: {
      type: string;
      imageChangeParams?: {
        automatic?: boolean;
        containerNames?: string[];
        from?: { kind: string; name: string; namespace?: string };
      };
    }[];
  };
}

const cli = cliSession({ name: 'cli-new-app', stderrOnSuccess: true });
const { ok, fails } = cli;

const dc = (name: string): Promise<DeploymentConfigView> =>
  admin.get<DeploymentConfigView>(deploymentConfigKind, name, { namespace: NS });

beforeAll(async () => {
  assertBuilt();
  master = await startCliTestMaster({ controllers: true, registry: REGISTRY });
  admin = new ApiClient({ server: master.url, token: master.adminToken });
  git = await startGitServer();
  await git.createRepo('node-app', { 'package.json': '{"name":"node-app"}', 'server.js': '' });
  await git.createRepo('Site_Two', { 'index.html': '<h1>hi</h1>' });
  await cli.open();
  for (const name of ['nodejs', 'static']) {
    await createBuilderStream(admin, name, `${REGISTRY}/openshift/${name}:1`);
  }
  await cli.login(master.url, master.adminToken, NS);
});

afterAll(async () => {
  await git?.close();
  await master?.close();
  await cli.close();
});

describe('new-app from source', () => {
  it('creates the image stream, build config, deployment config and service, as oc does', async () => {
    const out = await ok(['new-app', `nodejs~${git.repoUrl('node-app')}`, '-e', 'GREETING=hi']);
    expect(out).toContain('--> Found image stream tag "openshift/nodejs:latest" for "nodejs"');
    expect(out).toContain(
      '* The resulting image will be pushed to image stream tag "node-app:latest"',
    );
    expect(out).toContain('* This image will be deployed in deployment config "node-app"');
    expect(out).toContain('* Port 8080/tcp will be load balanced by service "node-app"');
    expect(out).toContain('--> Creating resources with label app=node-app ...');
    for (const line of [
      'imagestream.image.openshift.io "node-app" created',
      'buildconfig.build.openshift.io "node-app" created',
      'deploymentconfig.apps.openshift.io "node-app" created',
      'service "node-app" created',
    ]) {
      expect(out).toContain(line);
    }
    expect(out).toContain(
      "Build scheduled, use 'slipway logs -f bc/node-app' to track its progress.",
    );
    expect(out).toContain("'slipway expose svc/node-app'");

    const bc = await admin.get<BuildConfig>(buildConfigKind, 'node-app', { namespace: NS });
    expect(bc.metadata.labels).toEqual({ app: 'node-app' });
    expect(bc.metadata.annotations?.['openshift.io/generated-by']).toBe('OpenShiftNewApp');
    expect(bc.spec.output?.to).toEqual({ kind: 'ImageStreamTag', name: 'node-app:latest' });

    const config = await dc('node-app');
    expect(config.metadata.labels).toEqual({ app: 'node-app' });
    expect(config.spec.selector).toEqual({ app: 'node-app', deploymentconfig: 'node-app' });
    expect(config.spec.template?.metadata?.labels).toEqual(config.spec.selector);
    const container = config.spec.template!.spec.containers[0]!;
    expect(container.name).toBe('node-app');
    expect(container.env).toEqual([{ name: 'GREETING', value: 'hi' }]);
    expect(container.ports).toEqual([{ containerPort: 8080, protocol: 'TCP' }]);
    expect(config.spec.triggers).toEqual([
      { type: 'ConfigChange' },
      {
        type: 'ImageChange',
        imageChangeParams: {
          automatic: true,
          containerNames: ['node-app'],
          from: { kind: 'ImageStreamTag', name: 'node-app:latest' },
        },
      },
    ]);

    const svc = await admin.get<Service>(serviceKind, 'node-app', { namespace: NS });
    expect(svc.spec.selector).toEqual(config.spec.selector);
    expect(svc.spec.ports).toEqual([
      { name: '8080-tcp', port: 8080, protocol: 'TCP', targetPort: 8080 },
    ]);
    expect(svc.spec.clusterIP).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
  });

  it('detects the builder and derives the name from the repository', async () => {
    const out = await ok(['new-app', git.repoUrl('Site_Two'), '-l', 'team=web']);
    expect(out).toContain('The source repository appears to match: static (found index.html)');
    expect(out).toContain('--> Creating resources with label team=web ...');
    const config = await dc('site-two');
    expect(config.metadata.labels).toEqual({ team: 'web' });
    expect(config.spec.selector).toEqual({ team: 'web', deploymentconfig: 'site-two' });
  });

  it('refuses a second run, naming what exists, and creates nothing', async () => {
    const before = (await admin.list(imageStreamKind, { namespace: NS })).items.length;
    expect(await fails(['new-app', `nodejs~${git.repoUrl('node-app')}`])).toMatch(
      /imagestream.image.openshift.io "node-app" already exists/,
    );
    expect(
      await fails(['new-app', `nodejs~${git.repoUrl('node-app')}`, '--port', '99999']),
    ).toContain('--port "99999"');
    expect(await fails(['new-app', 'openshift/nodejs', '--context-dir', 'x'])).toContain(
      '--context-dir is for applications built from source',
    );
    expect((await admin.list(imageStreamKind, { namespace: NS })).items.length).toBe(before);
  });

  it('prints the objects with -o yaml and creates nothing', async () => {
    const out = await ok([
      'new-app',
      `nodejs~${git.repoUrl('node-app')}`,
      '--name',
      'preview',
      '-o',
      'yaml',
    ]);
    const list = parse(out) as { kind: string; items: ApiObject[] };
    expect(list.kind).toBe('List');
    expect(list.items.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      'ImageStream/preview',
      'BuildConfig/preview',
      'DeploymentConfig/preview',
      'Service/preview',
    ]);
    await expect(dc('preview')).rejects.toMatchObject({ code: 404 });
  });
});

describe('new-app from an image', () => {
  it('deploys an image stream tag of the shared project; a service only for given ports', async () => {
    const out = await ok(['new-app', 'openshift/static', '--name', 'shared']);
    expect(out).toContain('--> Found image stream tag "openshift/static:latest"');
    expect(out).toContain('WARNING: no ports are known for this image');
    const config = await dc('shared');
    expect(config.spec.triggers?.[1]?.imageChangeParams?.from).toEqual({
      kind: 'ImageStreamTag',
      name: 'static:latest',
      namespace: 'openshift',
    });
    await expect(admin.get(serviceKind, 'shared', { namespace: NS })).rejects.toMatchObject({
      code: 404,
    });

    await ok(['new-app', 'openshift/static', '--name', 'shared-port', '--port', '8080']);
    const svc = await admin.get<Service>(serviceKind, 'shared-port', { namespace: NS });
    expect(svc.spec.ports?.[0]).toMatchObject({ name: '8080-tcp', port: 8080 });
  });

  it('tracks an outside image with an image stream of its own', async () => {
    // Nothing listens at REGISTRY: the image's metadata cannot be read (import-image.test.ts
    // reads a real registry's), so it is deployed only when told to, with the ports given.
    const image = `${REGISTRY}/org/hello:2`;
    expect(await fails(['new-app', image, '--port', '8080/tcp'])).toMatch(
      /could not be read from its registry: .*ECONNREFUSED.*--allow-missing-images/,
    );
    await ok(['new-app', image, '--port', '8080/tcp', '--allow-missing-images']);
    const stream = await admin.get<ImageStream>(imageStreamKind, 'hello', { namespace: NS });
    expect(stream.spec?.tags?.[0]).toMatchObject({
      name: '2',
      from: { kind: 'DockerImage', name: image },
    });
    expect((await dc('hello')).spec.triggers?.[1]?.imageChangeParams?.from?.name).toBe('hello:2');
  });
});

describe('new-app from a template', () => {
  const template = {
    apiVersion: 'template.openshift.io/v1',
    kind: 'Template',
    metadata: { name: 'hello-template', annotations: { description: 'A hello application' } },
    labels: { template: 'hello' },
    parameters: [
      { name: 'NAME', required: true },
      { name: 'REPLICAS', value: '2' },
      { name: 'SECRET', generate: 'expression', from: '[a-z0-9]{12}' },
    ],
    objects: [
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: '${NAME}' },
        spec: { ports: [{ port: 8080 }], selector: { app: '${NAME}' } },
      },
      {
        apiVersion: 'apps.openshift.io/v1',
        kind: 'DeploymentConfig',
        metadata: { name: '${NAME}' },
        spec: {
          replicas: '${{REPLICAS}}',
          selector: { app: '${NAME}' },
          template: {
            metadata: { labels: { app: '${NAME}' } },
            spec: {
              containers: [
                {
                  name: 'web',
                  image: 'quay.example/hello:1',
                  env: [{ name: 'SECRET', value: '${SECRET}' }],
                },
              ],
            },
          },
        },
      },
    ],
  };

  it('processes and creates the objects; a missing required parameter creates nothing', async () => {
    const file = join(cli.dir, 'template.json');
    await writeFile(file, JSON.stringify(template));
    expect(await fails(['new-app', '-f', file])).toContain('NAME');
    await expect(dc('tmpl')).rejects.toMatchObject({ code: 404 });

    const out = await ok(['new-app', '-f', file, '-p', 'NAME=tmpl']);
    expect(out).toContain(`--> Deploying template "hello-template" to project ${NS}`);
    expect(out).toContain('A hello application');
    expect(out).toMatch(/\* SECRET=[a-z0-9]{12} # generated/);
    expect(out).toContain('service "tmpl" created');
    expect(out).toContain('deploymentconfig.apps.openshift.io "tmpl" created');
    const config = (await dc('tmpl')) as DeploymentConfigView & { spec: { replicas?: number } };
    expect(config.spec.replicas).toBe(2);
    expect(config.metadata.labels).toEqual({ template: 'hello' });
    expect(config.spec.template?.spec.containers[0]?.env?.[0]?.value).toMatch(/^[a-z0-9]{12}$/);

    expect(await fails(['new-app', '-f', file, '-p', 'NAME=tmpl'])).toContain(
      'service "tmpl" already exists',
    );
    expect(await fails(['new-app', '-f', file, '-p', 'NAME=x', '-p', 'NOPE=1'])).toContain(
      'unknown parameter name "NOPE"',
    );
  });
});

describe('status', () => {
  it('draws the project: route, service, deployment config, build config', async () => {
    await admin.create(
      routeKind,
      {
        apiVersion: 'route.openshift.io/v1',
        kind: 'Route',
        metadata: { name: 'node-app', namespace: NS },
        spec: { host: 'node.apps.example', to: { kind: 'Service', name: 'node-app' } },
      },
      { namespace: NS },
    );
    const out = await ok(['status']);
    const lines = out.split('\n');
    expect(lines[0]).toBe(`In project ${NS} on server ${master.url}`);
    const route = lines.indexOf('http://node.apps.example (svc/node-app)');
    expect(route).toBeGreaterThan(0);
    expect(lines[route + 1]).toBe('  dc/node-app deploys istag/node-app:latest <-');
    expect(lines[route + 2]).toBe(
      `    bc/node-app source builds ${git.repoUrl('node-app')} on openshift/nodejs:latest`,
    );
    expect(out).toMatch(/^svc\/shared-port - [\d.]+:8080$/m);
    expect(out).toMatch(/\d+ infos? identified, use 'slipway status --suggest' to see details\./);
    expect(await ok(['status', '--suggest'])).toContain(
      'dc/node-app has no readiness probe to verify pods are ready to accept traffic',
    );
  });
});

describe('get all and delete all', () => {
  it("lists and deletes an app's objects by the labels new-app gave them", async () => {
    const listed = (await ok(['get', 'all', '-l', 'team=web', '-o', 'name'])).split('\n');
    for (const name of [
      'service/site-two',
      'deploymentconfig.apps.openshift.io/site-two',
      'buildconfig.build.openshift.io/site-two',
      'imagestream.image.openshift.io/site-two',
    ]) {
      expect(listed).toContain(name);
    }
    const tables = await ok(['get', 'all', '-l', 'team=web']);
    expect(tables).toMatch(/^NAME\s+TYPE\s+CLUSTER-IP/m);
    expect(tables).toMatch(/^service\/site-two\s+ClusterIP/m);

    const deleted = await cli.run(['delete', 'all', '-l', 'team=web']);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(deleted.stderr).toBe('');
    for (const line of [
      'service "site-two" deleted',
      'deploymentconfig.apps.openshift.io "site-two" deleted',
      'buildconfig.build.openshift.io "site-two" deleted',
      'imagestream.image.openshift.io "site-two" deleted',
    ]) {
      expect(deleted.stdout).toContain(line);
    }
    // What the deleted owners had (builds, replication controllers, pods) goes with them.
    const deadline = Date.now() + 30_000;
    let left = await cli.run(['get', 'all', '-l', 'team=web', '-o', 'name']);
    while (left.stdout !== '' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      left = await cli.run(['get', 'all', '-l', 'team=web', '-o', 'name']);
    }
    expect(left.stdout).toBe('');
    // Everything else is still there.
    expect(await ok(['get', 'svc/node-app', '-o', 'name'])).toBe('service/node-app\n');
  });
});
