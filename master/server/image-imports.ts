/**
 * `POST .../imagestreamimports` (ImageStreamImport, create only): looks images up in their
 * registries and, with `spec.import`, records each one found as the newest image of its stream
 * tag, pinned by digest. See src/api/kinds/image-stream-import.ts for the object.
 *
 * An import changes the stream in one write (spec tags and status together), and only for the
 * images that were found: an image the registry could not give is reported in its status entry
 * and changes nothing.
 */
import { ApiError, isApiError, type StatusCause } from '../../src/api/errors.js';
import { parseDockerImageReference } from '../../src/api/image-reference.js';
import { imageStreamImportKind, imageStreamKind, secretKind } from '../../src/api/kinds/index.js';
import type { Secret } from '../../src/api/kinds/secret.js';
import { credentialsFor } from '../../src/api/registry-credentials.js';
import {
  IMAGE_GROUP,
  withTagEvent,
  type ImageStream,
  type TagReference,
} from '../../src/api/kinds/image-stream.js';
import {
  importTag,
  type Image,
  type ImageImportSpec,
  type ImageImportStatus,
  type ImageStreamImport,
} from '../../src/api/kinds/image-stream-import.js';
import { jsonEqual } from '../../src/api/merge-patch.js';
import { validateObject } from '../../src/api/validation.js';
import {
  registryAllowed,
  RegistryError,
  type RegistryClient,
  type RegistryImage,
} from '../images/registry-client.js';
import { timestamp, type RequestContext, type ResourceStore } from './resources.js';

const FAILURE_CODES: Record<RegistryError['reason'], number> = {
  NotFound: 404,
  Unauthorized: 401,
  Unreachable: 503,
  InvalidResponse: 502,
  Unsupported: 422,
};

/** What a registry said of an image, as OpenShift's Image object. */
export function imageOf(found: RegistryImage): Image {
  return {
    apiVersion: `${IMAGE_GROUP}/v1`,
    kind: 'Image',
    metadata: {
      name: found.digest,
      ...(found.created ? { creationTimestamp: found.created } : {}),
    },
    dockerImageReference: found.dockerImageReference,
    dockerImageManifestMediaType: found.manifestMediaType,
    dockerImageMetadataVersion: '1.0',
    dockerImageMetadata: {
      kind: 'DockerImage',
      apiVersion: '1.0',
      Id: found.configDigest,
      ...(found.created ? { Created: found.created } : {}),
      ...(found.architecture ? { Architecture: found.architecture } : {}),
      ...(found.os ? { Os: found.os } : {}),
      Size: found.size,
      Config: found.config,
    },
    dockerImageLayers: found.layers.map((l) => ({
      name: l.digest,
      size: l.size,
      mediaType: l.mediaType,
    })),
  };
}

export interface ImageImportsOptions {
  /** Registries imports may read (see registryAllowed); undefined: any. */
  allowedRegistries?: readonly string[] | undefined;
  /** The cluster's own registry, always allowed. */
  clusterRegistry?: string | undefined;
  /** A pull token for a repository of the cluster registry, which accepts no anonymous reads. */
  clusterRegistryToken?: ((repository: string) => Promise<string>) | undefined;
  now?: () => Date;
}

const PULL_SECRET_TYPES = new Set(['kubernetes.io/dockerconfigjson', 'kubernetes.io/dockercfg']);

export class ImageImports {
  readonly #resources: ResourceStore;
  readonly #registry: RegistryClient;
  readonly #allowed: readonly string[] | undefined;
  readonly #clusterRegistry: string | undefined;
  readonly #clusterRegistryToken: ((repository: string) => Promise<string>) | undefined;
  readonly #now: () => Date;

  constructor(
    resources: ResourceStore,
    registry: RegistryClient,
    options: ImageImportsOptions = {},
  ) {
    this.#resources = resources;
    this.#registry = registry;
    this.#allowed =
      options.allowedRegistries && options.clusterRegistry
        ? [...options.allowedRegistries, options.clusterRegistry]
        : options.allowedRegistries;
    this.#clusterRegistry = options.clusterRegistry;
    this.#clusterRegistryToken = options.clusterRegistryToken;
    this.#now = options.now ?? (() => new Date());
  }

  /** 422 for images of registries imports may not read, before anything is looked up. */
  #checkAllowed(images: readonly ImageImportSpec[], name: string): void {
    const causes: StatusCause[] = [];
    images.forEach((image, i) => {
      const parsed = parseDockerImageReference(image.from.name);
      if (parsed.ok && !registryAllowed(parsed.reference.registry, this.#allowed)) {
        causes.push({
          field: `spec.images[${i}].from.name`,
          message: `Forbidden: registry "${parsed.reference.registry}" is not allowed for imports (allowed: ${(this.#allowed ?? []).join(', ')})`,
          reason: 'FieldValueForbidden',
        });
      }
    });
    if (causes.length > 0) throw ApiError.invalid('ImageStreamImport', name, causes);
  }

  /**
   * Answers an ImageStreamImport. `mayImport` is asked before anything is looked up when the
   * request imports (it throws Forbidden when the user may not change the stream).
   */
  async create(
    namespace: string,
    body: unknown,
    ctx: RequestContext,
    mayImport: () => void,
    signal?: AbortSignal,
  ): Promise<ImageStreamImport> {
    const input = this.#resources.resolveBody(imageStreamImportKind, body);
    const meta = input.metadata as { namespace?: unknown } | undefined;
    if (meta && meta.namespace !== undefined && meta.namespace !== namespace) {
      throw ApiError.badRequest(
        'the namespace of the provided object does not match the namespace sent on the request',
      );
    }
    const request = validateObject(imageStreamImportKind, input) as ImageStreamImport;
    const name = request.metadata.name ?? '';
    const images = request.spec.images ?? [];
    this.#checkAllowed(images, name);
    if (request.spec.import) mayImport();
    const pullSecrets = await this.#pullSecrets(namespace);
    const results = await Promise.all(
      images.map((image) => this.#lookup(image, pullSecrets, signal)),
    );
    const statuses: ImageImportStatus[] = results.map((r, i) => ({
      status: r.ok
        ? { status: 'Success', code: 200 }
        : {
            status: 'Failure',
            reason: r.error.reason,
            message: r.error.message,
            code: FAILURE_CODES[r.error.reason],
          },
      ...(r.ok ? { image: imageOf(r.image) } : {}),
      ...(request.spec.import ? { tag: importTag(images[i]!) } : {}),
    }));
    const answer: ImageStreamImport = {
      apiVersion: `${IMAGE_GROUP}/v1`,
      kind: 'ImageStreamImport',
      metadata: { name, namespace, creationTimestamp: timestamp(this.#now()) },
      spec: request.spec,
      status: { images: statuses },
    };
    if (!request.spec.import) return answer;
    const found = images.flatMap((image, i) => {
      const r = results[i]!;
      return r.ok ? [{ image, found: r.image }] : [];
    });
    if (found.length === 0) return answer;
    answer.status!.import = await this.#record(namespace, name, found, ctx);
    return answer;
  }

  /**
   * The project's registry credentials (`kubernetes.io/dockerconfigjson` and `dockercfg`
   * Secrets), which imports use as OpenShift's do: each only for the registry it names.
   */
  async #pullSecrets(namespace: string): Promise<Secret[]> {
    const list = await this.#resources.list(secretKind, namespace);
    return (list.items as Secret[]).filter((s) => PULL_SECRET_TYPES.has(s.type ?? ''));
  }

  async #lookup(
    image: ImageImportSpec,
    pullSecrets: readonly Secret[],
    signal: AbortSignal | undefined,
  ): Promise<{ ok: true; image: RegistryImage } | { ok: false; error: RegistryError }> {
    const parsed = parseDockerImageReference(image.from.name);
    // Validation already refused what does not parse.
    if (!parsed.ok)
      return { ok: false, error: new RegistryError('InvalidResponse', parsed.message) };
    try {
      const credentials = credentialsFor(image.from.name, pullSecrets);
      const ownToken =
        !credentials && parsed.reference.registry === this.#clusterRegistry
          ? this.#clusterRegistryToken
          : undefined;
      const options = {
        ...(ownToken ? { bearerToken: await ownToken(parsed.reference.repository) } : {}),
        insecure: image.importPolicy?.insecure ?? false,
        ...(signal ? { signal } : {}),
        ...(credentials
          ? { credentials: { username: credentials.username, password: credentials.password } }
          : {}),
      };
      return { ok: true, image: await this.#registry.inspect(parsed.reference, options) };
    } catch (err) {
      if (err instanceof RegistryError) return { ok: false, error: err };
      throw err;
    }
  }

  /** Sets each tag's spec and newest image in one write, creating the stream if needed. */
  async #record(
    namespace: string,
    name: string,
    found: { image: ImageImportSpec; found: RegistryImage }[],
    ctx: RequestContext,
  ): Promise<ImageStream> {
    const created = timestamp(this.#now());
    const apply = (is: ImageStream): ImageStream => {
      const nextGeneration = (is.metadata.generation ?? 0) + 1;
      let tags = [...(is.spec?.tags ?? [])];
      let status = is.status ?? {};
      for (const { image, found: f } of found) {
        const tag = importTag(image)!;
        const existing = tags.find((t) => t.name === tag);
        const wanted: TagReference = {
          ...existing,
          name: tag,
          from: { kind: 'DockerImage', name: image.from.name },
          importPolicy: image.importPolicy ?? {},
          referencePolicy: { type: image.referencePolicy?.type ?? 'Source' },
        };
        const changed =
          !existing ||
          !jsonEqual(
            {
              from: existing.from,
              importPolicy: existing.importPolicy ?? {},
              referencePolicy: existing.referencePolicy,
            },
            {
              from: wanted.from,
              importPolicy: wanted.importPolicy,
              referencePolicy: wanted.referencePolicy,
            },
          );
        const generation = changed ? nextGeneration : (existing.generation ?? nextGeneration);
        tags = [...tags.filter((t) => t.name !== tag), { ...wanted, generation }];
        status = withTagEvent(status, tag, {
          created,
          dockerImageReference: f.dockerImageReference,
          image: f.digest,
          generation,
        });
      }
      return { ...is, spec: { ...is.spec, tags }, status };
    };
    let current: ImageStream | undefined;
    try {
      current = await this.#resources.get(imageStreamKind, namespace, name);
    } catch (err) {
      if (!isApiError(err, 'NotFound')) throw err;
    }
    if (!current) {
      try {
        return await this.#resources.create(
          imageStreamKind,
          namespace,
          apply({
            apiVersion: `${IMAGE_GROUP}/v1`,
            kind: 'ImageStream',
            metadata: { name, namespace, generation: 0 },
          }),
          ctx,
        );
      } catch (err) {
        // Created meanwhile: change it instead.
        if (!isApiError(err, 'AlreadyExists')) throw err;
      }
    }
    return await this.#resources.modify(imageStreamKind, namespace, name, (obj) => apply(obj));
  }
}
