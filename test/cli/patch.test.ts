// `slipway patch`: the built CLI as a subprocess against a real master, with each patch type.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configMapKind, deploymentConfigKind, type ApiObject } from '../../src/api/index.js';
import { ApiClient } from '../../src/client/index.js';
import { startCliTestMaster, type CliTestMaster } from './support/master.js';
import { cliSession } from './support/session.js';
import { assertBuilt } from './support/slipway.js';

const NS = 'patching';
let master: CliTestMaster;
let admin: ApiClient;

const cli = cliSession({ name: 'cli-patch', stderrOnSuccess: true });
const { ok, fails } = cli;

const data = async (): Promise<Record<string, string> | undefined> =>
  (
    await admin.get<ApiObject & { data?: Record<string, string> }>(configMapKind, 'settings', {
      namespace: NS,
    })
  ).data;

beforeAll(async () => {
  assertBuilt();
  master = await startCliTestMaster({ controllers: false });
  admin = new ApiClient({ server: master.url, token: master.adminToken });
  await cli.open();
  await cli.login(master.url, master.adminToken, NS);
  await admin.create(
    configMapKind,
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'settings' },
      data: { a: '1', b: '2' },
    },
    { namespace: NS },
  );
});

afterAll(async () => {
  await master?.close();
  await cli.close();
});

describe('patch', () => {
  it('applies merge, strategic (the default) and JSON patches', async () => {
    expect(
      await ok(['patch', 'cm/settings', '--type', 'merge', '-p', '{"data":{"b":null,"c":"3"}}']),
    ).toBe('configmap/settings patched\n');
    expect(await data()).toEqual({ a: '1', c: '3' });
    await ok(['patch', 'configmap', 'settings', '-p', 'data: {a: "one"}']);
    expect(await data()).toEqual({ a: 'one', c: '3' });
    await ok([
      'patch',
      'cm/settings',
      '--type',
      'json',
      '-p',
      '[{"op":"replace","path":"/data/c","value":"three"},{"op":"add","path":"/data/d","value":"4"}]',
    ]);
    expect(await data()).toEqual({ a: 'one', c: 'three', d: '4' });
  });

  it('merges containers by name with a strategic patch, where a merge patch replaces the list', async () => {
    await admin.create(
      deploymentConfigKind,
      {
        apiVersion: 'apps.openshift.io/v1',
        kind: 'DeploymentConfig',
        metadata: { name: 'web' },
        spec: {
          replicas: 1,
          selector: { app: 'web' },
          template: {
            metadata: { labels: { app: 'web' } },
            spec: {
              containers: [
                {
                  name: 'web',
                  image: 'web:1',
                  ports: [{ containerPort: 8080 }],
                  env: [{ name: 'MODE', value: 'prod' }],
                },
                { name: 'sidecar', image: 'side:1' },
              ],
            },
          },
        },
      },
      { namespace: NS },
    );
    type Dc = ApiObject & {
      spec: { template: { spec: { containers: Record<string, unknown>[] } } };
    };
    const containers = async (): Promise<Record<string, unknown>[]> =>
      (await admin.get<Dc>(deploymentConfigKind, 'web', { namespace: NS })).spec.template.spec
        .containers;
    const patch = '{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"web:2"}]}}}}';

    expect(await ok(['patch', 'dc/web', '-p', patch])).toBe(
      'deploymentconfig.apps.openshift.io/web patched\n',
    );
    expect(await containers()).toMatchObject([
      {
        name: 'web',
        image: 'web:2',
        ports: [{ containerPort: 8080 }],
        env: [{ name: 'MODE', value: 'prod' }],
      },
      { name: 'sidecar', image: 'side:1' },
    ]);

    await ok(['patch', 'dc/web', '--type', 'merge', '-p', patch]);
    expect(await containers()).toEqual([{ name: 'web', image: 'web:2' }]);

    // A list item without its merge key: refused, nothing changed.
    expect(
      await fails([
        'patch',
        'dc/web',
        '-p',
        '{"spec":{"template":{"spec":{"containers":[{"image":"web:3"}]}}}}',
      ]),
    ).toContain('spec.template.spec.containers[0]: has no "name", the key this list is merged by');
    expect(await containers()).toEqual([{ name: 'web', image: 'web:2' }]);
  });

  it('names what is wrong and changes nothing', async () => {
    const before = await data();
    expect(await fails(['patch', 'cm/settings', '--type', 'json', '-p', '{"data":{}}'])).toContain(
      '--type json: the patch must be a list of operations',
    );
    expect(await fails(['patch', 'cm/settings', '--type', 'xml', '-p', '{}'])).toContain(
      '--type "xml"',
    );
    expect(await fails(['patch', 'cm/settings', '-p', '{"data": '])).toContain('unable to parse');
    expect(await fails(['patch', 'cm/nosuch', '-p', '{}'])).toContain('not found');
    expect(await data()).toEqual(before);
  });
});
