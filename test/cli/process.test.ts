// `slipway process` with the built CLI against a real master: templates stored in a project
// and in `openshift`, processed with -p and --param-file, piped into `slipway create -f -`.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { configMapKind, secretKind, type ApiObject } from '../../src/api/index.js';
import { templateKind } from '../../src/api/kinds/template.js';
import { ApiClient } from '../../src/client/index.js';
import { startCliTestMaster, type CliTestMaster } from './support/master.js';
import { cliSession } from './support/session.js';
import { assertBuilt } from './support/slipway.js';

let master: CliTestMaster;
let admin: ApiClient;

const cli = cliSession({ name: 'process-test', oneLineErrors: true, quietFailures: true });
const { ok, fails } = cli;

const TEMPLATE = `apiVersion: template.openshift.io/v1
kind: Template
metadata:
  name: settings
  annotations:
    description: Settings and credentials for an app
labels:
  template: settings
parameters:
- name: APP
  description: The application's name
  value: shop
- name: DB_PASSWORD
  description: The database password
  required: true
- name: API_KEY
  generate: expression
  from: "[a-zA-Z0-9]{16}"
- name: REPLICAS
  value: "2"
objects:
- apiVersion: v1
  kind: ConfigMap
  metadata:
    name: \${APP}-settings
    labels:
      app: \${APP}
  data:
    replicas: "\${REPLICAS}"
    url: http://\${APP}.svc:8080/
- apiVersion: v1
  kind: Secret
  metadata:
    name: \${APP}-credentials
  stringData:
    password: \${DB_PASSWORD}
    api-key: \${API_KEY}
`;

interface ListOut {
  kind: string;
  items: ApiObject[];
}

beforeAll(async () => {
  assertBuilt();
  master = await startCliTestMaster();
  admin = new ApiClient({ server: master.url, token: master.adminToken });
});

afterAll(async () => {
  await master?.close();
});

let project = 0;
beforeEach(async () => {
  await cli.open();
  project += 1;
  await cli.login(master.url, master.adminToken, `tpl-${project}`);
  await writeFile(join(cli.dir, 'template.yaml'), TEMPLATE);
});

afterEach(async () => {
  await cli.close();
});

describe('slipway process', () => {
  it('processes a stored template with -p and creates the result from standard input', async () => {
    expect(await ok(['create', '-f', join(cli.dir, 'template.yaml')])).toBe(
      'template.template.openshift.io/settings created\n',
    );
    expect(await ok(['get', 'templates'])).toBe(
      [
        'NAME       DESCRIPTION                           PARAMETERS    OBJECTS',
        'settings   Settings and credentials for an app   4 (1 blank)   2',
        '',
      ].join('\n'),
    );

    const out = await ok(['process', 'settings', '-p', 'DB_PASSWORD=hunter2', 'APP=cart']);
    const list = JSON.parse(out) as ListOut;
    expect(list.kind).toBe('List');
    expect(list.items.map((i) => `${i.kind}/${i.metadata.name}`)).toEqual([
      'ConfigMap/cart-settings',
      'Secret/cart-credentials',
    ]);

    expect(await ok(['create', '-f', '-'], out)).toBe(
      'configmap/cart-settings created\nsecret/cart-credentials created\n',
    );
    const ns = `tpl-${project}`;
    const cm = await admin.get(configMapKind, 'cart-settings', { namespace: ns });
    expect(cm.metadata.labels).toEqual({ app: 'cart', template: 'settings' });
    expect(cm.data).toEqual({ replicas: '2', url: 'http://cart.svc:8080/' });
    const secret = await admin.get(secretKind, 'cart-credentials', { namespace: ns });
    const data = secret.data as Record<string, string>;
    expect(Buffer.from(data.password!, 'base64').toString()).toBe('hunter2');
    expect(Buffer.from(data['api-key']!, 'base64').toString()).toMatch(/^[a-zA-Z0-9]{16}$/);

    // Each run generates anew.
    const again = JSON.parse(
      await ok(['process', 'settings', '-p', 'DB_PASSWORD=x', '-o', 'json']),
    ) as ListOut;
    const key = (again.items[1]!.stringData as Record<string, string>)['api-key'];
    expect(key).not.toBe(Buffer.from(data['api-key']!, 'base64').toString());
  });

  it('reads values from --param-file, the template from a file, and prints YAML', async () => {
    await writeFile(join(cli.dir, 'prod.env'), '# production\nDB_PASSWORD=from-file\nAPP=web\n');
    const yaml = await ok([
      'process',
      '-f',
      join(cli.dir, 'template.yaml'),
      '--param-file',
      join(cli.dir, 'prod.env'),
      '-l',
      'env=prod',
      '-o',
      'yaml',
    ]);
    expect(yaml).toMatch(/^apiVersion: v1\nkind: List\n/);
    expect(await ok(['create', '-f', '-'], yaml)).toBe(
      'configmap/web-settings created\nsecret/web-credentials created\n',
    );
    const secret = await admin.get(secretKind, 'web-credentials', { namespace: `tpl-${project}` });
    expect(secret.metadata.labels).toEqual({ env: 'prod', template: 'settings' });
    expect(
      Buffer.from((secret.data as Record<string, string>).password!, 'base64').toString(),
    ).toBe('from-file');
  });

  it('finds shared templates in the openshift project, also without naming it', async () => {
    const shared = sharedTemplate();
    shared.metadata = { name: `shared-${project}` };
    await admin.create(templateKind, shared, { namespace: 'openshift' });
    const named = JSON.parse(
      await ok(['process', `openshift//shared-${project}`, '-p', 'DB_PASSWORD=a']),
    ) as ListOut;
    expect(named.items).toHaveLength(2);
    const found = JSON.parse(
      await ok(['process', `shared-${project}`, '-p', 'DB_PASSWORD=a', '-o', 'json']),
    ) as ListOut;
    expect(found.items).toHaveLength(2);
    expect(await fails(['process', 'nothing-here'])).toBe(
      `error: template "nothing-here" could not be found in project "tpl-${project}" or project "openshift"`,
    );
  });

  it('lists parameters', async () => {
    expect(await ok(['process', '-f', join(cli.dir, 'template.yaml'), '--parameters'])).toBe(
      [
        'NAME          DESCRIPTION              GENERATOR    VALUE',
        "APP           The application's name                shop",
        'DB_PASSWORD   The database password',
        'API_KEY                                expression   [a-zA-Z0-9]{16}',
        'REPLICAS                                            2',
        '',
      ].join('\n'),
    );
  });

  it('names the parameter in every refusal', async () => {
    const file = join(cli.dir, 'template.yaml');
    expect(await fails(['process', '-f', file])).toBe(
      'error: unable to process template "settings": parameters[1]: Required value: parameter DB_PASSWORD is required and must be specified',
    );
    expect(await fails(['process', '-f', file, '-p', 'DB_PASSWORD=x', '-p', 'COLOUR=red'])).toBe(
      'error: unknown parameter name "COLOUR"',
    );
    expect(await fails(['process', '-f', file, '-p', 'db-password=x'])).toBe(
      'error: invalid parameter assignment in "db-password=x": "db-password" is not a parameter name (letters, digits and _ only)',
    );
    await writeFile(join(cli.dir, 'bad.env'), 'DB_PASSWORD=x\nAPI-KEY=y\n');
    expect(await fails(['process', '-f', file, '--param-file', join(cli.dir, 'bad.env')])).toBe(
      `error: invalid parameter assignment in ${join(cli.dir, 'bad.env')}, line 2: "API-KEY" is not a parameter name (letters, digits and _ only)`,
    );
    // The server refuses a template with a bad parameter name, naming the field.
    await writeFile(
      join(cli.dir, 'bad.yaml'),
      TEMPLATE.replace('- name: REPLICAS', '- name: REPLICA-COUNT'),
    );
    expect(await fails(['create', '-f', join(cli.dir, 'bad.yaml')])).toMatch(
      /^Error from server \(Invalid\): error when creating ".*bad\.yaml": Template "settings" is invalid: parameters\[3\]\.name: Invalid value: "REPLICA-COUNT": does not match \^\[a-zA-Z0-9_\]\+\$$/,
    );
    // A bad generator expression is refused where the template is written.
    await writeFile(
      join(cli.dir, 'bad-expr.yaml'),
      TEMPLATE.replace('"[a-zA-Z0-9]{16}"', '"[a-z]+"'),
    );
    expect(await fails(['create', '-f', join(cli.dir, 'bad-expr.yaml')])).toContain(
      'parameters[2].from: Invalid value: malformed expression "[a-z]+"',
    );
  });
});

/** A template created through the client, in the openshift project. */
function sharedTemplate(): ApiObject {
  return {
    apiVersion: 'template.openshift.io/v1',
    kind: 'Template',
    metadata: { name: 'x' },
    parameters: [
      { name: 'DB_PASSWORD', required: true },
      { name: 'APP', value: 'shared' },
    ],
    objects: [
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: '${APP}-a' } },
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: '${APP}-b' },
        stringData: { p: '${DB_PASSWORD}' },
      },
    ],
  };
}
