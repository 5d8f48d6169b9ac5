// End to end as a user runs it: `slipway up` starts the master and an agent for the local Docker
// engine; a pod applied without a node is scheduled, runs and shows in `get pods` and
// `describe`; `slipway down` stops the server but leaves the pod's containers running, and the
// next `slipway up` adopts them unchanged; `delete` removes them.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../agent/cluster.js';
import { slipway } from '../cli/support/slipway.js';
import { dockerClient, TEST_RUN_LABEL } from '../support/docker.js';
import { startUpRun, type UpRun } from './support/up-run.js';

const docker = dockerClient();
let up: UpRun;
let nodeName: string;
let runId: string;
let home: string;
let env: Record<string, string>;

beforeAll(async () => {
  up = await startUpRun(docker, 'e2e');
  ({ nodeName, runId, home, env } = up);
});

afterAll(async () => {
  await up?.close();
});

async function ok(args: string[]): Promise<string> {
  const res = await slipway(args, { env, timeoutMs: 30_000 });
  if (res.code !== 0) throw new Error(`slipway ${args.join(' ')} failed: ${res.stderr}`);
  return res.stdout;
}

function podRow(out: string): string[] | undefined {
  const line = out.split('\n').find((l) => l.startsWith('hello '));
  return line?.trim().split(/\s+/);
}

async function appContainers(): Promise<{ Id: string; State: string }[]> {
  return docker.listContainers({
    all: true,
    filters: {
      label: [
        `${TEST_RUN_LABEL}=${runId}`,
        'io.slipway.pod.name=hello',
        'io.slipway.container.name=app',
      ],
    },
  });
}

describe('slipway up runs pods on the local Docker engine', () => {
  it('schedules and runs a pod, keeps it across down and up, and deletes it', async () => {
    const up = await ok([
      'up',
      '--listen',
      '127.0.0.1:0',
      '--registry',
      '127.0.0.1:0',
      '--no-router',
    ]);
    expect(up).toContain(`  node         ${nodeName} (the local Docker engine)`);
    const nodes = await eventually(
      async () => {
        const out = await ok(['get', 'nodes']);
        return out.includes(nodeName) && /\sReady\s/.test(out) ? out : undefined;
      },
      10_000,
      'the node to be Ready',
    );
    expect(nodes).toMatch(new RegExp(`^${nodeName}\\s+Ready\\s+worker\\s+`, 'm'));

    await ok(['new-project', 'e2e']);
    const manifest = join(home, 'hello.yaml');
    await writeFile(
      manifest,
      [
        'apiVersion: v1',
        'kind: Pod',
        'metadata:',
        '  name: hello',
        'spec:',
        '  terminationGracePeriodSeconds: 1',
        '  containers:',
        '  - name: app',
        '    image: slipway/pause:1',
        '    command: ["sh", "-c", "mkdir -p /tmp/w; echo hi > /tmp/w/index.html; exec httpd -f -p 8080 -h /tmp/w"]',
        '    readinessProbe:',
        '      httpGet: {port: 8080}',
        '      periodSeconds: 1',
        '',
      ].join('\n'),
    );
    await ok(['apply', '-f', manifest]);
    const row = await eventually(
      async () => {
        const r = podRow(await ok(['get', 'pods', '-o', 'wide']));
        return r?.[1] === '1/1' && r[2] === 'Running' ? r : undefined;
      },
      20_000,
      'hello to be Running and ready',
    );
    // NAME READY STATUS RESTARTS AGE IP NODE
    expect(row[3]).toBe('0');
    expect(row[5]).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(row[6]).toBe(nodeName);
    const described = await ok(['describe', 'pod', 'hello']);
    for (const line of [
      /Normal\s+Scheduled\s+.*default-scheduler\s+Successfully assigned e2e\/hello to /,
      /Normal\s+Pulled\s+.*kubelet\s+Container image "slipway\/pause:1" already present on machine/,
      /Normal\s+Created\s+.*kubelet\s+Created container app/,
      /Normal\s+Started\s+.*kubelet\s+Started container app/,
    ]) {
      expect(described).toMatch(line);
    }
    // Logs and exec go CLI -> master -> this node's agent, as they would across hosts.
    const exec = await slipway(
      ['exec', 'hello', '--', 'sh', '-c', 'cat /tmp/w/index.html; exit 3'],
      {
        env,
        timeoutMs: 30_000,
      },
    );
    expect(exec).toMatchObject({ code: 3, stdout: 'hi\n' });
    await ok(['exec', 'hello', '--', 'sh', '-c', 'echo marker-line > /proc/1/fd/1']);
    const logs = await eventually(
      async () => {
        const out = await ok(['logs', 'hello']);
        return out.includes('marker-line') ? out : undefined;
      },
      10_000,
      'the pod log to show the marker line',
    );
    expect(logs.split('\n')).toContain('marker-line');
    const [before] = await appContainers();
    expect(before?.State).toBe('running');

    // `down` stops the agent, not the workload; `up` adopts it.
    expect(await ok(['down'])).toMatch(/^Slipway stopped/);
    expect((await appContainers()).map((c) => [c.Id, c.State])).toEqual([[before!.Id, 'running']]);
    await ok(['up', '--listen', '127.0.0.1:0', '--registry', '127.0.0.1:0', '--no-router']);
    await eventually(
      async () => {
        // The server's port changed, so the CLI is back in project "default".
        const r = podRow(await ok(['get', 'pods', '-n', 'e2e']));
        return r?.[1] === '1/1' && r[2] === 'Running' ? r : undefined;
      },
      20_000,
      'hello to be Running after up',
    );
    const json = JSON.parse(await ok(['get', 'pod', 'hello', '-n', 'e2e', '-o', 'json'])) as {
      status: { containerStatuses: { containerID: string; restartCount: number }[] };
    };
    expect(json.status.containerStatuses[0]).toMatchObject({
      containerID: `docker://${before!.Id}`,
      restartCount: 0,
    });

    await ok(['delete', 'pod', 'hello', '-n', 'e2e']);
    await eventually(
      async () => ((await appContainers()).length === 0 ? true : undefined),
      15_000,
      "hello's containers to be removed",
    );
  });
});
