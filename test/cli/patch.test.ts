// `slipway patch`: the built CLI as a subprocess against a real master, with each patch type.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configMapKind, type ApiObject } from '../../src/api/index.js';
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
