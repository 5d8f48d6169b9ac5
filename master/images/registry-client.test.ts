import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  parseDockerImageReference,
  type DockerImageReference,
} from '../../src/api/image-reference.js';
import {
  isLoopbackRegistry,
  parseChallenge,
  registryAllowed,
  RegistryClient,
  RegistryError,
} from './registry-client.js';

// A fake registry on loopback serving documents by path; the real registry's behaviour is in
// test/builds/image-import.test.ts.

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
let server: Server | undefined;

afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

async function serve(handler: Handler): Promise<string> {
  server = createServer(handler);
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function digestOf(body: string): string {
  return `sha256:${createHash('sha256').update(body).digest('hex')}`;
}

function ref(text: string): DockerImageReference {
  const parsed = parseDockerImageReference(text);
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.reference;
}

const CONFIG = JSON.stringify({
  architecture: 'amd64',
  os: 'linux',
  created: '2026-01-02T03:04:05Z',
  config: {
    User: '1001',
    ExposedPorts: { '8080/tcp': {}, '53/udp': {} },
    Labels: { 'io.openshift.expose-services': '8080:http' },
    Cmd: ['/usr/bin/run'],
  },
});
const CONFIG_DIGEST = digestOf(CONFIG);
const MANIFEST = JSON.stringify({
  schemaVersion: 2,
  mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
  config: {
    mediaType: 'application/vnd.docker.container.image.v1+json',
    size: CONFIG.length,
    digest: CONFIG_DIGEST,
  },
  layers: [
    {
      mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
      size: 100,
      digest: digestOf('a'),
    },
    {
      mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
      size: 23,
      digest: digestOf('b'),
    },
  ],
});
const MANIFEST_DIGEST = digestOf(MANIFEST);

/** Serves `ns/app`: `latest` and the manifest by digest, the config blob. */
function documents(
  overrides: Record<string, { type?: string; body: string; status?: number }> = {},
): Handler {
  const docs: Record<string, { type?: string; body: string; status?: number }> = {
    '/v2/ns/app/manifests/latest': {
      type: 'application/vnd.docker.distribution.manifest.v2+json',
      body: MANIFEST,
    },
    [`/v2/ns/app/manifests/${MANIFEST_DIGEST}`]: {
      type: 'application/vnd.docker.distribution.manifest.v2+json',
      body: MANIFEST,
    },
    [`/v2/ns/app/blobs/${CONFIG_DIGEST}`]: { body: CONFIG },
    ...overrides,
  };
  return (req, res) => {
    const doc = docs[req.url ?? ''];
    if (!doc) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[]}');
      return;
    }
    res.writeHead(doc.status ?? 200, doc.type ? { 'content-type': doc.type } : {}).end(doc.body);
  };
}

const basicAuthOnly: Handler = (_req, res) => {
  res.writeHead(401, { 'www-authenticate': 'Basic realm="r"' }).end();
};

describe('RegistryClient.inspect', () => {
  const client = new RegistryClient({ platform: { os: 'linux', architecture: 'amd64' } });

  it('reads the digest and configuration of a tag', async () => {
    const registry = await serve(documents());
    const image = await client.inspect(ref(`${registry}/ns/app`));
    expect(image).toMatchObject({
      digest: MANIFEST_DIGEST,
      dockerImageReference: `${registry}/ns/app@${MANIFEST_DIGEST}`,
      configDigest: CONFIG_DIGEST,
      created: '2026-01-02T03:04:05Z',
      architecture: 'amd64',
      size: 123,
      config: { User: '1001', ExposedPorts: { '8080/tcp': {}, '53/udp': {} } },
    });
    expect(image.layers).toHaveLength(2);
    // By digest too.
    expect((await client.inspect(ref(`${registry}/ns/app@${MANIFEST_DIGEST}`))).digest).toBe(
      MANIFEST_DIGEST,
    );
  });

  it("narrows a manifest list to the platform's image", async () => {
    const list = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        { digest: digestOf('arm'), size: 1, platform: { os: 'linux', architecture: 'arm64' } },
        { digest: MANIFEST_DIGEST, size: 1, platform: { os: 'linux', architecture: 'amd64' } },
      ],
    });
    const registry = await serve(documents({ '/v2/ns/app/manifests/multi': { body: list } }));
    const image = await client.inspect(ref(`${registry}/ns/app:multi`));
    expect(image.digest).toBe(MANIFEST_DIGEST);
    const other = new RegistryClient({ platform: { os: 'linux', architecture: 's390x' } });
    await expect(other.inspect(ref(`${registry}/ns/app:multi`))).rejects.toThrow(
      /no image for linux\/s390x \(the registry has linux\/arm64, linux\/amd64\)/,
    );
  });

  it('fetches an anonymous bearer token for the repository when challenged', async () => {
    const scopes: string[] = [];
    const inner = documents();
    const registry = await serve((req, res) => {
      if (req.url?.startsWith('/token')) {
        const url = new URL(req.url, 'http://x');
        scopes.push(`${url.searchParams.get('service')} ${url.searchParams.get('scope')}`);
        res.end(JSON.stringify({ token: 'tok' }));
        return;
      }
      if (req.headers.authorization !== 'Bearer tok') {
        const realm = `http://${req.headers.host}/token`;
        res
          .writeHead(401, {
            'www-authenticate': `Bearer realm="${realm}",service="reg.test",scope="repository:ns/app:pull"`,
          })
          .end();
        return;
      }
      inner(req, res);
    });
    expect((await client.inspect(ref(`${registry}/ns/app`))).digest).toBe(MANIFEST_DIGEST);
    expect(scopes).toEqual(['reg.test repository:ns/app:pull']);
  });

  it('asks the token service with the credentials it is given', async () => {
    const seen: (string | undefined)[] = [];
    const inner = documents();
    const login = `Basic ${Buffer.from('u:p w').toString('base64')}`;
    const registry = await serve((req, res) => {
      if (req.url?.startsWith('/token')) {
        seen.push(req.headers.authorization);
        if (req.headers.authorization !== login) res.writeHead(401).end();
        else res.end(JSON.stringify({ access_token: 'private' }));
        return;
      }
      if (req.headers.authorization !== 'Bearer private') {
        res
          .writeHead(401, { 'www-authenticate': `Bearer realm="http://${req.headers.host}/token"` })
          .end();
        return;
      }
      inner(req, res);
    });
    const image = await client.inspect(ref(`${registry}/ns/app`), {
      credentials: { username: 'u', password: 'p w' },
    });
    expect(image.digest).toBe(MANIFEST_DIGEST);
    expect(seen).toEqual([login]);
    const refused = await client
      .inspect(ref(`${registry}/ns/app`), { credentials: { username: 'u', password: 'wrong' } })
      .catch((e: unknown) => e);
    expect((refused as RegistryError).message).toMatch(
      /token service refused the credentials of the pull secret \(401\)/,
    );
  });

  it('answers a Basic challenge with the credentials it is given', async () => {
    const inner = documents();
    const registry = await serve((req, res) => {
      if (req.headers.authorization !== `Basic ${Buffer.from('u:p').toString('base64')}`) {
        basicAuthOnly(req, res);
        return;
      }
      inner(req, res);
    });
    const image = await client.inspect(ref(`${registry}/ns/app`), {
      credentials: { username: 'u', password: 'p' },
    });
    expect(image.digest).toBe(MANIFEST_DIGEST);
  });

  it.each([
    ['a missing tag', '/ns/app:nope', documents(), 'NotFound', /ns\/app:nope: not found/],
    [
      'a registry wanting credentials',
      '/ns/app',
      basicAuthOnly,
      'Unauthorized',
      /requires credentials \(basic authentication\)/,
    ],
    [
      'a manifest that is not the digest asked for',
      `/ns/app@${digestOf('x')}`,
      documents({ [`/v2/ns/app/manifests/${digestOf('x')}`]: { body: MANIFEST } }),
      'InvalidResponse',
      /the manifest does not match its digest/,
    ],
    [
      'a tampered config',
      '/ns/app',
      documents({ [`/v2/ns/app/blobs/${CONFIG_DIGEST}`]: { body: CONFIG.replace('1001', '0') } }),
      'InvalidResponse',
      /the config does not match its digest/,
    ],
    [
      'a schema 1 manifest',
      '/ns/app:old',
      documents({ '/v2/ns/app/manifests/old': { body: '{"schemaVersion":1}' } }),
      'Unsupported',
      /schema 1 manifests are not supported/,
    ],
    [
      'a manifest that is not JSON',
      '/ns/app:bad',
      documents({ '/v2/ns/app/manifests/bad': { body: '<html>' } }),
      'InvalidResponse',
      /the manifest is not a JSON object/,
    ],
    [
      'an oversized manifest',
      '/ns/app:big',
      documents({ '/v2/ns/app/manifests/big': { body: ' '.repeat(4 * 1024 * 1024 + 1) } }),
      'InvalidResponse',
      /larger than 4194304 bytes/,
    ],
    [
      'a server error',
      '/ns/app:boom',
      documents({ '/v2/ns/app/manifests/boom': { body: '', status: 500 } }),
      'InvalidResponse',
      /answered 500/,
    ],
  ] as const)('reports %s', async (_what, path, handler, reason, message) => {
    const registry = await serve(handler);
    const err = await client.inspect(ref(`${registry}${path}`)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryError);
    expect((err as RegistryError).reason).toBe(reason);
    expect((err as RegistryError).message).toMatch(message);
  });

  it('refuses a manifest whose Docker-Content-Digest disagrees with its bytes', async () => {
    const registry = await serve((req, res) => {
      res
        .writeHead(200, {
          'content-type': 'application/vnd.docker.distribution.manifest.v2+json',
          'docker-content-digest': digestOf('other'),
        })
        .end(MANIFEST);
    });
    await expect(client.inspect(ref(`${registry}/ns/app`))).rejects.toThrow(
      /the manifest does not match its digest/,
    );
  });

  it('reports a registry that does not answer, and one that is too slow', async () => {
    const registry = await serve(() => undefined);
    const slow = new RegistryClient({ timeoutMs: 200 });
    await expect(slow.inspect(ref(`${registry}/ns/app`))).rejects.toThrow(
      /cannot reach http:\/\/127\.0\.0\.1:\d+: timed out/,
    );
    await new Promise<void>((resolve) => server!.close(() => resolve()));
    server = undefined;
    const err = (await client
      .inspect(ref(`${registry}/ns/app`))
      .catch((e: unknown) => e)) as RegistryError;
    expect(err.reason).toBe('Unreachable');
    expect(err.message).toMatch(/ECONNREFUSED/);
  });
});

describe('helpers', () => {
  it('knows loopback registries and the insecure ones it was given', () => {
    for (const r of ['localhost', 'localhost:5000', '127.0.0.1:5000', '127.3.2.1', '[::1]:5000']) {
      expect(isLoopbackRegistry(r), r).toBe(true);
    }
    for (const r of ['docker.io', '10.0.0.1:5000', 'localhost.example', '[::2]:5000']) {
      expect(isLoopbackRegistry(r), r).toBe(false);
    }
    const client = new RegistryClient({ insecureRegistries: ['reg.lan:5000'] });
    expect(client.isInsecure('reg.lan:5000')).toBe(true);
    expect(client.isInsecure('reg.lan')).toBe(false);
    expect(client.isInsecure('quay.io', true)).toBe(true);
  });

  it('parses authentication challenges', () => {
    expect(
      parseChallenge('Bearer realm="https://auth.docker.io/token",service="registry.docker.io"'),
    ).toEqual({
      scheme: 'bearer',
      params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io' },
    });
    expect(parseChallenge('Basic realm="a \\"b\\""')).toEqual({
      scheme: 'basic',
      params: { realm: 'a "b"' },
    });
  });
});

describe('registryAllowed', () => {
  it('matches hosts, ports and wildcard domains; no list allows all', () => {
    const list = ['docker.io', '*.example.com', '127.0.0.1:5000'];
    const cases: [string, boolean][] = [
      ['docker.io', true],
      ['Docker.IO', true],
      ['quay.io', false],
      ['registry.example.com', true],
      ['a.b.example.com', true],
      ['example.com', false],
      ['registry.example.com:5000', false],
      ['evil-example.com', false],
      ['127.0.0.1:5000', true],
      ['127.0.0.1:5001', false],
      ['127.0.0.1', false],
    ];
    for (const [registry, allowed] of cases) {
      expect(registryAllowed(registry, list), registry).toBe(allowed);
    }
    expect(registryAllowed('anything.io', undefined)).toBe(true);
    expect(registryAllowed('anything.io', [])).toBe(false);
  });
});
