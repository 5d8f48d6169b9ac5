// `adm cordon`, `uncordon`, `drain` and `describe node` through the built CLI, on simulated
// nodes (Node objects registered with the join token) with pods bound to them.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isApiError, nodeKind, podKind, type Node, type Pod } from '../../src/api/index.js';
import { ApiClient } from '../../src/client/index.js';
import { startTestMaster, type TestMaster } from '../api/helpers.js';
import { assertBuilt, slipway, type Result } from '../cli/support/slipway.js';
import { podSpec, SimulatedNode } from '../controllers/support.js';

const NS = 'nodes-demo';

let t: TestMaster;
let admin: ApiClient;
let joinClient: ApiClient;
let home: string;
let n2: SimulatedNode;

function cli(args: string[]): Promise<Result> {
  return slipway(args, { env: { HOME: home, SLIPWAY_CONFIG: join(home, 'config') } });
}

async function ok(args: string[]): Promise<string> {
  const r = await cli(args);
  expect(r.stderr, `slipway ${args.join(' ')}`).toBe('');
  expect(r.code, `slipway ${args.join(' ')}`).toBe(0);
  return r.stdout;
}

async function exists(name: string): Promise<boolean> {
  try {
    await admin.get(podKind, name, { namespace: NS });
    return true;
  } catch (err) {
    if (isApiError(err, 'NotFound')) return false;
    throw err;
  }
}

async function unschedulable(name: string): Promise<boolean | undefined> {
  return (await admin.get<Node>(nodeKind, name)).spec?.unschedulable;
}

beforeAll(async () => {
  assertBuilt();
  t = await startTestMaster();
  admin = new ApiClient({ server: t.url, token: t.master.adminToken });
  joinClient = new ApiClient({ server: t.url, token: t.master.joinToken });
  home = await mkdtemp(join(tmpdir(), 'slipway-adm-nodes-'));
  await ok(['login', t.url, '--token', t.master.adminToken]);
  await ok(['new-project', NS]);
  for (const name of ['n1', 'n2', 'n3']) {
    const node = new SimulatedNode(joinClient, name);
    await node.register();
    if (name === 'n2') n2 = node;
  }
});

afterAll(async () => {
  await t?.close();
  if (home) await rm(home, { recursive: true, force: true });
});

describe('cordon and uncordon', () => {
  it('sets and clears spec.unschedulable, saying when there is nothing to do', async () => {
    expect(await ok(['adm', 'cordon', 'n1'])).toBe('node/n1 cordoned\n');
    expect(await unschedulable('n1')).toBe(true);
    expect(await ok(['adm', 'cordon', 'n1'])).toBe('node/n1 already cordoned\n');
    expect(await ok(['get', 'nodes', 'n1'])).toMatch(/\nn1 +Ready,SchedulingDisabled /);
    expect(await ok(['adm', 'uncordon', 'n1'])).toBe('node/n1 uncordoned\n');
    expect(await unschedulable('n1')).toBeUndefined();
    expect(await ok(['adm', 'uncordon', 'n1'])).toBe('node/n1 already uncordoned\n');

    const missing = await cli(['adm', 'cordon', 'nope']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('Error from server (NotFound): nodes "nope" not found\n');
  });
});

describe('drain', () => {
  it('refuses pods no controller manages without --force, and evicts with it', async () => {
    await admin.create(podKind, podSpec('managed', { nodeName: 'n2', owner: 'rc-1' }), {
      namespace: NS,
    });
    await admin.create(podKind, podSpec('bare', { nodeName: 'n2' }), { namespace: NS });
    await admin.create(podKind, podSpec('elsewhere', { nodeName: 'n3' }), { namespace: NS });

    const refused = await cli(['adm', 'drain', 'n2']);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('node/n2 cordoned\n');
    const why = `cannot delete Pods not managed by ReplicationController, ReplicaSet, Job, DaemonSet or StatefulSet (use --force to override): ${NS}/bare`;
    expect(refused.stderr).toBe(
      `error: unable to drain node "n2" due to error: ${why}, continuing command...\n` +
        'There are pending nodes to be drained:\n n2\n' +
        `error: ${why}\n`,
    );
    // Refused as a whole: nothing was deleted, the node stays cordoned.
    expect(await exists('managed')).toBe(true);
    expect(await exists('bare')).toBe(true);
    expect(await unschedulable('n2')).toBe(true);

    // n2's agent confirms each deletion once the pod has stopped; drain waits for that.
    const stopConfirming = n2.confirmDeletions(200);
    const forced = await cli([
      'adm',
      'drain',
      'n2',
      '--force',
      '--grace-period',
      '5',
      '--timeout',
      '30s',
    ]).finally(stopConfirming);
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stderr).toBe(
      `WARNING: deleting Pods not managed by ReplicationController, ReplicaSet, Job, DaemonSet or StatefulSet: ${NS}/bare\n`,
    );
    const lines = forced.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('node/n2 already cordoned');
    expect(lines.at(-1)).toBe('node/n2 drained');
    expect(lines.filter((l) => l.endsWith(' evicted')).sort()).toEqual([
      'pod/bare evicted',
      'pod/managed evicted',
    ]);
    expect(await exists('managed')).toBe(false);
    expect(await exists('bare')).toBe(false);
    expect(await exists('elsewhere')).toBe(true);

    // Nothing left: a drain just says so.
    expect(await ok(['adm', 'drain', 'n2'])).toBe('node/n2 already cordoned\nnode/n2 drained\n');
    expect(await ok(['adm', 'uncordon', 'n2'])).toBe('node/n2 uncordoned\n');
  });
});

describe('describe node', () => {
  it("shows the node's pods with requests and the allocated totals", async () => {
    await admin.create<Pod>(
      podKind,
      podSpec('sized', { nodeName: 'n3', cpu: '500m', memory: '1Gi', owner: 'rc-2' }),
      { namespace: NS },
    );
    const out = await ok(['describe', 'node', 'n3']);
    expect(out).toMatch(/^Name: +n3\n/);
    expect(out).toMatch(
      /\nConditions:\n {2}Type +Status +LastHeartbeat +Reason +Message\n {2}Ready +True /,
    );
    expect(out).toMatch(/\nCapacity:\n {2}cpu: +4\n {2}memory: +8Gi\n {2}pods: +110\n/);
    expect(out).toContain('Non-terminated Pods:  (2 in total)\n');
    expect(out).toMatch(
      new RegExp(
        `\\n {2}${NS} +sized +500m \\(12%\\) +0 \\(0%\\) +1Gi \\(12%\\) +0 \\(0%\\) +\\d+s\\n`,
      ),
    );
    expect(out).toMatch(new RegExp(`\\n {2}${NS} +elsewhere +0 \\(0%\\) `));
    expect(out).toMatch(
      /\nAllocated resources:\n {2}\(Total limits may be over 100 percent, i\.e\., overcommitted\.\)\n/,
    );
    expect(out).toMatch(/\n {2}cpu +500m \(12%\) +0 \(0%\)\n {2}memory +1Gi \(12%\) +0 \(0%\)\n/);
    expect(out).toMatch(/\nEvents: +<none>\n$/);
  });
});
