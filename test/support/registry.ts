// A real Docker Distribution registry for tests: Debian's `docker-registry` (the same software
// as the registry:2 image) serving from a temporary directory on 127.0.0.1, which dockerd may
// push to without an insecure-registry setting. Killed by its PID and removed by close(). With
// `auth`, it asks for those credentials (htpasswd, bcrypt) on every request.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import type Docker from 'dockerode';
import type { Secret } from '../../src/api/index.js';

export interface TestRegistry {
  /** `127.0.0.1:PORT` */
  address: string;
  close(): Promise<void>;
}

const BINARY = '/usr/bin/docker-registry';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export async function startRegistry(
  options: { auth?: { username: string; password: string } } = {},
): Promise<TestRegistry> {
  if (!existsSync(BINARY)) {
    throw new Error(
      `${BINARY} is missing: the build tests push to a local registry (apt-get install docker-registry)`,
    );
  }
  const dir = await mkdtemp(join(tmpdir(), 'slipway-registry-'));
  const port = await freePort();
  const address = `127.0.0.1:${port}`;
  const config = join(dir, 'config.yml');
  const auth = options.auth;
  if (auth) {
    await writeFile(
      join(dir, 'htpasswd'),
      `${auth.username}:${await bcrypt.hash(auth.password, 10)}\n`,
    );
  }
  await writeFile(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: warn',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${join(dir, 'data')}`,
      '  delete:',
      '    enabled: true',
      'http:',
      `  addr: ${address}`,
      ...(auth
        ? ['auth:', '  htpasswd:', '    realm: slipway-test', `    path: ${join(dir, 'htpasswd')}`]
        : []),
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn(BINARY, ['serve', config], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited: ${stderr}`);
    try {
      const res = await fetch(`http://${address}/v2/`);
      if (res.ok || (auth && res.status === 401)) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`docker-registry did not answer on ${address}: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    address,
    async close() {
      if (child.exitCode === null && child.pid !== undefined) {
        const exited = new Promise((r) => child.once('exit', r));
        process.kill(child.pid, 'SIGKILL');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface RegistryLogin {
  username: string;
  password: string;
}

/**
 * Pushes the local image `source` to `target` (`REGISTRY/REPO:TAG`) with `login`, then drops the
 * local name `target`, so that only the registry has the image under it.
 */
export async function pushAs(
  docker: Docker,
  source: string,
  target: string,
  registry: { address: string },
  login: RegistryLogin | { registrytoken: string } | Record<string, never>,
): Promise<void> {
  const colon = target.lastIndexOf(':');
  await docker.getImage(source).tag({ repo: target.slice(0, colon), tag: target.slice(colon + 1) });
  try {
    const push = await docker
      .getImage(target)
      .push({ authconfig: { ...login, serveraddress: registry.address } });
    await new Promise<void>((resolve, reject) => {
      docker.modem.followProgress(push, (err, output) => {
        const failed = (output as { error?: string }[] | undefined)?.find((o) => o.error);
        if (err || failed) reject(new Error(`push ${target}: ${err?.message ?? failed?.error}`));
        else resolve();
      });
    });
  } finally {
    await docker.getImage(target).remove({ noprune: true });
  }
}

/** A registry's Bearer challenge (token authentication): where to ask for tokens. */
export async function tokenChallenge(
  address: string,
): Promise<{ status: number; realm: string; service: string }> {
  const res = await fetch(`http://${address}/v2/`);
  await res.arrayBuffer();
  const header = res.headers.get('www-authenticate') ?? '';
  const param = (name: string): string => new RegExp(`${name}="([^"]*)"`).exec(header)?.[1] ?? '';
  return { status: res.status, realm: param('realm'), service: param('service') };
}

/**
 * A token from the registry's token service for `scopes`, asked for as `docker login` does:
 * Basic credentials whose password is `password` (undefined: anonymously). The HTTP status and
 * the token (when there is one).
 */
export async function requestRegistryToken(
  address: string,
  password: string | undefined,
  scopes: readonly string[],
): Promise<{ status: number; token?: string; access?: unknown }> {
  const { realm, service } = await tokenChallenge(address);
  const url = new URL(realm);
  url.searchParams.set('service', service);
  for (const scope of scopes) url.searchParams.append('scope', scope);
  const res = await fetch(url, {
    headers: password
      ? { authorization: `Basic ${Buffer.from(`user:${password}`).toString('base64')}` }
      : {},
  });
  const body = (await res.json()) as { token?: string };
  if (!body.token) return { status: res.status };
  const claims = JSON.parse(Buffer.from(body.token.split('.')[1]!, 'base64url').toString()) as {
    access?: unknown;
  };
  return { status: res.status, token: body.token, access: claims.access };
}

/** A kubernetes.io/dockerconfigjson Secret with `login` for `registry`. */
export function dockerConfigSecret(
  name: string,
  registry: TestRegistry,
  login: RegistryLogin,
): Secret {
  const config = { auths: { [registry.address]: login } };
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name },
    type: 'kubernetes.io/dockerconfigjson',
    data: { '.dockerconfigjson': Buffer.from(JSON.stringify(config)).toString('base64') },
  };
}
