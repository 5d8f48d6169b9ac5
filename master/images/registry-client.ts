/**
 * Reads an image's manifest and configuration from a registry (the Docker Registry HTTP API v2,
 * which Docker Distribution, Docker Hub, Quay and the OCI distribution spec all serve), as
 * OpenShift's image import does: the digest a tag stands for now and the image's metadata
 * (exposed ports, labels, user, command), without pulling any layer.
 *
 * - Anonymous token auth (`WWW-Authenticate: Bearer realm=...`) is followed, as for public Docker
 *   Hub images; a registry that wants credentials is reported as such.
 * - A manifest list / OCI index is narrowed to the node platform's image.
 * - Every document is checked against its digest, and read with a size limit.
 * - HTTPS, except for insecure registries (the cluster's own, loopback addresses, or a tag with
 *   `importPolicy.insecure`), which are spoken to over plain HTTP.
 */
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import {
  formatDockerImageReference,
  type DockerImageReference,
} from '../../src/api/image-reference.js';
import type { ImageConfig } from '../../src/api/kinds/image-stream-import.js';

/** Why a lookup failed, as the API reports it (`status.images[].status.reason`). */
export type RegistryFailure =
  'NotFound' | 'Unauthorized' | 'Unreachable' | 'InvalidResponse' | 'Unsupported';

export class RegistryError extends Error {
  readonly reason: RegistryFailure;
  constructor(reason: RegistryFailure, message: string) {
    super(message);
    this.name = 'RegistryError';
    this.reason = reason;
  }
}

/** What a registry says of one image. */
export interface RegistryImage {
  /** The manifest's digest: the image's identity in the registry. */
  digest: string;
  manifestMediaType: string;
  /** `REGISTRY/REPOSITORY@DIGEST`. */
  dockerImageReference: string;
  /** The configuration blob's digest (Docker's image ID). */
  configDigest: string;
  created?: string;
  architecture?: string;
  os?: string;
  config: ImageConfig;
  /** Compressed size of the layers, as the manifest gives them. */
  size: number;
  layers: { digest: string; size: number; mediaType: string }[];
}

export interface RegistryClientOptions {
  /** Registries spoken to over plain HTTP (`host:port`), besides loopback ones. */
  insecureRegistries?: readonly string[];
  /** For the whole lookup. Default 30 s. */
  timeoutMs?: number;
  /** The platform a manifest list is narrowed to. Default: this process's. */
  platform?: { os: string; architecture: string; variant?: string };
  fetch?: typeof fetch;
}

const MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const MANIFEST_V2 = 'application/vnd.docker.distribution.manifest.v2+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const ACCEPT = [OCI_INDEX, MANIFEST_LIST, OCI_MANIFEST, MANIFEST_V2].join(', ');
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
const MAX_CONFIG_BYTES = 8 * 1024 * 1024;
const MAX_TOKEN_BYTES = 64 * 1024;
/** Docker Hub's API is not served at its name. */
const ENDPOINTS: Record<string, string> = { 'docker.io': 'registry-1.docker.io' };

const ARCHITECTURES: Record<string, string> = {
  x64: 'amd64',
  arm64: 'arm64',
  arm: 'arm',
  ia32: '386',
  ppc64: 'ppc64le',
  s390x: 's390x',
};

export function defaultPlatform(): { os: string; architecture: string } {
  return { os: 'linux', architecture: ARCHITECTURES[process.arch] ?? process.arch };
}

/** True for `localhost`, 127.0.0.0/8 and ::1, with or without a port. */
export function isLoopbackRegistry(registry: string): boolean {
  const host = registry.startsWith('[')
    ? registry.slice(1, registry.indexOf(']'))
    : registry.replace(/:[0-9]+$/, '');
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

function sha256(body: Buffer): string {
  return `sha256:${createHash('sha256').update(body).digest('hex')}`;
}

/** The body, refused once it passes `limit` bytes. */
async function readLimited(res: Response, limit: number, what: string): Promise<Buffer> {
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (declared > limit) {
    await res.body?.cancel();
    throw new RegistryError('InvalidResponse', `${what} is larger than ${limit} bytes`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  if (res.body) {
    for await (const chunk of res.body) {
      size += (chunk as Uint8Array).length;
      if (size > limit) {
        throw new RegistryError('InvalidResponse', `${what} is larger than ${limit} bytes`);
      }
      chunks.push(Buffer.from(chunk as Uint8Array));
    }
  }
  return Buffer.concat(chunks);
}

function parseJson(body: Buffer, what: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(body.toString('utf8'));
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      return value as Record<string, unknown>;
    }
  } catch {
    // reported below
  }
  throw new RegistryError('InvalidResponse', `${what} is not a JSON object`);
}

/** `Bearer realm="...",service="...",scope="..."` into its parameters. */
export function parseChallenge(
  header: string,
): { scheme: string; params: Record<string, string> } | undefined {
  const m = /^\s*(\w+)\s*(.*)$/s.exec(header);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  const re = /(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?\s*/gy;
  const rest = m[2] ?? '';
  let match: RegExpExecArray | null;
  while ((match = re.exec(rest)) !== null && match[0] !== '') {
    params[match[1]!.toLowerCase()] = match[2]?.replace(/\\(.)/g, '$1') ?? match[3] ?? '';
  }
  return { scheme: m[1]!.toLowerCase(), params };
}

interface Descriptor {
  mediaType?: string;
  digest?: string;
  size?: number;
  platform?: { os?: string; architecture?: string; variant?: string };
}

function isDigest(value: unknown): value is string {
  return typeof value === 'string' && /^sha256:[0-9a-f]{64}$/.test(value);
}

export class RegistryClient {
  readonly #insecure: ReadonlySet<string>;
  readonly #timeoutMs: number;
  readonly #platform: { os: string; architecture: string; variant?: string };
  readonly #fetch: typeof fetch;

  constructor(options: RegistryClientOptions = {}) {
    this.#insecure = new Set(options.insecureRegistries ?? []);
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#platform = options.platform ?? defaultPlatform();
    this.#fetch = options.fetch ?? fetch;
  }

  /** True when `registry` is spoken to over plain HTTP. */
  isInsecure(registry: string, insecure = false): boolean {
    return insecure || this.#insecure.has(registry) || isLoopbackRegistry(registry);
  }

  /** The image `ref` names now: its digest, manifest and configuration. */
  async inspect(
    ref: DockerImageReference,
    options: {
      insecure?: boolean;
      signal?: AbortSignal;
      credentials?: BasicCredentials;
      /** A registry token to send from the first request (the cluster registry's, signed here). */
      bearerToken?: string;
    } = {},
  ): Promise<RegistryImage> {
    const signals = [AbortSignal.timeout(this.#timeoutMs)];
    if (options.signal) signals.push(options.signal);
    const session = new Session(this.#fetch, ref, {
      base: `${this.isInsecure(ref.registry, options.insecure) ? 'http' : 'https'}://${ENDPOINTS[ref.registry] ?? ref.registry}`,
      signal: AbortSignal.any(signals),
      name: formatDockerImageReference(ref),
      ...(options.credentials ? { credentials: options.credentials } : {}),
      ...(options.bearerToken ? { bearerToken: options.bearerToken } : {}),
    });
    let manifest = await session.manifest(ref.digest ?? ref.tag ?? 'latest', ref.digest);
    if (manifest.mediaType === MANIFEST_LIST || manifest.mediaType === OCI_INDEX) {
      const chosen = this.#choose(manifest.body, session.name);
      manifest = await session.manifest(chosen, chosen);
    }
    if (manifest.mediaType !== MANIFEST_V2 && manifest.mediaType !== OCI_MANIFEST) {
      throw new RegistryError(
        'Unsupported',
        `${session.name}: manifest type "${manifest.mediaType}" is not supported (Docker schema 2 or OCI manifests only)`,
      );
    }
    const configRef = manifest.body.config as Descriptor | undefined;
    if (!configRef || !isDigest(configRef.digest)) {
      throw new RegistryError('InvalidResponse', `${session.name}: the manifest has no config`);
    }
    const layers = (Array.isArray(manifest.body.layers) ? manifest.body.layers : []).map(
      (l: Descriptor) => ({
        digest: String(l.digest ?? ''),
        size: Number(l.size ?? 0),
        mediaType: String(l.mediaType ?? ''),
      }),
    );
    const blob = parseJson(await session.blob(configRef.digest), `${session.name}: the config`);
    const config = (blob.config ?? {}) as ImageConfig;
    return {
      digest: manifest.digest,
      manifestMediaType: manifest.mediaType,
      dockerImageReference: formatDockerImageReference({
        registry: ref.registry,
        repository: ref.repository,
        digest: manifest.digest,
      }),
      configDigest: configRef.digest,
      ...(typeof blob.created === 'string' ? { created: blob.created } : {}),
      ...(typeof blob.architecture === 'string' ? { architecture: blob.architecture } : {}),
      ...(typeof blob.os === 'string' ? { os: blob.os } : {}),
      config: config && typeof config === 'object' ? config : {},
      size: layers.reduce((sum, l) => sum + (Number.isFinite(l.size) ? l.size : 0), 0),
      layers,
    };
  }

  /** The digest of the platform's image in a manifest list. */
  #choose(list: Record<string, unknown>, name: string): string {
    const manifests = (Array.isArray(list.manifests) ? list.manifests : []) as Descriptor[];
    const { os, architecture, variant } = this.#platform;
    const candidates = manifests.filter(
      (m) =>
        m.platform?.os === os && m.platform.architecture === architecture && isDigest(m.digest),
    );
    const chosen =
      candidates.find((m) => variant === undefined || m.platform?.variant === variant) ??
      candidates[0];
    if (!chosen) {
      const offered = manifests
        .map((m) => `${m.platform?.os ?? '?'}/${m.platform?.architecture ?? '?'}`)
        .join(', ');
      throw new RegistryError(
        'NotFound',
        `${name}: no image for ${os}/${architecture} (the registry has ${offered || 'none'})`,
      );
    }
    return chosen.digest!;
  }
}

/** A user name and password for a registry (a project's pull secret). */
export interface BasicCredentials {
  username: string;
  password: string;
}

function basic(credentials: BasicCredentials): string {
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
}

/**
 * One lookup: the repository's base URL and the authorization once one was needed: a bearer
 * token (anonymous, or asked for with the credentials), or the credentials themselves where the
 * registry asks for Basic authentication.
 */
class Session {
  readonly name: string;
  readonly #fetch: typeof fetch;
  readonly #ref: DockerImageReference;
  readonly #base: string;
  readonly #signal: AbortSignal;
  readonly #credentials: BasicCredentials | undefined;
  #authorization: string | undefined;

  constructor(
    fetchFn: typeof fetch,
    ref: DockerImageReference,
    options: {
      base: string;
      signal: AbortSignal;
      name: string;
      credentials?: BasicCredentials;
      bearerToken?: string;
    },
  ) {
    this.#fetch = fetchFn;
    this.#ref = ref;
    this.#base = options.base;
    this.#signal = options.signal;
    this.name = options.name;
    this.#credentials = options.credentials;
    if (options.bearerToken) this.#authorization = `Bearer ${options.bearerToken}`;
  }

  async manifest(
    reference: string,
    expectedDigest: string | undefined,
  ): Promise<{ digest: string; mediaType: string; body: Record<string, unknown> }> {
    const res = await this.#get(`manifests/${reference}`, ACCEPT);
    const raw = await readLimited(res, MAX_MANIFEST_BYTES, `${this.name}: the manifest`);
    const digest = sha256(raw);
    const header = res.headers.get('docker-content-digest');
    if (
      (expectedDigest && digest !== expectedDigest) ||
      (header && isDigest(header) && header !== digest)
    ) {
      throw new RegistryError(
        'InvalidResponse',
        `${this.name}: the manifest does not match its digest (${expectedDigest ?? header})`,
      );
    }
    const body = parseJson(raw, `${this.name}: the manifest`);
    if (body.schemaVersion === 1) {
      throw new RegistryError(
        'Unsupported',
        `${this.name}: schema 1 manifests are not supported (push the image again with a current Docker)`,
      );
    }
    const contentType = (res.headers.get('content-type') ?? '').split(';')[0]!.trim();
    const mediaType = typeof body.mediaType === 'string' ? body.mediaType : contentType;
    return { digest, mediaType, body };
  }

  async blob(digest: string): Promise<Buffer> {
    const res = await this.#get(`blobs/${digest}`, '*/*');
    const raw = await readLimited(res, MAX_CONFIG_BYTES, `${this.name}: the config`);
    if (sha256(raw) !== digest) {
      throw new RegistryError(
        'InvalidResponse',
        `${this.name}: the config does not match its digest`,
      );
    }
    return raw;
  }

  /** GET `/v2/REPOSITORY/PATH`, authenticating once if the registry asks. */
  async #get(path: string, accept: string): Promise<Response> {
    const url = `${this.#base}/v2/${this.#ref.repository}/${path}`;
    let res = await this.#send(url, accept);
    if (res.status === 401 && this.#authorization === undefined) {
      await res.body?.cancel();
      this.#authorization = await this.#token(res.headers.get('www-authenticate') ?? '');
      res = await this.#send(url, accept);
    }
    if (res.ok) return res;
    await res.body?.cancel();
    if (res.status === 404) {
      throw new RegistryError('NotFound', `${this.name}: not found in the registry`);
    }
    if (res.status === 401 || res.status === 403) {
      throw new RegistryError(
        'Unauthorized',
        `${this.name}: the registry refused access (${res.status}); the image is private or does not exist`,
      );
    }
    throw new RegistryError(
      'InvalidResponse',
      `${this.name}: the registry answered ${res.status} ${res.statusText}`.trim(),
    );
  }

  async #send(url: string, accept: string): Promise<Response> {
    try {
      return await this.#fetch(url, {
        headers: {
          accept,
          ...(this.#authorization ? { authorization: this.#authorization } : {}),
        },
        redirect: 'follow',
        signal: this.#signal,
      });
    } catch (err) {
      throw unreachable(this.name, this.#base, err);
    }
  }

  /** The authorization the registry's challenge asks for: a bearer token, or Basic. */
  async #token(header: string): Promise<string> {
    const challenge = parseChallenge(header);
    if (challenge?.scheme === 'basic' && this.#credentials) return basic(this.#credentials);
    if (challenge?.scheme !== 'bearer' || !challenge.params.realm) {
      throw new RegistryError(
        'Unauthorized',
        `${this.name}: the registry requires credentials (${challenge?.scheme ?? 'no'} authentication)`,
      );
    }
    let realm: URL;
    try {
      realm = new URL(challenge.params.realm);
    } catch {
      throw new RegistryError(
        'InvalidResponse',
        `${this.name}: the registry's token realm is not a URL`,
      );
    }
    if (realm.protocol !== 'https:' && realm.protocol !== 'http:') {
      throw new RegistryError(
        'InvalidResponse',
        `${this.name}: the registry's token realm is not HTTP(S)`,
      );
    }
    if (challenge.params.service) realm.searchParams.set('service', challenge.params.service);
    realm.searchParams.set('scope', `repository:${this.#ref.repository}:pull`);
    let res: Response;
    try {
      res = await this.#fetch(realm, {
        signal: this.#signal,
        redirect: 'follow',
        ...(this.#credentials ? { headers: { authorization: basic(this.#credentials) } } : {}),
      });
    } catch (err) {
      throw unreachable(this.name, realm.origin, err);
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new RegistryError(
        'Unauthorized',
        `${this.name}: the registry's token service refused ${this.#credentials ? 'the credentials of the pull secret' : 'an anonymous token'} (${res.status})`,
      );
    }
    const body = parseJson(await readLimited(res, MAX_TOKEN_BYTES, 'the token'), 'the token');
    const token = typeof body.token === 'string' ? body.token : body.access_token;
    if (typeof token !== 'string' || token === '') {
      throw new RegistryError('InvalidResponse', `${this.name}: the token service gave no token`);
    }
    return `Bearer ${token}`;
  }
}

function unreachable(name: string, where: string, err: unknown): RegistryError {
  if (err instanceof RegistryError) return err;
  const e = err as Error & { cause?: { code?: string; message?: string } };
  const why =
    e.name === 'TimeoutError' || e.name === 'AbortError'
      ? 'timed out'
      : (e.cause?.code ?? e.cause?.message ?? e.message);
  return new RegistryError('Unreachable', `${name}: cannot reach ${where}: ${why}`);
}

/**
 * Whether imports may read `registry` (`host[:port]`): `patterns` are `host[:port]` or
 * `*.domain[:port]` (any depth below the domain); a pattern without a port matches the registry
 * only without one. Undefined patterns allow every registry.
 */
export function registryAllowed(
  registry: string,
  patterns: readonly string[] | undefined,
): boolean {
  if (patterns === undefined) return true;
  const lower = registry.toLowerCase();
  return patterns.some((raw) => {
    const pattern = raw.toLowerCase();
    if (!pattern.startsWith('*.')) return lower === pattern;
    const suffix = pattern.slice(1); // `.example.com[:port]`
    return lower.endsWith(suffix) && lower.length > suffix.length;
  });
}
