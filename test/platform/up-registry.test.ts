// `slipway up` runs the cluster registry as users see it: the registry line of `up`, the builder
// images pushed to it in the background as openshift/NAME:VERSION and :latest, `down` leaving
// it running (as it leaves pods running), and the next `up` adopting it unchanged.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PlatformEngine } from '../../agent/docker/platform-engine.js';
import { ensureBuilderImages } from '../../agent/platform/builder-images.js';
import { platformPaths } from '../../agent/platform/paths.js';
import { registryContainerName } from '../../agent/platform/registry.js';
import { silentLogger } from '../../src/util/logger.js';
import { assertAgentBuilt, eventually } from '../agent/cluster.js';
import { randomServiceRange } from '../support/service-range.js';
import { removeServiceRules } from '../../agent/network/service-proxy.js';
import { cleanupRun } from '../agent/support.js';
import { slipway } from '../cli/support/slipway.js';
import { loadOrCreateTokens } from '../../master/auth/tokens.js';
import { pushAs, requestRegistryToken, tokenChallenge } from '../support/registry.js';
import {
  assertDockerAvailable,
  dockerClient,
  ensureImage,
  newTestRun,
  PAUSE_IMAGE,
  TEST_LABEL,
  TEST_RUN_LABEL,
} from '../support/docker.js';

const docker = dockerClient();
const run = newTestRun();
const nodeName = `platform-${run.runId}`;
let home: string;
let dataDir: string;
let env: Record<string, string>;

async function up(): Promise<string> {
  // Any free port for the registry: 5000 may belong to a Slipway already running here.
  const res = await slipway(
    ['up', '--listen', '127.0.0.1:0', '--registry', '127.0.0.1:0', '--no-router'],
    {
      env,
      timeoutMs: 120_000,
    },
  );
  if (res.code !== 0) throw new Error(`slipway up failed: ${res.stderr}`);
  expect(res.stderr).toBe('');
  return res.stdout;
}

async function down(): Promise<void> {
  const res = await slipway(['down'], { env, timeoutMs: 30_000 });
  expect(res.stdout).toMatch(/^Slipway stopped/);
}

function registryLine(stdout: string): string {
  const m = /^ {2}registry {5}(127\.0\.0\.1:\d+) \(container (\S+), data in (\S+)\)$/m.exec(stdout);
  if (!m) throw new Error(`no registry line in:\n${stdout}`);
  return m[1]!;
}

beforeAll(async () => {
  assertAgentBuilt();
  await assertDockerAvailable(docker);
  await ensureImage('pause');
  // So that `up` does not spend minutes building them inside its own time limit.
  await ensureBuilderImages(new PlatformEngine(docker), {
    paths: platformPaths(),
    logger: silentLogger(),
  });
  home = await mkdtemp(join(tmpdir(), 'slipway-up-registry-'));
  dataDir = join(home, '.slipway', 'data');
  env = {
    HOME: home,
    SLIPWAY_AGENT_NODE_NAME: nodeName,
    SLIPWAY_SERVICE_CIDR: randomServiceRange().cidr,
    SLIPWAY_AGENT_LABELS: `${TEST_LABEL}=1,${TEST_RUN_LABEL}=${run.runId}`,
  };
}, 600_000);

afterAll(async () => {
  if (!home) return;
  await slipway(['down'], { env, timeoutMs: 30_000 }).catch(() => undefined);
  await docker
    .getContainer(registryContainerName(dataDir))
    .remove({ force: true })
    .catch(() => undefined);
  await cleanupRun(docker, run.runId);
  // Agents keep their service rules when they stop; this run's node is gone for good.
  await removeServiceRules(nodeName).catch(() => false);
  await rm(home, { recursive: true, force: true });
});

describe('slipway up and the registry', () => {
  it('starts the registry, pushes the builder images to it, and adopts it after down and up', async () => {
    const first = await up();
    const address = registryLine(first);
    const adminToken = (await loadOrCreateTokens(dataDir)).adminToken;
    expect(first).toContain(
      `  registry     ${address} (container ${registryContainerName(dataDir)}, data in ${join(dataDir, 'registry')})`,
    );
    const container = docker.getContainer(registryContainerName(dataDir));
    const started = (await container.inspect()).State.StartedAt;

    // The server pushes the builder images in the background once it is up.
    const log = join(dataDir, 'slipway.log');
    const line = await eventually(
      async () =>
        (await readFile(log, 'utf8'))
          .split('\n')
          .find((l) => l.includes('builder images are in the registry')),
      90_000,
      'the builder images to be pushed',
    );
    const pushed = JSON.parse(line) as {
      builders: { name: string; tags: { tag: string; dockerImageReference: string }[] }[];
    };
    expect(pushed.builders.map((b) => [b.name, b.tags.map((t) => t.tag)])).toEqual([
      ['nodejs', ['18', 'latest']],
      ['python', ['3.11', 'latest']],
      ['static', ['1.35', 'latest']],
    ]);
    for (const b of pushed.builders) {
      for (const t of b.tags) {
        expect(t.dockerImageReference).toMatch(
          new RegExp(`^${address.replace(/\./g, '\\.')}/openshift/${b.name}@sha256:[0-9a-f]{64}$`),
        );
        const digest = t.dockerImageReference.split('@')[1];
        // Read as any user reads it: with a token for that repository.
        const { token } = await requestRegistryToken(address, adminToken, [
          `repository:openshift/${b.name}:pull`,
        ]);
        const res = await fetch(`http://${address}/v2/openshift/${b.name}/manifests/${t.tag}`, {
          method: 'HEAD',
          headers: {
            Accept: 'application/vnd.docker.distribution.manifest.v2+json',
            Authorization: `Bearer ${token}`,
          },
        });
        expect(res.headers.get('docker-content-digest')).toBe(digest);
      }
    }

    // down leaves the registry running, as it leaves pods running.
    await down();
    const afterDown = await container.inspect();
    expect(afterDown.State.Running).toBe(true);
    expect(await tokenChallenge(address)).toMatchObject({ status: 401 });

    // The next up adopts it: same address, same container, never restarted.
    const second = await up();
    expect(registryLine(second)).toBe(address);
    const adopted = await container.inspect();
    expect(adopted.Id).toBe(afterDown.Id);
    expect(adopted.State.StartedAt).toBe(started);
    await down();
  });

  it('refuses anonymous pulls and pushes, and a node pushes only where a build outputs (X6)', async () => {
    const address = registryLine(await up());
    const tokens = await loadOrCreateTokens(dataDir);

    // The registry sends every client to the master's token endpoint, which wants a Slipway token.
    const challenge = await tokenChallenge(address);
    expect(challenge.status).toBe(401);
    expect(challenge.realm).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/openshift\/token$/);
    expect(challenge.service).toBe('slipway-registry');
    const scope = ['repository:a/app:pull,push'];
    expect((await requestRegistryToken(address, undefined, scope)).status).toBe(401);
    expect((await requestRegistryToken(address, 'not-a-slipway-token', scope)).status).toBe(401);
    await expect(
      pushAs(docker, PAUSE_IMAGE, `${address}/a/app:anonymous`, { address }, {}),
    ).rejects.toThrow(/unauthorized|authentication required/i);
    const upload = await fetch(`http://${address}/v2/a/app/blobs/uploads/`, { method: 'POST' });
    expect(upload.status).toBe(401);
    expect((await fetch(`http://${address}/v2/openshift/nodejs/manifests/latest`)).status).toBe(
      401,
    );

    // A token whose claims were changed after signing is refused.
    const admin = await requestRegistryToken(address, tokens.adminToken, scope);
    expect(admin.access).toEqual([
      { type: 'repository', name: 'a/app', actions: ['pull', 'push'] },
    ]);
    const [header, payload, signature] = admin.token!.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as Record<
      string,
      unknown
    >;
    claims.access = [{ type: 'repository', name: 'b/app', actions: ['pull', 'push'] }];
    const forged = [header, Buffer.from(JSON.stringify(claims)).toString('base64url'), signature];
    const forgedUpload = await fetch(`http://${address}/v2/b/app/blobs/uploads/`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${forged.join('.')}` },
    });
    expect(forgedUpload.status).toBe(401);

    // docker login with the admin's Slipway token: the engine gets its own token and pushes.
    await pushAs(
      docker,
      PAUSE_IMAGE,
      `${address}/a/app:admin`,
      { address },
      {
        username: 'admin',
        password: tokens.adminToken,
      },
    );

    // A node pulls any project's images (it runs their pods) but gets no push where no build
    // of the repository's project is under way; the registry refuses that push.
    const node = await requestRegistryToken(address, tokens.joinToken, scope);
    expect(node.access).toEqual([{ type: 'repository', name: 'a/app', actions: ['pull'] }]);
    await expect(
      pushAs(
        docker,
        PAUSE_IMAGE,
        `${address}/a/app:node`,
        { address },
        {
          registrytoken: node.token!,
        },
      ),
    ).rejects.toThrow(/unauthorized|authentication required|denied/i);
    await down();
  });
});
