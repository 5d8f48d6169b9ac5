/**
 * Container image references (`[REGISTRY/]REPOSITORY[:TAG][@DIGEST]`) as Docker reads them: the
 * grammar of the distribution project's `reference` package and Docker's normalisation (no
 * registry means Docker Hub, whose one-component names live under `library/`).
 */

export const DOCKER_HUB = 'docker.io';

export interface DockerImageReference {
  /** `docker.io`, `quay.io`, `127.0.0.1:5000`, `[::1]:5000`. */
  registry: string;
  /** `library/nginx`, `org/app`. */
  repository: string;
  tag?: string;
  /** `sha256:` and 64 hex digits. */
  digest?: string;
}

export type ParsedImageReference =
  { ok: true; reference: DockerImageReference } | { ok: false; message: string };

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN_LABEL = '[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?';
const DOMAIN = new RegExp(
  `^(?:${DOMAIN_LABEL}(?:\\.${DOMAIN_LABEL})*|\\[[0-9a-fA-F:.]+\\])(?::[0-9]{1,5})?$`,
);
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;
const MAX_NAME_LENGTH = 255;

/** True when the first path component names a registry rather than a repository. */
function isRegistryComponent(first: string): boolean {
  return /[.:]/.test(first) || first === 'localhost' || first !== first.toLowerCase();
}

/** Parses and normalises a reference; the message names what is wrong. */
export function parseDockerImageReference(input: string): ParsedImageReference {
  const fail = (why: string): ParsedImageReference => ({
    ok: false,
    message: `invalid image reference ${JSON.stringify(input)}: ${why}`,
  });
  if (input === '') return fail('it is empty');
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest))
      return fail('the digest must be sha256: and 64 lower-case hex digits');
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) {
      return fail('a tag is at most 128 letters, digits, underscores, periods and dashes');
    }
  }
  const slash = rest.indexOf('/');
  let registry = DOCKER_HUB;
  let path = rest;
  if (slash !== -1 && isRegistryComponent(rest.slice(0, slash))) {
    registry = rest.slice(0, slash);
    path = rest.slice(slash + 1);
    if (!DOMAIN.test(registry)) return fail(`"${registry}" is not a registry host[:port]`);
    const port = /:([0-9]+)$/.exec(registry)?.[1];
    if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) {
      return fail(`the registry port ${port} is out of range`);
    }
  }
  if (registry === 'index.docker.io') registry = DOCKER_HUB;
  if (path === '') return fail('the repository name is missing');
  const components = path.split('/');
  for (const c of components) {
    if (!COMPONENT.test(c)) {
      return fail(
        `"${c}" is not a repository name component (lower-case letters and digits, separated by '.', '_', '__' or '-')`,
      );
    }
  }
  if (registry === DOCKER_HUB && components.length === 1) path = `library/${path}`;
  if (`${registry}/${path}`.length > MAX_NAME_LENGTH) {
    return fail(`the name is longer than ${MAX_NAME_LENGTH} characters`);
  }
  return {
    ok: true,
    reference: {
      registry,
      repository: path,
      ...(tag !== undefined ? { tag } : {}),
      ...(digest !== undefined ? { digest } : {}),
    },
  };
}

/** `REGISTRY/REPOSITORY`, the fully qualified name without tag or digest. */
export function repositoryName(ref: DockerImageReference): string {
  return `${ref.registry}/${ref.repository}`;
}

/** The reference written out in full: `REGISTRY/REPOSITORY[:TAG][@DIGEST]`. */
export function formatDockerImageReference(ref: DockerImageReference): string {
  return `${repositoryName(ref)}${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest !== undefined ? `@${ref.digest}` : ''}`;
}

/** The tag a reference names: its own, `latest` when it has neither tag nor digest. */
export function referenceTag(ref: DockerImageReference): string | undefined {
  return ref.tag ?? (ref.digest ? undefined : 'latest');
}
