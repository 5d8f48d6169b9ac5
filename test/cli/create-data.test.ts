// `create configmap` and `create secret generic|tls|docker-registry` with the built CLI against a
// real master: what they store, what --dry-run prints, and the refusals (no secret value shown).
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { configMapKind, projectRequestKind, secretKind } from '../../src/api/kinds/index.js';
import type { ConfigMap } from '../../src/api/kinds/config-map.js';
import type { Secret } from '../../src/api/kinds/secret.js';
import { ApiClient } from '../../src/client/index.js';
import { selfSigned } from '../support/pki.js';
import { startCliTestMaster, type CliTestMaster } from './support/master.js';
import { cliSession } from './support/session.js';
import { assertBuilt } from './support/slipway.js';

const NS = 'data-cli';
let master: CliTestMaster;
let admin: ApiClient;
const cli = cliSession({ name: 'cli-create-data', oneLineErrors: true, quietFailures: true });
const { ok, fails } = cli;

beforeAll(async () => {
  assertBuilt();
  master = await startCliTestMaster();
  admin = new ApiClient({ server: master.url, token: master.adminToken });
  await cli.open();
  await cli.login(master.url, master.adminToken, NS);
});

afterAll(async () => {
  await cli.close();
  await master?.close();
});

const decoded = (secret: Secret, key: string): string =>
  Buffer.from(secret.data?.[key] ?? '', 'base64').toString('utf8');

describe('create configmap', () => {
  it('stores literals, files, a directory and an env file; binary files as binaryData', async () => {
    const dir = join(cli.dir, 'cm');
    await mkdir(join(dir, 'conf'), { recursive: true });
    await writeFile(join(dir, 'conf', 'nginx.conf'), 'server {}\n');
    await writeFile(join(dir, 'conf', 'mime.types'), 'types {}\n');
    await writeFile(join(dir, 'favicon.ico'), Buffer.from([0, 1, 2, 255]));
    await writeFile(join(dir, 'app.env'), 'MODE=prod\n# comment\nREPLICAS=2\n');
    expect(
      await ok([
        'create',
        'configmap',
        'web-config',
        '--from-literal',
        'greeting=hello',
        '--from-file',
        join(dir, 'conf'),
        '--from-file',
        `icon=${join(dir, 'favicon.ico')}`,
        '--from-env-file',
        join(dir, 'app.env'),
      ]),
    ).toBe('configmap/web-config created\n');
    const cm = await admin.get<ConfigMap>(configMapKind, 'web-config', { namespace: NS });
    expect(cm.data).toEqual({
      greeting: 'hello',
      'mime.types': 'types {}\n',
      'nginx.conf': 'server {}\n',
      MODE: 'prod',
      REPLICAS: '2',
    });
    expect(cm.binaryData).toEqual({ icon: Buffer.from([0, 1, 2, 255]).toString('base64') });
    expect(await ok(['get', 'cm', 'web-config', '--no-headers'])).toMatch(/^web-config +6 +/);
  });

  it('creates in the project -n names, wherever -n stands', async () => {
    await admin.create(projectRequestKind, {
      apiVersion: 'project.openshift.io/v1',
      kind: 'ProjectRequest',
      metadata: { name: 'other' },
    });
    expect(
      await ok(['create', 'configmap', 'elsewhere', '-n', 'other', '--from-literal', 'a=b']),
    ).toBe('configmap/elsewhere created\n');
    expect(
      await ok(['create', 'secret', 'generic', 'hidden', '--from-literal', 'a=b', '-n', 'other']),
    ).toBe('secret/hidden created\n');
    expect(
      (await admin.get<ConfigMap>(configMapKind, 'elsewhere', { namespace: 'other' })).data,
    ).toEqual({ a: 'b' });
    await admin.get<Secret>(secretKind, 'hidden', { namespace: 'other' });
    await expect(admin.get(configMapKind, 'elsewhere', { namespace: NS })).rejects.toThrow(
      /not found/,
    );
  });

  it('prints the object with --dry-run -o yaml and creates nothing', async () => {
    const out = await ok([
      'create',
      'cm',
      'preview',
      '--from-literal',
      'a=1',
      '--dry-run',
      '-o',
      'yaml',
    ]);
    expect(parse(out)).toMatchObject({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'preview', namespace: NS },
      data: { a: '1' },
    });
    await expect(admin.get(configMapKind, 'preview', { namespace: NS })).rejects.toMatchObject({
      code: 404,
    });
  });
});

describe('wait --for=delete', () => {
  it('returns once the object is gone, and names what is still there on timeout', async () => {
    await ok(['create', 'cm', 'gone', '--from-literal', 'a=1']);
    await ok(['create', 'cm', 'stays', '--from-literal', 'a=1']);
    const deleting = new Promise((resolve) => setTimeout(resolve, 300)).then(() =>
      admin.delete(configMapKind, 'gone', { namespace: NS }),
    );
    expect(await ok(['wait', '--for=delete', 'cm/gone', '--timeout=20s'])).toBe(
      'configmap/gone deleted\n',
    );
    await deleting;
    expect(await fails(['wait', '--for=delete', 'cm/stays', '--timeout=500ms'])).toBe(
      'error: timed out waiting for the condition on configmap/stays',
    );
  });
});

describe('create secret', () => {
  it('makes generic (with a type), tls and docker-registry secrets as kubectl does', async () => {
    await writeFile(join(cli.dir, 'id_ed25519'), 'PRIVATE KEY BYTES\n');
    await ok([
      'create',
      'secret',
      'generic',
      'repo-creds',
      '--from-literal=username=dev',
      '--from-literal=password=s3cret',
      '--type=kubernetes.io/basic-auth',
    ]);
    const basic = await admin.get<Secret>(secretKind, 'repo-creds', { namespace: NS });
    expect(basic.type).toBe('kubernetes.io/basic-auth');
    expect(decoded(basic, 'password')).toBe('s3cret');

    await ok([
      'create',
      'secret',
      'generic',
      'repo-ssh',
      `--from-file=ssh-privatekey=${join(cli.dir, 'id_ed25519')}`,
      '--type=kubernetes.io/ssh-auth',
    ]);
    const ssh = await admin.get<Secret>(secretKind, 'repo-ssh', { namespace: NS });
    expect(decoded(ssh, 'ssh-privatekey')).toBe('PRIVATE KEY BYTES\n');

    const pem = await selfSigned(cli.dir, 'app.example.com');
    expect(
      await ok([
        'create',
        'secret',
        'tls',
        'app-tls',
        '--cert',
        pem.certFile,
        '--key',
        pem.keyFile,
      ]),
    ).toBe('secret/app-tls created\n');
    const tls = await admin.get<Secret>(secretKind, 'app-tls', { namespace: NS });
    expect(tls.type).toBe('kubernetes.io/tls');
    expect(decoded(tls, 'tls.crt')).toBe(pem.cert);
    expect(decoded(tls, 'tls.key')).toBe(pem.key);

    await ok([
      'create',
      'secret',
      'docker-registry',
      'pull',
      '--docker-server',
      'quay.io',
      '--docker-username',
      'robot',
      '--docker-password',
      'tok3n',
    ]);
    const pull = await admin.get<Secret>(secretKind, 'pull', { namespace: NS });
    expect(pull.type).toBe('kubernetes.io/dockerconfigjson');
    expect(JSON.parse(decoded(pull, '.dockerconfigjson'))).toEqual({
      auths: {
        'quay.io': {
          username: 'robot',
          password: 'tok3n',
          auth: Buffer.from('robot:tok3n').toString('base64'),
        },
      },
    });
    expect(await ok(['get', 'secrets', '--no-headers'])).toMatch(
      /^app-tls +kubernetes\.io\/tls +2 +/m,
    );
  });

  it('refuses what kubectl refuses, names the flag, shows no value and creates nothing', async () => {
    expect(
      await fails([
        'create',
        'secret',
        'generic',
        'dup',
        '--from-literal=k=s3cret',
        '--from-literal=k=x',
      ]),
    ).toBe('error: --from-literal: the key "k" is given more than once');
    expect(
      await fails(['create', 'secret', 'generic', 'bad', '--from-literal=bad key=s3cret']),
    ).toBe(
      `error: --from-literal: "bad key" is not a valid key: alphanumeric characters, '-', '_' or '.'`,
    );
    expect(
      await fails([
        'create',
        'secret',
        'tls',
        'half',
        '--cert',
        join(cli.dir, 'none.crt'),
        '--key',
        'x',
      ]),
    ).toBe(`error: --cert ${join(cli.dir, 'none.crt')}: ENOENT`);
    // The server's own checks: a tls secret needs its two keys.
    expect(
      await fails([
        'create',
        'secret',
        'generic',
        'odd',
        '--from-literal=a=1',
        '--type=kubernetes.io/tls',
      ]),
    ).toMatch(
      /^Error from server \(Invalid\): Secret "odd" is invalid: data\[tls\.crt\]: Required value/,
    );
    expect(await fails(['create', 'cm', 'Bad_Name', '--from-literal=a=1'])).toMatch(
      /^Error from server \(Invalid\): ConfigMap "Bad_Name" is invalid: metadata\.name: /,
    );
    for (const name of ['dup', 'bad', 'half', 'odd']) {
      await expect(admin.get(secretKind, name, { namespace: NS })).rejects.toMatchObject({
        code: 404,
      });
    }
  });
});
