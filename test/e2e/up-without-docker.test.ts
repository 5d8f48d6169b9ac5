// `slipway up` where Docker does not answer: a clear refusal that says what to do, and
// `--no-agent` to run the master alone (its pods then stay Pending: no node).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertAgentBuilt } from '../agent/cluster.js';
import { slipway } from '../cli/support/slipway.js';

let home: string;
let env: Record<string, string>;

beforeAll(async () => {
  assertAgentBuilt();
  home = await mkdtemp(join(tmpdir(), 'slipway-nodocker-'));
  env = { HOME: home, DOCKER_HOST: `unix://${join(home, 'no-docker.sock')}` };
});

afterAll(async () => {
  await slipway(['down'], { env, timeoutMs: 30_000 }).catch(() => undefined);
  await rm(home, { recursive: true, force: true });
});

describe('slipway up without Docker', () => {
  it('refuses, naming the engine and the two ways out', async () => {
    const res = await slipway(['up', '--listen', '127.0.0.1:0'], { env, timeoutMs: 30_000 });
    expect(res.code).toBe(1);
    expect(res.stdout).toBe('');
    expect(res.stderr).toBe(
      `error: the Docker engine at unix://${join(home, 'no-docker.sock')} does not answer (connect ENOENT ${join(home, 'no-docker.sock')}). ` +
        'Slipway runs pods on Docker: start it (on Debian/Ubuntu: bash scripts/setup-docker.sh), ' +
        'or pass --no-agent to run the master without a node\n',
    );
    const status = await slipway(['down'], { env });
    expect(status.stdout).toMatch(/^Slipway is not running/);
  });

  it('runs the master alone with --no-agent', async () => {
    const up = await slipway(['up', '--listen', '127.0.0.1:0', '--no-agent', '--no-router'], {
      env,
      timeoutMs: 30_000,
    });
    expect(up.stderr).toBe('');
    expect(up.code).toBe(0);
    expect(up.stdout).toContain(
      '  node         none (--no-agent: pods stay Pending until an agent joins)',
    );
    const nodes = await slipway(['get', 'nodes'], { env });
    expect(nodes).toMatchObject({ code: 0 });
    expect(nodes.stdout + nodes.stderr).toMatch(/No resources found/);
    const down = await slipway(['down'], { env, timeoutMs: 30_000 });
    expect(down.stdout).toMatch(/^Slipway stopped/);
  });
});
