// The built `slipway` CLI as a subprocess against a real master started in this process.
import { once } from 'node:events';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  configMapKind,
  eventKind,
  podKind,
  secretKind,
  type ApiObject,
  type Event,
} from '../../src/api/index.js';
import { ApiClient, EventRecorder } from '../../src/client/index.js';
import { silentLogger } from '../../src/util/logger.js';
import { startCliTestMaster, type CliTestMaster } from './support/master.js';
import { cliSession } from './support/session.js';
import { assertBuilt, collect, startSlipway } from './support/slipway.js';
import { CONFIGMAP_AND_SECRET_YAML } from '../../src/cli/testing/manifests.js';

let master: CliTestMaster;
let admin: ApiClient;

/** ok: exit 0 and nothing on stderr; fails: a non-zero exit with exactly one line on stderr. */
const cli = cliSession({ name: 'cli-test', oneLineErrors: true });
const { run, ok, fails } = cli;

const app = CONFIGMAP_AND_SECRET_YAML;

const pod = `apiVersion: v1
kind: Pod
metadata:
  name: web-1
  labels:
    app: web
spec:
  containers:
    - name: web
      image: registry.local/web:1
      ports:
        - containerPort: 8080
`;

beforeAll(async () => {
  assertBuilt();
  master = await startCliTestMaster();
  admin = new ApiClient({ server: master.url, token: master.adminToken });
});

afterAll(async () => {
  await master?.close();
});

beforeEach(async () => {
  await cli.open();
});

afterEach(async () => {
  await cli.close();
});

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Logs in and creates (and switches to) a fresh project. */
async function loginWithProject(project: string): Promise<void> {
  await cli.login(master.url, master.adminToken, project);
}

describe('login and whoami', () => {
  it('logs in with a token, saves a private config and answers whoami', async () => {
    const out = await ok(['login', master.url, '--token', master.adminToken]);
    expect(out.split('\n')[0]).toBe(
      `Logged into "${master.url}" as "admin" using the token provided.`,
    );
    expect((await stat(cli.env.SLIPWAY_CONFIG!)).mode & 0o777).toBe(0o600);
    const config = parse(await readFile(cli.env.SLIPWAY_CONFIG!, 'utf8')) as Record<string, string>;
    expect(config).toMatchObject({ server: master.url, token: master.adminToken, user: 'admin' });

    expect(await ok(['whoami'])).toBe('admin\n');
    expect(await ok(['whoami', '--show-server'])).toBe(`${master.url}\n`);
    expect(await ok(['whoami', '--show-token'])).toBe(`${master.adminToken}\n`);
    expect(await ok(['logout'])).toBe(`Logged "admin" out on "${master.url}"\n`);
    expect(await fails(['whoami'])).toBe(
      'error: not logged in; run "slipway login SERVER --token TOKEN" or "slipway up"',
    );
  });

  it('refuses missing and wrong tokens without echoing them', async () => {
    expect(await fails(['login', master.url])).toBe(
      `error: a token is required to log in: slipway login ${master.url} --token TOKEN`,
    );
    const line = await fails(['login', master.url, '--token', 'not-a-valid-token-at-all']);
    expect(line).toContain('Unauthorized');
    expect(line).not.toContain('not-a-valid-token-at-all');
  });

  it('names the server when it cannot be reached', async () => {
    await ok(['login', master.url, '--token', master.adminToken]);
    const down = `http://127.0.0.1:${await closedPort()}`;
    expect(await fails(['login', down, '--token', 'x'])).toBe(
      `error: cannot reach the Slipway API at ${down}: connection refused`,
    );
  });
});

describe('projects', () => {
  it('creates, shows, lists and switches projects', async () => {
    await ok(['login', master.url, '--token', master.adminToken]);
    expect(
      await ok([
        'new-project',
        'cli-proj-a',
        '--display-name',
        'Project A',
        '--description',
        'first',
      ]),
    ).toBe(`Now using project "cli-proj-a" on server "${master.url}".\n`);
    expect(await ok(['new-project', 'cli-proj-b'])).toBe(
      `Now using project "cli-proj-b" on server "${master.url}".\n`,
    );
    expect(await ok(['project'])).toBe(`Using project "cli-proj-b" on server "${master.url}".\n`);
    expect(await ok(['project', 'cli-proj-a'])).toBe(
      `Now using project "cli-proj-a" on server "${master.url}".\n`,
    );
    const list = await ok(['projects']);
    expect(list).toContain('  * cli-proj-a - Project A\n');
    expect(list).toContain('    cli-proj-b\n');
    expect(list).toContain(`Using project "cli-proj-a" on server "${master.url}".`);
    expect(await fails(['project', 'cli-no-such-project'])).toBe(
      `error: A project named "cli-no-such-project" does not exist on "${master.url}".`,
    );
    const describeOut = await ok(['describe', 'project', 'cli-proj-a']);
    expect(describeOut).toMatch(/Display Name: +Project A/);
    expect(describeOut).toMatch(/Description: +first/);
  });
});

describe('apply and get', () => {
  it('applies a multi-document YAML from a file and from stdin', async () => {
    await loginWithProject('cli-apply');
    const file = join(cli.dir, 'app.yaml');
    await writeFile(file, app);
    expect(await ok(['apply', '-f', file])).toBe(
      'configmap/settings created\nsecret/creds created\n',
    );
    expect(await ok(['apply', '-f', '-'], app)).toBe(
      'configmap/settings unchanged\nsecret/creds unchanged\n',
    );
    expect(await ok(['apply', '-f', '-'], app.replace('color: blue', 'color: green'))).toBe(
      'configmap/settings configured\nsecret/creds unchanged\n',
    );
    const cm = await admin.get(configMapKind, 'settings', { namespace: 'cli-apply' });
    expect(cm.data).toEqual({ color: 'green', size: 'large' });
    expect(cm.metadata.annotations?.['kubectl.kubernetes.io/last-applied-configuration']).toContain(
      '"color":"green"',
    );
    const secret = await admin.get(secretKind, 'creds', { namespace: 'cli-apply' });
    expect(secret.data).toEqual({ password: Buffer.from('s3cr3t!!').toString('base64') });

    const again = await run(['create', '-f', file]);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe(
      `Error from server (AlreadyExists): error when creating "${file}": configmaps "settings" already exists\n` +
        `Error from server (AlreadyExists): error when creating "${file}": secrets "creds" already exists\n`,
    );
  });

  it('reports parse errors with the document and line, and writes nothing', async () => {
    await loginWithProject('cli-parse');
    const bad = `${app}---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: broken\n data: [\n`;
    const line = await fails(['apply', '-f', '-'], bad);
    expect(line).toMatch(/^error: error parsing STDIN: document 3: line \d+: /);
    expect((await admin.list(configMapKind, { namespace: 'cli-parse' })).items).toEqual([]);
  });

  it('gets in every output format', async () => {
    await loginWithProject('cli-get');
    await ok(['apply', '-f', '-'], `${app}---\n${pod}`);

    const table = await ok(['get', 'pods']);
    expect(table).toMatch(
      /^NAME {4}READY {3}STATUS {4}RESTARTS {3}AGE\nweb-1 {3}0\/1 {5}\S+ +0 {10}\d+s\n$/,
    );
    const wide = await ok(['get', 'po', '-o', 'wide']);
    expect(wide.split('\n')[0]).toMatch(/^NAME {4}READY {3}STATUS +RESTARTS {3}AGE {3}IP {7}NODE$/);
    const labels = await ok(['get', 'cm', '--show-labels']);
    expect(labels).toMatch(/^NAME {7}DATA {3}AGE {3}LABELS\nsettings {3}2 {6}\d+s +app=web\n$/);
    const several = await ok(['get', 'cm,secret']);
    expect(several).toMatch(
      /^NAME +DATA +AGE\nconfigmap\/settings .*\n\nNAME +TYPE +DATA +AGE\nsecret\/creds +Opaque +1 .*\n$/,
    );
    const all = await ok(['get', 'configmaps', '-A']);
    expect(all).toMatch(/^NAMESPACE +NAME +DATA +AGE\n/);
    expect(all).toMatch(/\ncli-get +settings +2 /);

    const json = JSON.parse(await ok(['get', 'cm', 'settings', '-o', 'json'])) as ApiObject;
    expect(json).toMatchObject({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'settings', namespace: 'cli-get' },
    });
    const jsonList = JSON.parse(await ok(['get', 'cm', '-o', 'json'])) as {
      kind: string;
      items: ApiObject[];
    };
    expect(jsonList.kind).toBe('List');
    expect(jsonList.items.map((i) => i.metadata.name)).toEqual(['settings']);
    const yaml = parse(await ok(['get', 'pod/web-1', '-o', 'yaml'])) as ApiObject;
    expect(yaml).toMatchObject({
      kind: 'Pod',
      metadata: { name: 'web-1' },
      spec: { containers: [{ image: 'registry.local/web:1' }] },
    });
    const yamlList = parse(await ok(['get', 'cm,secrets', '-o', 'yaml'])) as {
      kind: string;
      items: ApiObject[];
    };
    expect(yamlList.items.map((i) => i.kind)).toEqual(['ConfigMap', 'Secret']);
    expect(await ok(['get', 'pods,cm,secrets', '-o', 'name'])).toBe(
      'pod/web-1\nconfigmap/settings\nsecret/creds\n',
    );
    expect(await ok(['get', 'cm', '-l', 'app=web', '-o', 'name'])).toBe('configmap/settings\n');
    expect(await ok(['get', 'cm', '-l', 'app=db', '-o', 'name'])).toBe('');
    expect(
      await ok(['get', 'cm', '--field-selector', 'metadata.name=settings', '-o', 'name']),
    ).toBe('configmap/settings\n');

    const empty = await run(['get', 'events']);
    expect(empty).toEqual({
      code: 0,
      stdout: '',
      stderr: 'No resources found in cli-get namespace.\n',
    });
    expect(await fails(['get', 'widgets'])).toBe(
      'error: the server doesn\'t have a resource type "widgets"',
    );
    expect(await fails(['get', 'pods', 'nope'])).toBe(
      'Error from server (NotFound): pods "nope" not found',
    );
    expect(await fails(['get', 'pods', '-n', 'cli-get', '-o', 'xml'])).toBe(
      'error: unable to match a printer suitable for the output format "xml", allowed formats are: json,name,wide,yaml',
    );
  });

  it('watches and prints changes until interrupted', async () => {
    await loginWithProject('cli-watch');
    await ok(['apply', '-f', '-'], app);
    const child = startSlipway(['get', 'configmaps', '-w'], { env: cli.env });
    const result = collect(child, { timeoutMs: 20_000 });
    let seen = '';
    child.stdout?.on('data', (d: Buffer | string) => (seen += d.toString()));
    const waitFor = async (pattern: RegExp): Promise<void> => {
      const deadline = Date.now() + 10_000;
      while (!pattern.test(seen)) {
        if (Date.now() > deadline) throw new Error(`no ${String(pattern)} in: ${seen}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    await waitFor(/settings/);
    await admin.create(
      configMapKind,
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'later' }, data: { a: '1' } },
      { namespace: 'cli-watch' },
    );
    await waitFor(/later/);
    child.kill('SIGINT');
    const r = await result;
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAME +DATA +AGE$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/)[0])).toEqual(['settings', 'later']);
  });
});

describe('describe', () => {
  it('shows metadata, secret sizes only, and the events of the object', async () => {
    await loginWithProject('cli-describe');
    await ok(['apply', '-f', '-'], `${app}---\n${pod}`);
    const live = await admin.get(podKind, 'web-1', { namespace: 'cli-describe' });
    const recorder = new EventRecorder({
      client: admin,
      component: 'cli-test',
      logger: silentLogger(),
    });
    recorder.event(live, 'Warning', 'BackOff', 'Back-off pulling image "registry.local/web:1"');
    recorder.event(live, 'Warning', 'BackOff', 'Back-off pulling image "registry.local/web:1"');
    recorder.event(live, 'Normal', 'Scheduled', 'Successfully assigned cli-describe/web-1');
    await recorder.flush();
    const events = await admin.list<Event>(eventKind, { namespace: 'cli-describe' });
    expect(events.items.map((e) => [e.reason, e.count])).toEqual([
      ['BackOff', 2],
      ['Scheduled', 1],
    ]);

    const out = await ok(['describe', 'pod', 'web-1']);
    expect(out).toMatch(
      /^Name: +web-1\nNamespace: +cli-describe\nLabels: +app=web\nAnnotations: +openshift\.io\/scc=restricted\nCreated: +.+\n/,
    );
    expect(out).toMatch(/Containers:\n {2}web:\n {4}Image: +registry.local\/web:1\n/);
    expect(out).toMatch(
      /\nEvents:\n {2}Type +Reason +Age +From +Message\n {2}---- +------ +---- +---- +-------\n/,
    );
    expect(out).toMatch(
      / {2}Warning +BackOff +\d+s \(x2 over \d+s\) +cli-test +Back-off pulling image "registry.local\/web:1"\n/,
    );
    expect(out).toMatch(
      / {2}Normal +Scheduled +\d+s +cli-test +Successfully assigned cli-describe\/web-1\n/,
    );

    const secret = await ok(['describe', 'secrets', 'creds']);
    expect(secret).toMatch(/password: +8 bytes/);
    expect(secret).not.toContain('s3cr3t');
    expect(secret).not.toContain(Buffer.from('s3cr3t!!').toString('base64'));
    expect(secret).toContain('Events:  <none>');
    expect(await ok(['describe', 'cm/settings'])).toMatch(/Data\n====\ncolor:\n----\nblue\n/);
    expect(await fails(['describe', 'pod', 'nope'])).toBe(
      'Error from server (NotFound): pods "nope" not found',
    );
  });
});

describe('label, annotate and delete', () => {
  it('labels and annotates, refusing to overwrite without --overwrite', async () => {
    await loginWithProject('cli-label');
    await ok(['apply', '-f', '-'], `${app}---\n${pod}`);
    expect(await ok(['label', 'pod', 'web-1', 'tier=frontend'])).toBe('pod/web-1 labeled\n');
    expect(await fails(['label', 'pod', 'web-1', 'app=api'])).toBe(
      "error: 'app' already has a value (web), and --overwrite is false",
    );
    expect(await ok(['label', 'pod/web-1', 'app=api', '--overwrite'])).toBe('pod/web-1 labeled\n');
    expect(await ok(['label', 'pod', 'web-1', 'tier-'])).toBe('pod/web-1 unlabeled\n');
    expect((await admin.get(podKind, 'web-1', { namespace: 'cli-label' })).metadata.labels).toEqual(
      { app: 'api' },
    );
    expect(await ok(['annotate', 'cm', 'settings', 'owner=team-a'])).toBe(
      'configmap/settings annotated\n',
    );
    expect(await fails(['annotate', 'cm', 'settings', 'owner=team-b'])).toBe(
      "error: 'owner' already has a value (team-a), and --overwrite is false",
    );
    expect(await ok(['annotate', 'cm', 'settings', 'owner=team-b', '--overwrite'])).toBe(
      'configmap/settings annotated\n',
    );
    const cm = await admin.get(configMapKind, 'settings', { namespace: 'cli-label' });
    expect(cm.metadata.annotations?.owner).toBe('team-b');
    expect(await ok(['get', 'pods', '--show-labels'])).toMatch(/app=api\n$/);
  });

  it('deletes by label, by name and from a file', async () => {
    await loginWithProject('cli-delete');
    await ok(['apply', '-f', '-'], `${app}---\n${pod}`);
    await ok(
      ['create', '-f', '-'],
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: keep\n  labels:\n    app: other\n',
    );
    expect(await ok(['delete', 'cm,secrets', '-l', 'app=web'])).toBe(
      'configmap "settings" deleted\nsecret "creds" deleted\n',
    );
    expect(await ok(['get', 'cm', '-o', 'name'])).toBe('configmap/keep\n');
    expect(await fails(['delete', 'cm', 'settings'])).toBe(
      'Error from server (NotFound): configmaps "settings" not found',
    );
    expect(await ok(['delete', 'cm', 'settings', '--ignore-not-found'])).toBe('');
    expect(await ok(['delete', '-f', '-'], pod)).toBe('pod "web-1" deleted\n');
    const gone = await run(['delete', 'secrets', '-l', 'app=web']);
    expect(gone).toEqual({ code: 0, stdout: '', stderr: 'No resources found\n' });
  });
});

describe('version and errors', () => {
  it('prints client and server versions', async () => {
    expect(await ok(['version'])).toMatch(/^Client Version: \d+\.\d+\.\d+\n$/);
    await ok(['login', master.url, '--token', master.adminToken]);
    expect(await ok(['version'])).toMatch(
      /^Client Version: \d+\.\d+\.\d+\nServer Version: v\d+\.\d+\.\d+\n$/,
    );
  });

  it('gives one clear line and a non-zero exit for usage mistakes', async () => {
    expect(await fails(['get', 'pods'])).toBe(
      'error: not logged in; run "slipway login SERVER --token TOKEN" or "slipway up"',
    );
    expect(await fails(['frobnicate'])).toBe("error: unknown command 'frobnicate'");
    await ok(['login', master.url, '--token', master.adminToken]);
    expect(await fails(['get'])).toBe(
      'error: you must specify the type of resource to get; "slipway api-resources" lists the types',
    );
    expect(await fails(['apply'])).toBe(
      'error: must specify -f FILENAME (a file, a directory, or - for standard input)',
    );
    expect(await fails(['apply', '-f', join(cli.dir, 'missing.yaml')])).toBe(
      `error: the path "${join(cli.dir, 'missing.yaml')}" does not exist`,
    );
    expect(await fails(['delete', 'pods'])).toBe(
      'error: resource(s) were provided, but no name was specified; use NAME, -l SELECTOR or --all',
    );
  });
});
