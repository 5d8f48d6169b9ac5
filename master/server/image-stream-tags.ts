/**
 * ImageStreamTag (`istag`, name `STREAM:TAG`), a virtual resource over image streams, as in
 * OpenShift: GET computes it from the stream (its newest image of the tag and its spec tag);
 * list gives every tag with an image; POST/PUT set the stream's spec tag (`tag.from`),
 * creating the stream if needed (what `tag` does); DELETE removes the tag from the stream's
 * spec and status. Watch is not offered.
 */
import { ApiError, isApiError } from '../../src/api/errors.js';
import { imageStreamKind, imageStreamTagKind } from '../../src/api/kinds/index.js';
import {
  IMAGE_GROUP,
  parseImageStreamTagName,
  tagNameProblems,
  validateImageReference,
  type ImageStream,
  type TagReference,
} from '../../src/api/kinds/image-stream.js';
import {
  imageStreamTagOf,
  imageStreamTagsOf,
  type ImageStreamTag,
} from '../../src/api/kinds/image-stream-tag.js';
import { jsonEqual } from '../../src/api/merge-patch.js';
import type { ApiList } from '../../src/api/meta.js';
import { dns1123Subdomain } from '../../src/api/names.js';
import { parseWith } from '../../src/api/validation.js';
import { z } from 'zod';
import type { RequestContext, ResourceStore } from './resources.js';

const RESOURCE = `imagestreamtags.${IMAGE_GROUP}`;

function notFound(name: string): ApiError {
  return new ApiError('NotFound', `${RESOURCE} "${name}" not found`, {
    details: { name, group: IMAGE_GROUP, kind: 'imagestreamtags' },
  });
}

/** `STREAM:TAG` split and checked; 404 for a name that cannot be a tag. */
function parseName(name: string): { stream: string; tag: string } {
  const parsed = parseImageStreamTagName(name);
  if (
    !parsed ||
    dns1123Subdomain(parsed.stream).length > 0 ||
    tagNameProblems(parsed.tag).length > 0
  ) {
    throw ApiError.invalid('ImageStreamTag', name, [
      {
        field: 'metadata.name',
        message: `Invalid value: ${JSON.stringify(name)}: must be <stream>:<tag>, a stream name and a tag`,
        reason: 'FieldValueInvalid',
      },
    ]);
  }
  return parsed;
}

const bodySchema = z.looseObject({
  apiVersion: z.string().optional(),
  kind: z.string().optional(),
  metadata: z.looseObject({ name: z.string().optional(), namespace: z.string().optional() }),
  tag: z
    .looseObject({
      name: z.string().optional(),
      from: z.looseObject({
        kind: z.string().optional(),
        name: z.string().min(1),
        namespace: z.string().optional(),
      }),
      reference: z.boolean().optional(),
      importPolicy: z.looseObject({}).optional(),
      referencePolicy: z.looseObject({}).optional(),
      annotations: z.record(z.string(), z.string()).nullable().optional(),
    })
    .nullable()
    .optional(),
});

export class ImageStreamTags {
  readonly #resources: ResourceStore;

  constructor(resources: ResourceStore) {
    this.#resources = resources;
  }

  async list(namespace: string | undefined): Promise<ApiList<ImageStreamTag>> {
    const streams = await this.#resources.list(imageStreamKind, namespace);
    return {
      apiVersion: `${IMAGE_GROUP}/v1`,
      kind: 'ImageStreamTagList',
      metadata: { resourceVersion: streams.metadata.resourceVersion ?? '' },
      items: streams.items.flatMap((s) => imageStreamTagsOf(s as ImageStream)),
    };
  }

  async #stream(namespace: string, name: string, stream: string): Promise<ImageStream> {
    try {
      return await this.#resources.get(imageStreamKind, namespace, stream);
    } catch (err) {
      if (isApiError(err, 'NotFound')) throw notFound(name);
      throw err;
    }
  }

  async get(namespace: string, name: string): Promise<ImageStreamTag> {
    const { stream, tag } = parseName(name);
    const found = imageStreamTagOf(await this.#stream(namespace, name, stream), tag);
    if (!found) throw notFound(name);
    return found;
  }

  /** Removes the tag from the stream's spec and status. */
  async delete(namespace: string, name: string): Promise<Record<string, unknown>> {
    const { stream, tag } = parseName(name);
    await this.#stream(namespace, name, stream);
    await this.#resources.modify(imageStreamKind, namespace, stream, (current) => {
      const is = current as ImageStream;
      const inSpec = is.spec?.tags?.some((t) => t.name === tag) ?? false;
      const inStatus = is.status?.tags?.some((t) => t.tag === tag) ?? false;
      if (!inSpec && !inStatus) throw notFound(name);
      if (inSpec) is.spec = { ...is.spec, tags: is.spec!.tags!.filter((t) => t.name !== tag) };
      if (inStatus) {
        is.status = { ...is.status, tags: is.status!.tags!.filter((t) => t.tag !== tag) };
      }
      return is;
    });
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Success',
      message: `imagestreamtag "${name}" deleted`,
      details: { name, group: IMAGE_GROUP, kind: 'imagestreamtags' },
      code: 200,
    };
  }

  /**
   * Sets the spec tag from the body's `tag` (create: the tag must not exist yet). The stream
   * is created when missing. Answers the tag as it now stands (without an image until the
   * image stream controller or a build gives it one).
   */
  async put(
    namespace: string,
    urlName: string | undefined,
    body: unknown,
    create: boolean,
    ctx: RequestContext,
  ): Promise<ImageStreamTag> {
    const parsed = parseWith(bodySchema, body);
    const bodyName =
      typeof (body as { metadata?: { name?: unknown } } | null)?.metadata?.name === 'string'
        ? (body as { metadata: { name: string } }).metadata.name
        : '';
    if (!parsed.ok) throw ApiError.invalid('ImageStreamTag', urlName ?? bodyName, parsed.causes);
    const input = parsed.value;
    if (input.kind !== undefined && input.kind !== 'ImageStreamTag') {
      throw ApiError.badRequest(
        `the kind in the body (${input.kind}) does not match the resource in the URL (${RESOURCE})`,
      );
    }
    const name = urlName ?? input.metadata.name ?? '';
    if (
      urlName !== undefined &&
      input.metadata.name !== undefined &&
      input.metadata.name !== urlName
    ) {
      throw ApiError.badRequest(
        `the name of the object (${input.metadata.name}) does not match the name on the URL (${urlName})`,
      );
    }
    if (input.metadata.namespace !== undefined && input.metadata.namespace !== namespace) {
      throw ApiError.badRequest(
        'the namespace of the provided object does not match the namespace sent on the request',
      );
    }
    const { stream, tag } = parseName(name);
    if (!input.tag) {
      throw ApiError.invalid('ImageStreamTag', name, [
        { field: 'tag.from', message: 'Required value', reason: 'FieldValueRequired' },
      ]);
    }
    const causes = validateImageReference(input.tag.from, 'tag.from', undefined, { bareTag: true });
    if (causes.length > 0) throw ApiError.invalid('ImageStreamTag', name, causes);
    const { name: _n, ...rest } = input.tag;
    const reference: TagReference = { ...(rest as Omit<TagReference, 'name'>), name: tag };

    let current: ImageStream | undefined;
    try {
      current = await this.#resources.get(imageStreamKind, namespace, stream);
    } catch (err) {
      if (!isApiError(err, 'NotFound')) throw err;
    }
    if (!current) {
      const created = (await this.#resources.create(
        imageStreamKind,
        namespace,
        {
          apiVersion: `${IMAGE_GROUP}/v1`,
          kind: 'ImageStream',
          metadata: { name: stream, namespace },
          spec: { tags: [reference] },
        },
        ctx,
      )) as ImageStream;
      return this.#answer(created, name, tag);
    }
    const updated = (await this.#resources.modify(imageStreamKind, namespace, stream, (obj) => {
      const is = obj as ImageStream;
      const existing = is.spec?.tags?.find((t) => t.name === tag);
      if (create && (existing || is.status?.tags?.some((t) => t.tag === tag && t.items?.length))) {
        throw new ApiError('AlreadyExists', `${RESOURCE} "${name}" already exists`, {
          details: { name, group: IMAGE_GROUP, kind: 'imagestreamtags' },
        });
      }
      const changed = !existing || !jsonEqual(existing.from ?? null, reference.from ?? null);
      const generation = changed ? (is.metadata.generation ?? 1) + 1 : existing.generation;
      const next: TagReference = {
        ...reference,
        ...(generation === undefined ? {} : { generation }),
      };
      const others = (is.spec?.tags ?? []).filter((t) => t.name !== tag);
      is.spec = { ...is.spec, tags: [...others, next] };
      return is;
    })) as ImageStream;
    return this.#answer(updated, name, tag);
  }

  #answer(stream: ImageStream, name: string, tag: string): ImageStreamTag {
    const computed = imageStreamTagOf(stream, tag);
    if (computed) return computed;
    const { namespace, uid, resourceVersion, creationTimestamp } = stream.metadata;
    return {
      apiVersion: `${IMAGE_GROUP}/v1`,
      kind: imageStreamTagKind.kind,
      metadata: {
        name,
        ...(namespace ? { namespace } : {}),
        ...(uid ? { uid } : {}),
        ...(resourceVersion ? { resourceVersion } : {}),
        ...(creationTimestamp ? { creationTimestamp } : {}),
      },
      tag: stream.spec?.tags?.find((t) => t.name === tag) ?? null,
      generation: stream.metadata.generation ?? 1,
      lookupPolicy: { local: stream.spec?.lookupPolicy?.local ?? false },
      image: { metadata: { name: '' }, dockerImageReference: '' },
    };
  }
}
