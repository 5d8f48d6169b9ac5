import { z } from 'zod';
import type { StatusCause } from '../errors.js';
import { hasControlCharacter } from '../git-source.js';
import type { ApiObject, ObjectMeta } from '../meta.js';
import { defineKind } from '../registry.js';
import { timeAgo } from './time-columns.js';

/** `{kind, name, namespace}`: what a tag, a build or a trigger points at. */
export interface ImageReference {
  kind?: string;
  name: string;
  namespace?: string;
  [field: string]: unknown;
}

export interface TagReference {
  name: string;
  from?: ImageReference;
  annotations?: Record<string, string>;
  reference?: boolean;
  /** Server-owned: the stream's generation when this tag's `from` last changed. */
  generation?: number;
  importPolicy?: { insecure?: boolean; scheduled?: boolean };
  referencePolicy?: { type?: 'Source' | 'Local' };
}

/** One image a tag pointed at; a tag's items are newest first. */
export interface TagEvent {
  created: string;
  dockerImageReference: string;
  /** The image's digest (`sha256:...`) when known. */
  image?: string;
  generation?: number;
}

export interface NamedTagEventList {
  tag: string;
  items: TagEvent[];
  conditions?: unknown[];
}

export interface ImageStreamSpec {
  lookupPolicy?: { local?: boolean };
  dockerImageRepository?: string;
  tags?: TagReference[];
}

export interface ImageStreamStatus {
  dockerImageRepository?: string;
  publicDockerImageRepository?: string;
  tags?: NamedTagEventList[];
}

export interface ImageStream extends ApiObject {
  metadata: ObjectMeta;
  spec?: ImageStreamSpec;
  status?: ImageStreamStatus;
}

export const IMAGE_GROUP = 'image.openshift.io';
export const IMAGE_REFERENCE_KINDS = ['DockerImage', 'ImageStreamTag', 'ImageStreamImage'] as const;

/** How many images a tag's history keeps (newest first). */
export const TAG_HISTORY_MAX = 10;

const tagNameRe = /^[\w][\w.-]{0,127}$/;
const digestRe = /^sha256:[0-9a-f]{64}$/;

export const imageReferenceSchema = z.looseObject({
  kind: z.string().optional(),
  name: z.string().min(1),
  namespace: z.string().optional(),
});

const tagEventSchema = z.looseObject({
  created: z.string(),
  dockerImageReference: z.string().min(1),
  image: z.string().optional(),
  generation: z.number().int().optional(),
});

const schema = z.looseObject({
  spec: z
    .looseObject({
      lookupPolicy: z.looseObject({ local: z.boolean().optional() }).optional(),
      dockerImageRepository: z.string().optional(),
      tags: z
        .array(
          z.looseObject({
            name: z.string().min(1),
            from: imageReferenceSchema.optional(),
            annotations: z.record(z.string(), z.string()).nullable().optional(),
            reference: z.boolean().optional(),
            generation: z.number().int().nullable().optional(),
            importPolicy: z.looseObject({}).optional(),
            referencePolicy: z
              .looseObject({ type: z.enum(['Source', 'Local']).optional() })
              .optional(),
          }),
        )
        .optional(),
    })
    .optional(),
  status: z
    .looseObject({
      dockerImageRepository: z.string().optional(),
      publicDockerImageRepository: z.string().optional(),
      tags: z
        .array(
          z.looseObject({
            tag: z.string().min(1),
            items: z.array(tagEventSchema).nullable().optional(),
          }),
        )
        .optional(),
    })
    .optional(),
});

/** Problems with a tag name (`latest`, `1.0`): word characters, '.' and '-', at most 128. */
export function tagNameProblems(tag: string): string[] {
  return tagNameRe.test(tag)
    ? []
    : [
        "a tag must consist of word characters, '.' or '-', begin with a word character and have at most 128 characters",
      ];
}

/** `nodejs:latest` -> stream and tag; undefined when it is not of that form. */
export function parseImageStreamTagName(name: string): { stream: string; tag: string } | undefined {
  const colon = name.indexOf(':');
  if (colon <= 0 || colon === name.length - 1) return undefined;
  const stream = name.slice(0, colon);
  const tag = name.slice(colon + 1);
  if (tag.includes(':') || tag.includes('@') || stream.includes('@')) return undefined;
  return { stream, tag };
}

/** `nodejs@sha256:...` -> stream and image digest. */
export function parseImageStreamImageName(
  name: string,
): { stream: string; image: string } | undefined {
  const at = name.indexOf('@');
  if (at <= 0) return undefined;
  return { stream: name.slice(0, at), image: name.slice(at + 1) };
}

/** Problems with a reference to an image, for a field such as `spec.tags[0].from`. */
export function validateImageReference(
  ref: ImageReference,
  field: string,
  allowed: readonly string[] = IMAGE_REFERENCE_KINDS,
  options: { bareTag?: boolean } = {},
): StatusCause[] {
  const causes: StatusCause[] = [];
  const kind = ref.kind ?? '';
  if (!allowed.includes(kind)) {
    causes.push({
      field: `${field}.kind`,
      message: `Unsupported value: ${JSON.stringify(kind)}: supported values: ${allowed.map((k) => `"${k}"`).join(', ')}`,
      reason: kind ? 'FieldValueNotSupported' : 'FieldValueRequired',
    });
    return causes;
  }
  const name = ref.name;
  const bad = (why: string): void => {
    causes.push({
      field: `${field}.name`,
      message: `Invalid value: ${JSON.stringify(name)}: ${why}`,
      reason: 'FieldValueInvalid',
    });
  };
  if (/\s/.test(name) || hasControlCharacter(name) || name.startsWith('-')) {
    bad("must not contain whitespace or control characters, or begin with '-'");
    return causes;
  }
  if (kind === 'ImageStreamTag') {
    const parsed = parseImageStreamTagName(name);
    if (!parsed && !(options.bareTag && tagNameRe.test(name))) {
      bad('must be of the form <stream>:<tag>');
    } else if (parsed && tagNameProblems(parsed.tag).length > 0) {
      bad(tagNameProblems(parsed.tag)[0]!);
    }
  } else if (kind === 'ImageStreamImage') {
    if (!parseImageStreamImageName(name)) bad('must be of the form <stream>@<digest>');
  }
  return causes;
}

function validateImageStream(is: ImageStream): StatusCause[] {
  const causes: StatusCause[] = [];
  const seen = new Set<string>();
  (is.spec?.tags ?? []).forEach((tag, i) => {
    const field = `spec.tags[${i}].name`;
    for (const why of tagNameProblems(tag.name)) {
      causes.push({
        field,
        message: `Invalid value: ${JSON.stringify(tag.name)}: ${why}`,
        reason: 'FieldValueInvalid',
      });
    }
    if (seen.has(tag.name)) {
      causes.push({
        field,
        message: `Duplicate value: ${JSON.stringify(tag.name)}`,
        reason: 'FieldValueDuplicate',
      });
    }
    seen.add(tag.name);
    if (tag.from) {
      causes.push(
        ...validateImageReference(tag.from, `spec.tags[${i}].from`, IMAGE_REFERENCE_KINDS, {
          bareTag: true,
        }),
      );
      if (
        tag.from.kind === 'ImageStreamTag' &&
        !tag.from.namespace &&
        (tag.from.name === tag.name || tag.from.name === `${is.metadata.name ?? ''}:${tag.name}`)
      ) {
        causes.push({
          field: `spec.tags[${i}].from.name`,
          message: `Invalid value: ${JSON.stringify(tag.from.name)}: a tag cannot point at itself`,
          reason: 'FieldValueInvalid',
        });
      }
    }
  });
  return causes;
}

/** The newest image of a tag, if it has one. */
export function latestTagEvent(stream: ImageStream, tag: string): TagEvent | undefined {
  return stream.status?.tags?.find((t) => t.tag === tag)?.items?.[0];
}

export function specTag(stream: ImageStream, tag: string): TagReference | undefined {
  return stream.spec?.tags?.find((t) => t.name === tag);
}

/** Where a stream's images live in the cluster registry: `REGISTRY/NS/NAME`. */
export function imageStreamRepository(registry: string, namespace: string, name: string): string {
  return `${registry.replace(/\/+$/, '')}/${namespace}/${name}`;
}

/**
 * A status with `event` as the newest image of `tag`, history kept (at most TAG_HISTORY_MAX);
 * the same status when the tag already points at that image.
 */
export function withTagEvent(
  status: ImageStreamStatus | undefined,
  tag: string,
  event: TagEvent,
): ImageStreamStatus {
  const tags = [...(status?.tags ?? [])];
  const index = tags.findIndex((t) => t.tag === tag);
  const current = index === -1 ? undefined : tags[index]!;
  const newest = current?.items?.[0];
  if (
    newest &&
    newest.dockerImageReference === event.dockerImageReference &&
    (newest.image ?? '') === (event.image ?? '')
  ) {
    return status ?? {};
  }
  const items = [event, ...(current?.items ?? [])].slice(0, TAG_HISTORY_MAX);
  const next: NamedTagEventList = { ...(current ?? { tag }), tag, items };
  if (index === -1) tags.push(next);
  else tags[index] = next;
  return { ...status, tags };
}

/** What an image reference resolves to: a pull spec (and digest) or why not. */
export type ResolvedImage =
  { ok: true; dockerImageReference: string; image?: string } | { ok: false; message: string };

/** Looks a stream up by namespace and name (an informer cache, the store...). */
export type StreamLookup = (namespace: string, name: string) => ImageStream | undefined;

/**
 * Resolves a DockerImage, ImageStreamTag or ImageStreamImage reference to the image it means
 * now: the pull spec itself, the tag's newest image, or the stream's image with that digest.
 * `namespace` is the namespace a reference without one is in; `stream`, for references in a
 * stream's own spec, is the stream a bare tag name (`1.0`) refers to.
 */
export function resolveImageReference(
  ref: ImageReference,
  namespace: string,
  lookup: StreamLookup,
  stream?: string,
): ResolvedImage {
  const ns = ref.namespace || namespace;
  switch (ref.kind) {
    case 'DockerImage': {
      const digest = /@(sha256:[0-9a-f]{64})$/.exec(ref.name)?.[1];
      return { ok: true, dockerImageReference: ref.name, ...(digest ? { image: digest } : {}) };
    }
    case 'ImageStreamTag': {
      const parsed =
        parseImageStreamTagName(ref.name) ??
        (stream && tagNameRe.test(ref.name) ? { stream, tag: ref.name } : undefined);
      if (!parsed) return { ok: false, message: `"${ref.name}" is not of the form <stream>:<tag>` };
      const found = lookup(ns, parsed.stream);
      if (!found) {
        return {
          ok: false,
          message: `the image stream ${ns}/${parsed.stream} does not exist`,
        };
      }
      const event = latestTagEvent(found, parsed.tag);
      if (!event) {
        return {
          ok: false,
          message: `the image stream tag ${ns}/${parsed.stream}:${parsed.tag} has no image yet`,
        };
      }
      return {
        ok: true,
        dockerImageReference: event.dockerImageReference,
        ...(event.image ? { image: event.image } : {}),
      };
    }
    case 'ImageStreamImage': {
      const parsed = parseImageStreamImageName(ref.name);
      if (!parsed) return { ok: false, message: `"${ref.name}" is not of the form <stream>@<id>` };
      const found = lookup(ns, parsed.stream);
      if (!found) {
        return { ok: false, message: `the image stream ${ns}/${parsed.stream} does not exist` };
      }
      for (const list of found.status?.tags ?? []) {
        for (const item of list.items ?? []) {
          if (item.image === parsed.image) {
            return { ok: true, dockerImageReference: item.dockerImageReference, image: item.image };
          }
        }
      }
      return {
        ok: false,
        message: `the image stream ${ns}/${parsed.stream} has no image ${parsed.image}`,
      };
    }
    default:
      return { ok: false, message: `unsupported image reference kind "${ref.kind ?? ''}"` };
  }
}

/** True for a `sha256:` digest of 64 hex digits. */
export function isImageDigest(value: string): boolean {
  return digestRe.test(value);
}

/** Status tags in `oc`'s order: `latest` first, then by name. */
function sortedTags(is: ImageStream): string[] {
  const tags = (is.status?.tags ?? []).filter((t) => (t.items ?? []).length > 0).map((t) => t.tag);
  return tags.sort((a, b) => (a === 'latest' ? -1 : b === 'latest' ? 1 : a.localeCompare(b)));
}

function tagsColumn(is: ImageStream): string {
  const tags = sortedTags(is);
  if (tags.length <= 3) return tags.join(',');
  return `${tags.slice(0, 3).join(',')} + ${tags.length - 3} more...`;
}

function updatedColumn(is: ImageStream, now: Date): string {
  let newest: string | undefined;
  for (const t of is.status?.tags ?? []) {
    const created = t.items?.[0]?.created;
    if (created && (!newest || Date.parse(created) > Date.parse(newest))) newest = created;
  }
  return timeAgo(newest, now);
}

export const imageStreamKind = defineKind<ImageStream>({
  kind: 'ImageStream',
  group: IMAGE_GROUP,
  version: 'v1',
  plural: 'imagestreams',
  shortNames: ['is'],
  aliasApiVersions: ['v1'],
  namespaced: true,
  schema,
  validate: validateImageStream,
  statusSubresource: true,
  columns: [
    {
      header: 'IMAGE REPOSITORY',
      value: (is) =>
        is.status?.publicDockerImageRepository || is.status?.dockerImageRepository || '',
    },
    { header: 'TAGS', value: tagsColumn },
    { header: 'UPDATED', value: updatedColumn },
  ],
});
