import { mkdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { configMapKind, secretKind } from '../api/index.js';
import { FakeApiServer } from '../client/testing/fake-api-server.js';
import { readConfig } from './config.js';
import { CliHarness } from './testing/harness.js';
import { CONFIGMAP_AND_SECRET_YAML } from './testing/manifests.js';

let server: FakeApiServer;
let cli: CliHarness;

async function login(): Promise<void> {
  const r = await cli.run(['login', server.url, '--token', 'secret-token']);
  expect(r.code).toBe(0);
}

beforeEach(async () => {
  server = new FakeApiServer();
  await server.start();
  cli = await CliHarness.create();
  cli.now = new Date('2026-03-01T12:00:00Z');
});
afterEach(async () => {
  await server.close();
});

describe('login, whoami, logout', () => {
  it('logs in, saves the config with mode 0600 and answers whoami', async () => {
    const r = await cli.run(['login', server.url, '--token', 'secret-token']);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toContain(
      `Logged into "${server.url}" as "developer" using the token provided.`,
    );
    expect(r.stdout).toContain("You don't have any projects.");
    expect(await readConfig(cli.configPath)).toEqual({
      server: server.url,
      token: 'secret-token',
      user: 'developer',
    });
    expect((await stat(cli.configPath)).mode & 0o777).toBe(0o600);
    expect((await stat(dirname(cli.configPath))).mode & 0o777).toBe(0o700);

    expect(await cli.run(['whoami'])).toEqual({ code: 0, stdout: 'developer\n', stderr: '' });
    expect((await cli.run(['whoami', '--show-token'])).stdout).toBe('secret-token\n');
    expect((await cli.run(['whoami', '--show-server'])).stdout).toBe(`${server.url}\n`);

    expect((await cli.run(['logout'])).stdout).toBe(`Logged "developer" out on "${server.url}"\n`);
    expect(await cli.run(['whoami'])).toEqual({
      code: 1,
      stdout: '',
      stderr: 'error: not logged in; run "slipway login SERVER --token TOKEN" or "slipway up"\n',
    });
  });

  it('refuses a login without a token or with a bad one, and keeps the token out of messages', async () => {
    const noToken = await cli.run(['login', server.url]);
    expect(noToken.code).toBe(1);
    expect(noToken.stderr).toBe(
      `error: a token is required to log in: slipway login ${server.url} --token TOKEN\n`,
    );
    const bad = await cli.run(['login', server.url, '--token', 'wrong-token']);
    expect(bad.code).toBe(1);
    expect(bad.stderr.split('\n')).toHaveLength(2);
    expect(bad.stderr).toContain('(Unauthorized)');
    expect(bad.stderr).not.toContain('wrong-token');
  });

  it('says clearly when the server cannot be reached', async () => {
    await login();
    const url = server.url;
    await server.close();
    const r = await cli.run(['get', 'pods']);
    expect(r).toEqual({
      code: 1,
      stdout: '',
      stderr: `error: cannot reach the Slipway API at ${url}: connection refused\n`,
    });
  });

  it('uses the --config option over SLIPWAY_CONFIG', async () => {
    const other = join(dirname(cli.configPath), 'other-config');
    expect(
      (await cli.run(['--config', other, 'login', server.url, '--token', 'secret-token'])).code,
    ).toBe(0);
    expect((await readConfig(other)).user).toBe('developer');
    expect(await readConfig(cli.configPath)).toEqual({});
  });
});

describe('projects', () => {
  beforeEach(login);

  it('creates, lists and switches projects', async () => {
    const created = await cli.run([
      'new-project',
      'demo',
      '--display-name',
      'Demo App',
      '--description',
      'd',
    ]);
    expect(created).toEqual({
      code: 0,
      stdout: `Now using project "demo" on server "${server.url}".\n`,
      stderr: '',
    });
    await cli.run(['new-project', 'other']);
    expect((await cli.run(['project'])).stdout).toBe(
      `Using project "other" on server "${server.url}".\n`,
    );
    expect((await cli.run(['project', 'demo'])).stdout).toBe(
      `Now using project "demo" on server "${server.url}".\n`,
    );
    expect((await cli.run(['project', '-q'])).stdout).toBe('demo\n');
    const list = await cli.run(['projects']);
    expect(list.stdout).toBe(
      "You have access to the following projects and can switch between them with 'slipway project <projectname>':\n\n" +
        '  * demo - Demo App\n' +
        '    other\n\n' +
        `Using project "demo" on server "${server.url}".\n`,
    );
    const missing = await cli.run(['project', 'nope']);
    expect(missing).toEqual({
      code: 1,
      stdout: '',
      stderr: `error: A project named "nope" does not exist on "${server.url}".\n`,
    });
    const again = await cli.run(['new-project', 'demo']);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe(
      'Error from server (AlreadyExists): projects.project.openshift.io "demo" already exists\n',
    );
  });
});

const manifests = CONFIGMAP_AND_SECRET_YAML;

describe('apply, get, describe, label, delete', () => {
  beforeEach(async () => {
    await login();
    await cli.run(['new-project', 'demo']);
  });

  it('applies a multi-document file, then reports unchanged and configured', async () => {
    const file = join(dirname(cli.configPath), 'app.yaml');
    await writeFile(file, manifests);
    const first = await cli.run(['apply', '-f', file]);
    expect(first).toEqual({
      code: 0,
      stdout: 'configmap/settings created\nsecret/creds created\n',
      stderr: '',
    });
    const stored = server.get(configMapKind, 'demo', 'settings')!;
    expect(
      JSON.parse(stored.metadata.annotations!['kubectl.kubernetes.io/last-applied-configuration']!),
    ).toMatchObject({
      kind: 'ConfigMap',
      data: { color: 'blue', size: 'large' },
    });

    const second = await cli.run(['apply', '-f', file]);
    expect(second.stdout).toBe('configmap/settings unchanged\nsecret/creds unchanged\n');

    await writeFile(
      file,
      manifests.replace('  size: large\n', '').replace('color: blue', 'color: red'),
    );
    const third = await cli.run(['apply', '-f', file]);
    expect(third.stdout).toBe('configmap/settings configured\nsecret/creds unchanged\n');
    expect(server.get(configMapKind, 'demo', 'settings')!.data).toEqual({ color: 'red' });
  });

  it('applies from stdin and directories, and expands Lists', async () => {
    const list = JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a' }, data: {} },
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'b' }, data: {} },
      ],
    });
    const r = await cli.run(['apply', '-f', '-'], { stdin: list });
    expect(r.stdout).toBe('configmap/a created\nconfigmap/b created\n');
    const dir = join(dirname(cli.configPath), 'manifests');
    await mkdir(dir);
    await writeFile(join(dir, '1.yaml'), manifests);
    await writeFile(join(dir, 'README.md'), 'not a manifest');
    const d = await cli.run(['create', '-f', dir]);
    expect(d.stdout).toBe('configmap/settings created\nsecret/creds created\n');
    const again = await cli.run(['create', '-f', dir]);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe(
      `Error from server (AlreadyExists): error when creating "${join(dir, '1.yaml')}": configmaps "settings" already exists\n` +
        `Error from server (AlreadyExists): error when creating "${join(dir, '1.yaml')}": secrets "creds" already exists\n`,
    );
  });

  it('names the file, document and line of parse errors, before writing anything', async () => {
    const bad = `${manifests}---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n data: [\n`;
    const r = await cli.run(['apply', '-f', '-'], { stdin: bad });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: error parsing STDIN: document 3: line 2[0-9]: .+\n$/);
    expect(server.all(configMapKind)).toHaveLength(0);
    const noKind = await cli.run(['apply', '-f', '-'], {
      stdin: 'apiVersion: v1\nmetadata:\n  name: x\n',
    });
    expect(noKind.stderr).toBe(
      'error: error validating STDIN: document 1 (line 1): kind not set\n',
    );
    const unknown = await cli.run(['apply', '-f', '-'], {
      stdin: 'apiVersion: v9\nkind: Widget\nmetadata:\n  name: x\n',
    });
    expect(unknown.stderr).toBe(
      'error: unable to recognize "STDIN": no matches for kind "Widget" in version "v9"\n',
    );
  });

  it('gets in every output format', async () => {
    await cli.run(['apply', '-f', '-'], { stdin: manifests });
    cli.now = new Date(Date.now() + 5 * 60_000);
    const table = await cli.run(['get', 'configmaps']);
    expect(table.stdout).toMatch(/^NAME {7}DATA {3}AGE\nsettings {3}2 {6}5m\d*s?\n$/);
    const wide = await cli.run(['get', 'cm', '-o', 'wide', '--show-labels']);
    expect(wide.stdout.split('\n')[0]).toBe('NAME       DATA   AGE   LABELS');
    expect(wide.stdout).toContain('app=web');
    const multi = await cli.run(['get', 'cm,secrets']);
    expect(multi.stdout).toMatch(
      /^NAME {17}DATA {3}AGE\nconfigmap\/settings {3}2 .*\n\nNAME {11}TYPE {5}DATA {3}AGE\nsecret\/creds {3}Opaque {3}1 .*\n$/,
    );

    const json = await cli.run(['get', 'cm', 'settings', '-o', 'json']);
    expect(JSON.parse(json.stdout)).toMatchObject({
      kind: 'ConfigMap',
      metadata: { name: 'settings' },
    });
    const list = await cli.run(['get', 'configmap', '-o', 'json']);
    expect(JSON.parse(list.stdout)).toMatchObject({
      apiVersion: 'v1',
      kind: 'List',
      items: [{ kind: 'ConfigMap' }],
    });
    const yaml = await cli.run(['get', 'secret/creds', '-oyaml']);
    expect(parse(yaml.stdout)).toMatchObject({
      kind: 'Secret',
      data: { password: Buffer.from('s3cr3t!!').toString('base64') },
    });
    const yamlList = await cli.run(['get', 'cm,secret', '-o', 'yaml']);
    expect(parse(yamlList.stdout)).toMatchObject({
      kind: 'List',
      items: [{ kind: 'ConfigMap' }, { kind: 'Secret' }],
    });
    const names = await cli.run(['get', 'cm,secrets', '-o', 'name']);
    expect(names.stdout).toBe('configmap/settings\nsecret/creds\n');

    const none = await cli.run(['get', 'pods']);
    expect(none).toEqual({
      code: 0,
      stdout: '',
      stderr: 'No resources found in demo namespace.\n',
    });
    const all = await cli.run(['get', 'cm', '-A']);
    expect(all.stdout.split('\n')[0]).toBe('NAMESPACE   NAME       DATA   AGE');
    expect((await cli.run(['get', 'projects'])).stdout).toBe(
      'NAME   DISPLAY NAME   STATUS\ndemo                  Active\n',
    );

    const missing = await cli.run(['get', 'cm', 'settings', 'nope']);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toContain('settings');
    expect(missing.stderr).toBe('Error from server (NotFound): configmaps "nope" not found\n');
    expect((await cli.run(['get', 'widgets'])).stderr).toBe(
      'error: the server doesn\'t have a resource type "widgets"\n',
    );
    expect((await cli.run(['get', 'cm', '-o', 'table'])).stderr).toBe(
      'error: unable to match a printer suitable for the output format "table", allowed formats are: json,name,wide,yaml\n',
    );
  });

  it('selects with labels and fields and uses -n over the current project', async () => {
    await cli.run(['apply', '-f', '-'], { stdin: manifests });
    await cli.run(['new-project', 'other']);
    expect((await cli.run(['get', 'cm', '-o', 'name'])).stdout).toBe('');
    expect((await cli.run(['get', 'cm', '-n', 'demo', '-o', 'name', '-l', 'app=web'])).stdout).toBe(
      'configmap/settings\n',
    );
    expect(
      (await cli.run(['get', 'cm', '-n', 'demo', '-o', 'name', '-l', 'app!=web'])).stdout,
    ).toBe('');
    expect(
      (
        await cli.run([
          'get',
          'cm',
          '-n',
          'demo',
          '-o',
          'name',
          '--field-selector',
          'metadata.name=settings',
        ])
      ).stdout,
    ).toBe('configmap/settings\n');
    const request = server.requests.filter((r) => r.query.get('fieldSelector')).at(-1);
    expect(request?.path).toBe('/api/v1/namespaces/demo/configmaps');
  });

  it('describes with events, and secrets only by size', async () => {
    await cli.run(['apply', '-f', '-'], { stdin: manifests });
    const secret = server.get(secretKind, 'demo', 'creds')!;
    server.seed({
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: 'creds.1', namespace: 'demo' },
      involvedObject: {
        apiVersion: 'v1',
        kind: 'Secret',
        name: 'creds',
        namespace: 'demo',
        uid: secret.metadata.uid,
      },
      reason: 'Rotated',
      message: 'password rotated',
      type: 'Normal',
      count: 3,
      firstTimestamp: '2026-03-01T11:50:00Z',
      lastTimestamp: '2026-03-01T11:59:00Z',
      source: { component: 'secret-controller' },
    });
    const r = await cli.run(['describe', 'secret', 'creds']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      'Name:         creds\nNamespace:    demo\nLabels:       app=web\nAnnotations:  <none>\nCreated:',
    );
    expect(r.stdout).toContain('Type:  Opaque');
    expect(r.stdout).toContain('password:  8 bytes');
    expect(r.stdout).not.toContain('s3cr3t');
    expect(r.stdout).not.toContain(Buffer.from('s3cr3t!!').toString('base64'));
    expect(r.stdout).toContain(
      'Events:\n  Type    Reason   Age                From               Message\n' +
        '  ----    ------   ----               ----               -------\n' +
        '  Normal  Rotated  60s (x3 over 10m)  secret-controller  password rotated\n',
    );
    const q = server.requests.filter((x) => x.path === '/api/v1/namespaces/demo/events').at(-1);
    expect(q?.query.get('fieldSelector')).toBe(
      'involvedObject.name=creds,involvedObject.kind=Secret,involvedObject.namespace=demo',
    );

    const cm = await cli.run(['describe', 'cm/settings']);
    expect(cm.stdout).toContain('Data\n====\ncolor:\n----\nblue\n');
    expect(cm.stdout).toContain('Events:  <none>');
    expect((await cli.run(['describe', 'cm', 'nope'])).stderr).toBe(
      'Error from server (NotFound): configmaps "nope" not found\n',
    );
  });

  it('labels and annotates, refusing to overwrite without --overwrite', async () => {
    await cli.run(['apply', '-f', '-'], { stdin: manifests });
    expect((await cli.run(['label', 'cm', 'settings', 'tier=fe'])).stdout).toBe(
      'configmap/settings labeled\n',
    );
    const refused = await cli.run(['label', 'cm/settings', 'app=api']);
    expect(refused).toEqual({
      code: 1,
      stdout: '',
      stderr: "error: 'app' already has a value (web), and --overwrite is false\n",
    });
    expect((await cli.run(['label', 'cm/settings', 'app=api', '--overwrite'])).stdout).toBe(
      'configmap/settings labeled\n',
    );
    expect((await cli.run(['label', 'cm', 'settings', 'tier-'])).stdout).toBe(
      'configmap/settings unlabeled\n',
    );
    expect(server.get(configMapKind, 'demo', 'settings')!.metadata.labels).toEqual({ app: 'api' });
    expect((await cli.run(['annotate', 'secret', 'creds', 'owner=team-a'])).stdout).toBe(
      'secret/creds annotated\n',
    );
    expect(server.get(secretKind, 'demo', 'creds')!.metadata.annotations?.owner).toBe('team-a');
    expect((await cli.run(['label', 'cm', '-l', 'app=api', 'x=1'])).stdout).toBe(
      'configmap/settings labeled\n',
    );
    expect((await cli.run(['label', 'cm', 'settings'])).stderr).toBe(
      'error: at least one label update is required\n',
    );
  });

  it('deletes by name, label, file and --all', async () => {
    await cli.run(['apply', '-f', '-'], { stdin: manifests });
    await cli.run(['create', '-f', '-'], {
      stdin: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: other\n',
    });
    expect((await cli.run(['delete', 'cm,secret', '-l', 'app=web'])).stdout).toBe(
      'configmap "settings" deleted\nsecret "creds" deleted\n',
    );
    expect((await cli.run(['delete', 'cm', 'nope'])).stderr).toBe(
      'Error from server (NotFound): configmaps "nope" not found\n',
    );
    expect((await cli.run(['delete', 'cm', 'nope', '--ignore-not-found'])).code).toBe(0);
    expect((await cli.run(['delete', 'cm'])).stderr).toBe(
      'error: resource(s) were provided, but no name was specified; use NAME, -l SELECTOR or --all\n',
    );
    expect((await cli.run(['delete', 'cm', '--all'])).stdout).toBe('configmap "other" deleted\n');
    expect((await cli.run(['delete', 'cm', '--all'])).stderr).toBe('No resources found\n');
    await cli.run(['apply', '-f', '-'], { stdin: manifests });
    expect((await cli.run(['delete', '-f', '-'], { stdin: manifests })).stdout).toBe(
      'configmap "settings" deleted\nsecret "creds" deleted\n',
    );
  });

  it('watches until interrupted', async () => {
    await cli.run(['apply', '-f', '-'], { stdin: manifests });
    const controller = new AbortController();
    const running = cli.run(['get', 'cm', '-w'], { signal: controller.signal });
    await new Promise((r) => setTimeout(r, 100));
    await cli.run(['label', 'cm', 'settings', 'a=b']);
    await cli.run(['delete', 'cm', 'settings']);
    await new Promise((r) => setTimeout(r, 100));
    controller.abort();
    const r = await running;
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAME {7}DATA {3}AGE$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/)[0])).toEqual([
      'settings',
      'settings',
      'settings',
    ]);
  });
});

describe('errors and help', () => {
  it('prints one line for unknown commands and options', async () => {
    const r = await cli.run(['frobnicate']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("error: unknown command 'frobnicate'\n");
    const o = await cli.run(['get', 'pods', '--bogus']);
    expect(o.code).toBe(1);
    expect(o.stderr).toBe("error: unknown option '--bogus'\n");
  });

  it('prints help and version to stdout', async () => {
    const help = await cli.run(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: slipway');
    for (const cmd of [
      'login',
      'get',
      'describe',
      'apply',
      'delete',
      'label',
      'annotate',
      'new-project',
    ]) {
      expect(help.stdout).toContain(cmd);
    }
    const version = await cli.run(['version']);
    expect(version.stdout).toMatch(/^Client Version: \d+\.\d+\.\d+\n$/);
  });

  it('shows the server version when logged in', async () => {
    await login();
    expect((await cli.run(['version'])).stdout).toMatch(
      /^Client Version: .+\nServer Version: v0\.0\.0-fake\n$/,
    );
  });
});
