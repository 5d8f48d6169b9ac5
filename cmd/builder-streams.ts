/**
 * The shared builder image streams (`openshift/nodejs`, `openshift/python`, `openshift/static`),
 * made or moved through the API once the builder images are in the cluster registry, so
 * BuildConfigs written for OpenShift that name `namespace: openshift` find them. Each tag points
 * at its image by digest; a stream that already exists has its tags moved (which fires the
 * ImageChange triggers of BuildConfigs built on them) and keeps any tags an admin added.
 */
import type { BuilderImageStream } from '../agent/platform/builder-images.js';
import { isApiError } from '../src/api/index.js';
import { imageStreamKind } from '../src/api/kinds/index.js';
import type { ImageStream, TagReference } from '../src/api/kinds/image-stream.js';
import type { ApiClient } from '../src/client/index.js';

export const BUILDER_NAMESPACE = 'openshift';

const DESCRIPTIONS: Record<string, string> = {
  nodejs: 'Build and run Node.js applications: npm install, then npm start.',
  python: 'Build and run Python applications: pip install -r requirements.txt, then app.py.',
  static: 'Serve static files (index.html and the rest of the source) on port 8080.',
};

function specTags(builder: BuilderImageStream): TagReference[] {
  return builder.tags.map((t) => ({
    name: t.tag,
    annotations: {
      description: DESCRIPTIONS[builder.name] ?? builder.name,
      tags: `builder,${builder.name}`,
    },
    from: { kind: 'DockerImage', name: t.dockerImageReference },
    referencePolicy: { type: 'Source' },
  }));
}

/** Creates or updates each builder's stream; returns the names it changed. */
export async function ensureBuilderStreams(
  client: ApiClient,
  builders: readonly BuilderImageStream[],
): Promise<string[]> {
  const changed: string[] = [];
  for (const builder of builders) {
    const tags = specTags(builder);
    let current: ImageStream | undefined;
    try {
      current = await client.get<ImageStream>(imageStreamKind, builder.name, {
        namespace: BUILDER_NAMESPACE,
      });
    } catch (err) {
      if (!isApiError(err) || err.code !== 404) throw err;
    }
    if (!current) {
      await client.create<ImageStream>(
        imageStreamKind,
        {
          apiVersion: 'image.openshift.io/v1',
          kind: 'ImageStream',
          metadata: { name: builder.name, namespace: BUILDER_NAMESPACE },
          spec: { tags },
        },
        { namespace: BUILDER_NAMESPACE },
      );
      changed.push(builder.name);
      continue;
    }
    const existing = current.spec?.tags ?? [];
    const moved = tags.filter(
      (t) => existing.find((e) => e.name === t.name)?.from?.name !== t.from?.name,
    );
    if (moved.length === 0) continue;
    const names = new Set(tags.map((t) => t.name));
    await client.update<ImageStream>(
      imageStreamKind,
      {
        ...current,
        spec: { ...current.spec, tags: [...existing.filter((e) => !names.has(e.name)), ...tags] },
      },
      { namespace: BUILDER_NAMESPACE },
    );
    changed.push(builder.name);
  }
  return changed;
}
