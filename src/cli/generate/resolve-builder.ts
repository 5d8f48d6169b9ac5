/**
 * Finds the builder image stream a `BUILDER~REPO` or a detected language names, as `oc` does:
 * an explicit `NS/NAME:TAG` in that project; a bare `NAME[:TAG]` in the current project first,
 * then in the shared `openshift` project. Anything with a registry host is a plain image, for
 * which a builder stream is created.
 */
import { isApiError, type AnyKindDefinition, type ApiObject } from '../../api/index.js';
import type { ApiClient } from '../../client/index.js';
import { CliError } from '../errors.js';
import { parseImageStreamRef } from './source-arg.js';

export const SHARED_NAMESPACE = 'openshift';

interface StreamView extends ApiObject {
  spec?: { tags?: { name: string; annotations?: Record<string, string> }[] };
  status?: {
    tags?: { tag: string; items?: { dockerImageReference?: string; image?: string }[] }[];
  };
}

export type ResolvedBuilder =
  | {
      kind: 'ImageStreamTag';
      namespace: string;
      stream: string;
      tag: string;
      /** The image the tag points at now, if it has one. */
      image: string | undefined;
      description: string | undefined;
    }
  | { kind: 'DockerImage'; image: string };

function hasTag(stream: StreamView, tag: string): boolean {
  return (
    (stream.spec?.tags ?? []).some((t) => t.name === tag) ||
    (stream.status?.tags ?? []).some((t) => t.tag === tag)
  );
}

export async function resolveBuilder(
  client: ApiClient,
  imageStreams: AnyKindDefinition,
  namespace: string,
  builder: string,
): Promise<ResolvedBuilder> {
  const ref = parseImageStreamRef(builder);
  if (!ref) return { kind: 'DockerImage', image: builder };
  const candidates = ref.namespace ? [ref.namespace] : [...new Set([namespace, SHARED_NAMESPACE])];
  for (const ns of candidates) {
    let stream: StreamView;
    try {
      stream = await client.get<StreamView>(imageStreams, ref.name, { namespace: ns });
    } catch (err) {
      if (isApiError(err) && (err.code === 404 || err.code === 403)) continue;
      throw err;
    }
    if (!hasTag(stream, ref.tag)) {
      const tags = (stream.spec?.tags ?? []).map((t) => t.name).join(', ') || 'none';
      throw new CliError(
        `image stream "${ns}/${ref.name}" has no tag "${ref.tag}" (tags: ${tags})`,
      );
    }
    const item = stream.status?.tags?.find((t) => t.tag === ref.tag)?.items?.[0];
    const specTag = stream.spec?.tags?.find((t) => t.name === ref.tag);
    return {
      kind: 'ImageStreamTag',
      namespace: ns,
      stream: ref.name,
      tag: ref.tag,
      image: item?.image ?? item?.dockerImageReference,
      description: specTag?.annotations?.description,
    };
  }
  throw new CliError(
    `unable to locate any image stream named "${builder}" in ${candidates.map((n) => `"${n}"`).join(' or ')}; ` +
      'give an image reference with its registry (e.g. quay.io/org/builder:tag) to use a plain image',
  );
}
