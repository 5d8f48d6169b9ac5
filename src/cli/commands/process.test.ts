import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CliHarness } from '../testing/harness.js';
import { parametersTable, parseTemplateRef } from './process.js';

const TEMPLATE = `apiVersion: template.openshift.io/v1
kind: Template
metadata:
  name: web-app
labels:
  template: web-app
parameters:
- name: NAME
  description: The name of everything
  value: web
- name: REPLICAS
  value: "1"
- name: DB_PASSWORD
  description: Database password
  required: true
- name: SECRET
  generate: expression
  from: "[a-f0-9]{8}"
objects:
- apiVersion: v1
  kind: Secret
  metadata:
    name: \${NAME}-db
  stringData:
    password: \${DB_PASSWORD}
    token: \${SECRET}
- apiVersion: v1
  kind: ConfigMap
  metadata:
    name: \${NAME}-settings
    namespace: somewhere-else
  data:
    replicas: "\${{REPLICAS}}"
`;

let h: CliHarness;
let dir: string;
let file: string;

beforeEach(async () => {
  h = await CliHarness.create();
  dir = await mkdtemp(join(tmpdir(), 'slipway-process-'));
  file = join(dir, 'template.yaml');
  await writeFile(file, TEMPLATE);
});

interface List {
  kind: string;
  apiVersion: string;
  metadata: object;
  items: { kind: string; metadata: Record<string, unknown>; [k: string]: unknown }[];
}

describe('slipway process -f', () => {
  it('prints a v1 List as JSON by default, like oc process', async () => {
    const r = await h.run(['process', '-f', file, '-p', 'DB_PASSWORD=s3cret']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(
      r.stdout.startsWith('{\n    "kind": "List",\n    "apiVersion": "v1",\n    "metadata": {},'),
    ).toBe(true);
    const list = JSON.parse(r.stdout) as List;
    expect(list.items.map((i) => i.kind)).toEqual(['Secret', 'ConfigMap']);
    const [secret, cm] = list.items as [List['items'][0], List['items'][0]];
    expect(secret.metadata).toEqual({ name: 'web-db', labels: { template: 'web-app' } });
    expect((secret.stringData as Record<string, string>).password).toBe('s3cret');
    expect((secret.stringData as Record<string, string>).token).toMatch(/^[a-f0-9]{8}$/);
    expect(cm.metadata).toEqual({ name: 'web-settings', labels: { template: 'web-app' } });
    expect(cm.data).toEqual({ replicas: 1 });
  });

  it('takes KEY=VALUE arguments, --param-file, -l and -o yaml|name', async () => {
    const params = join(dir, 'params.env');
    await writeFile(params, 'DB_PASSWORD=from-file\nNAME=api\n');
    const r = await h.run([
      'process',
      '-f',
      file,
      'NAME=shop',
      '--param-file',
      params,
      '-l',
      'team=blue,tier=web',
      '-o',
      'yaml',
    ]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(
      'warning: Template parameter "NAME" already defined, ignoring value from file "' +
        params +
        '"\n',
    );
    const list = parse(r.stdout) as List;
    expect(list.kind).toBe('List');
    expect(list.items[0]!.metadata).toEqual({
      name: 'shop-db',
      labels: { template: 'web-app', team: 'blue', tier: 'web' },
    });
    const names = await h.run(['process', '-f', file, '-p', 'DB_PASSWORD=x', '-o', 'name']);
    expect(names.stdout).toBe('secret/web-db\nconfigmap/web-settings\n');
  });

  it('reads the template from standard input', async () => {
    const r = await h.run(['process', '-f', '-', '-p', 'DB_PASSWORD=x'], { stdin: TEMPLATE });
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as List).items).toHaveLength(2);
  });

  it('names the parameter that is missing, unknown or badly written', async () => {
    const missing = await h.run(['process', '-f', file]);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toBe('');
    expect(missing.stderr).toBe(
      'error: unable to process template "web-app": parameters[2]: Required value: parameter DB_PASSWORD is required and must be specified\n',
    );
    const unknown = await h.run(['process', '-f', file, '-p', 'DB_PASSWORD=x', '-p', 'COLOR=red']);
    expect(unknown.stderr).toBe('error: unknown parameter name "COLOR"\n');
    const ignored = await h.run([
      'process',
      '-f',
      file,
      '-p',
      'DB_PASSWORD=x',
      '-p',
      'COLOR=red',
      '--ignore-unknown-parameters',
    ]);
    expect(ignored.code).toBe(0);
    const bad = await h.run(['process', '-f', file, '-p', 'db-password=x']);
    expect(bad.stderr).toBe(
      'error: invalid parameter assignment in "db-password=x": "db-password" is not a parameter name (letters, digits and _ only)\n',
    );
    const twice = await h.run(['process', '-f', file, '-p', 'NAME=a', 'NAME=b']);
    expect(twice.stderr).toBe(
      'error: The following parameters were provided more than once: NAME\n',
    );
  });

  it('refuses invalid templates and other kinds, naming the field', async () => {
    const badTemplate = join(dir, 'bad.yaml');
    await writeFile(
      badTemplate,
      'apiVersion: v1\nkind: Template\nmetadata: {name: t}\nparameters:\n- name: BAD-NAME\n',
    );
    const r = await h.run(['process', '-f', badTemplate]);
    expect(r.stderr).toBe(
      'error: Template "t" is invalid: parameters[0].name: Invalid value: "BAD-NAME": does not match ^[a-zA-Z0-9_]+$\n',
    );
    const cm = join(dir, 'cm.yaml');
    await writeFile(cm, 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n');
    expect((await h.run(['process', '-f', cm])).stderr).toBe(
      `error: unable to parse "${cm}", not a valid Template but ConfigMap\n`,
    );
    expect((await h.run(['process'])).stderr).toBe(
      'error: Must pass a filename (-f) or name of stored template\n',
    );
    expect((await h.run(['process', '-f', file, '-o', 'wide'])).stderr).toMatch(
      /allowed formats are: json,name,yaml/,
    );
  });

  it('lists parameters with --parameters', async () => {
    const r = await h.run(['process', '-f', file, '--parameters']);
    expect(r.stdout).toBe(
      [
        'NAME          DESCRIPTION              GENERATOR    VALUE',
        'NAME          The name of everything                web',
        'REPLICAS                                            1',
        'DB_PASSWORD   Database password',
        'SECRET                                 expression   [a-f0-9]{8}',
        '',
      ].join('\n'),
    );
    expect((await h.run(['process', '-f', file, '--parameters', '-p', 'A=1'])).stderr).toBe(
      "error: The --parameters flag does not process the template, can't be used with --param\n",
    );
  });
});

describe('template references', () => {
  it('parses oc forms', () => {
    expect(parseTemplateRef('web')).toEqual({ name: 'web' });
    expect(parseTemplateRef('template/web')).toEqual({ name: 'web' });
    expect(parseTemplateRef('openshift//web')).toEqual({ namespace: 'openshift', name: 'web' });
    expect(parseTemplateRef('demo/templates/web')).toEqual({ namespace: 'demo', name: 'web' });
    expect(() => parseTemplateRef('pods/web')).toThrow('unable to process invalid resource "pods"');
    expect(() => parseTemplateRef('a/b/c/d')).toThrow('invalid argument "a/b/c/d"');
    expect(() => parseTemplateRef('openshift//')).toThrow('invalid value syntax "openshift//"');
  });

  it('prints an empty parameter table with headers only', () => {
    expect(parametersTable({ apiVersion: 'v1', kind: 'Template', metadata: { name: 't' } })).toBe(
      'NAME   DESCRIPTION   GENERATOR   VALUE\n',
    );
  });
});
