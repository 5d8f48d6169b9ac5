import { z } from 'zod';
import type { ApiObject, ObjectMeta } from '../meta.js';
import { defineKind } from '../registry.js';
import {
  IMAGE_GROUP,
  imageReferenceSchema,
  specTag,
  type ImageStream,
  type TagReference,
} from './image-stream.js';
import { timeAgo } from './time-columns.js';

/**
 * `IS:TAG`: one tag of an image stream as an object of its own. Virtual, as in OpenShift:
 * nothing is stored under this kind; the server computes it from the stream (its newest image
 * and its spec tag), and writing it changes the stream's spec tag.
 */
export interface ImageStreamTag extends ApiObject {
  metadata: ObjectMeta;
  /** The stream's spec tag, or null when the tag only has images (pushed by a build). */
  tag: TagReference | null;
  generation: number;
  lookupPolicy: { local: boolean };
  image: {
    metadata: { name: string; creationTimestamp?: string };
    dockerImageReference: string;
  };
}

const schema = z.looseObject({
  tag: z
    .looseObject({
      name: z.string().optional(),
      from: imageReferenceSchema.optional(),
      reference: z.boolean().optional(),
    })
    .nullable()
    .optional(),
});

/** The tag `tag` of `stream` as an ImageStreamTag, or undefined when it has no image. */
export function imageStreamTagOf(stream: ImageStream, tag: string): ImageStreamTag | undefined {
  const event = stream.status?.tags?.find((t) => t.tag === tag)?.items?.[0];
  if (!event) return undefined;
  const { name = '', namespace, uid, resourceVersion } = stream.metadata;
  return {
    apiVersion: `${IMAGE_GROUP}/v1`,
    kind: 'ImageStreamTag',
    metadata: {
      name: `${name}:${tag}`,
      ...(namespace ? { namespace } : {}),
      ...(uid ? { uid } : {}),
      ...(resourceVersion ? { resourceVersion } : {}),
      creationTimestamp: event.created,
    },
    tag: specTag(stream, tag) ?? null,
    generation: event.generation ?? stream.metadata.generation ?? 1,
    lookupPolicy: { local: stream.spec?.lookupPolicy?.local ?? false },
    image: {
      metadata: {
        name: event.image ?? '',
        creationTimestamp: event.created,
      },
      dockerImageReference: event.dockerImageReference,
    },
  };
}

/** Every tag of a stream that has an image, by tag name. */
export function imageStreamTagsOf(stream: ImageStream): ImageStreamTag[] {
  return (stream.status?.tags ?? [])
    .map((t) => imageStreamTagOf(stream, t.tag))
    .filter((t): t is ImageStreamTag => t !== undefined)
    .sort((a, b) => (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''));
}

export const imageStreamTagKind = defineKind<ImageStreamTag>({
  kind: 'ImageStreamTag',
  group: IMAGE_GROUP,
  version: 'v1',
  plural: 'imagestreamtags',
  shortNames: ['istag'],
  aliasApiVersions: ['v1'],
  namespaced: true,
  schema,
  verbs: ['get', 'list', 'create', 'update', 'delete'],
  columns: [
    { header: 'IMAGE REFERENCE', value: (t) => t.image?.dockerImageReference ?? '' },
    { header: 'UPDATED', value: (t, now) => timeAgo(t.image?.metadata?.creationTimestamp, now) },
  ],
});
