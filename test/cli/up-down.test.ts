// `slipway up` / `slipway down` as users run them: the built command, a detached server
// process, the CLI config written for the admin, and a refusal to start twice.
import { readFileSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpRun, type UpRun } from '../e2e/support/up-run.js';
import { dockerClient } from '../support/docker.js';
import { assertBuilt, slipway } from './support/slipway.js';

let upRun: UpRun;
let home: string;
let env: Record<string, string>;

/** Whether the process still runs (a zombie awaiting its reaper counts as gone). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

beforeAll(async () => {
  assertBuilt();
  // Its own HOME, node name and service range; the teardown stops the server even when a test
  // failed half-way and removes what the run left on this host.
  upRun = await startUpRun(dockerClient(), 'up-down');
  ({ home, env } = upRun);
});

afterAll(async () => {
  await upRun?.close();
});

describe('slipway up and down', () => {
  it('starts the server in the background, logs the CLI in and prints what to do next', async () => {
    const up = await slipway(
      ['up', '--listen', '127.0.0.1:0', '--registry', '127.0.0.1:0', '--no-router'],
      {
        env,
        timeoutMs: 60_000,
      },
    );
    expect(up.stderr).toBe('');
    expect(up.code).toBe(0);
    expect(up.stdout).toMatch(/^Slipway is up\.\n {2}API server {3}http:\/\/127\.0\.0\.1:\d+\n/);
    expect(up.stdout).toContain(`data         ${join(home, '.slipway', 'data')}`);
    expect(up.stdout).toContain('slipway new-project demo');

    const configPath = join(home, '.slipway', 'config');
    expect((await stat(configPath)).mode & 0o777).toBe(0o600);
    expect(await readFile(configPath, 'utf8')).toMatch(/user: admin/);

    const who = await slipway(['whoami'], { env });
    expect(who).toMatchObject({ code: 0, stdout: 'admin\n' });
    const project = await slipway(['new-project', 'demo'], { env });
    expect(project.code).toBe(0);
    expect(project.stdout).toMatch(
      /^Now using project "demo" on server "http:\/\/127\.0\.0\.1:\d+"\.\n$/,
    );
    // The bootstrap projects exist from the start.
    const projects = await slipway(['get', 'projects', '-o', 'name'], { env });
    expect(projects.stdout.split('\n')).toEqual(
      expect.arrayContaining([
        'project.project.openshift.io/default',
        'project.project.openshift.io/demo',
        'project.project.openshift.io/openshift',
      ]),
    );
  });

  it('refuses to start twice on one data directory', async () => {
    const again = await slipway(
      ['up', '--listen', '127.0.0.1:0', '--registry', '127.0.0.1:0', '--no-router'],
      {
        env,
        timeoutMs: 30_000,
      },
    );
    expect(again.code).toBe(1);
    expect(again.stdout).toBe('');
    expect(again.stderr).toMatch(
      /^error: Slipway is already running on data directory .+ \(pid \d+, http:\/\/127\.0\.0\.1:\d+\); stop it with "slipway down"\n$/,
    );
  });

  it('keeps state across down and up, and down stops the process', async () => {
    const endpoint = JSON.parse(
      await readFile(join(home, '.slipway', 'data', 'endpoint.json'), 'utf8'),
    ) as {
      pid: number;
    };
    const down = await slipway(['down'], { env, timeoutMs: 30_000 });
    expect(down).toMatchObject({ code: 0, stdout: `Slipway stopped (pid ${endpoint.pid}).\n` });
    expect(alive(endpoint.pid)).toBe(false);
    const unreachable = await slipway(['get', 'pods'], { env });
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(/cannot reach the Slipway API at http:\/\/127\.0\.0\.1:\d+/);

    const up = await slipway(
      ['up', '--listen', '127.0.0.1:0', '--registry', '127.0.0.1:0', '--no-router'],
      {
        env,
        timeoutMs: 60_000,
      },
    );
    expect(up.code).toBe(0);
    const projects = await slipway(['projects'], { env });
    expect(projects.stdout).toContain('demo');

    const second = await slipway(['down'], { env, timeoutMs: 30_000 });
    expect(second.stdout).toMatch(/^Slipway stopped \(pid \d+\)\.\n$/);
    const third = await slipway(['down'], { env });
    expect(third.stdout).toMatch(/^Slipway is not running \(data directory .+\)\.\n$/);
  });
});
