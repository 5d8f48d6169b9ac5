/**
 * Images looked up in their registries through the master (an ImageStreamImport), for
 * `import-image` and `new-app IMAGE`: the master reaches the registry, the CLI never does.
 */
import { imageStreamImportKind } from '../../api/kinds/index.js';
import {
  exposedPorts,
  type Image,
  type ImageImportSpec,
  type ImageImportStatus,
  type ImageStreamImport,
} from '../../api/kinds/image-stream-import.js';
import type { ApiClient } from '../../client/index.js';

export interface ImageLookup {
  /** The stream the request names (changed only when `import`). */
  stream: string;
  import: boolean;
  image: ImageImportSpec;
}

/** Posts one image's lookup; the master's answer for it and the whole answer. */
export async function lookUpImage(
  client: ApiClient,
  namespace: string,
  lookup: ImageLookup,
): Promise<{ result: ImageImportStatus; answer: ImageStreamImport }> {
  const answer = await client.create<ImageStreamImport>(
    imageStreamImportKind,
    {
      apiVersion: 'image.openshift.io/v1',
      kind: 'ImageStreamImport',
      metadata: { name: lookup.stream, namespace },
      spec: { import: lookup.import, images: [lookup.image] },
    },
    { namespace },
  );
  const result = answer.status?.images?.[0] ?? {
    status: { status: 'Failure' as const, message: 'the server gave no answer for the image' },
  };
  return { result, answer };
}

/** `sha256:0123456789ab...` as the short ID `docker images` shows. */
export function shortImageId(digest: string): string {
  return digest.replace(/^sha256:/, '').slice(0, 7);
}

/** What `import-image` and `new-app` print about an image: ports, user, command. */
export function describeImage(image: Image): string[] {
  const config = image.dockerImageMetadata.Config;
  const lines: string[] = [];
  const ports = exposedPorts(image).map((p) => `${p.port}/${p.protocol.toLowerCase()}`);
  if (ports.length > 0) lines.push(`Exposes ports: ${ports.join(', ')}`);
  if (config.User) lines.push(`Runs as user: ${config.User}`);
  const command = [...(config.Entrypoint ?? []), ...(config.Cmd ?? [])];
  if (command.length > 0) lines.push(`Command: ${command.join(' ')}`);
  return lines;
}

/** True when the image's user is root (none given, `root`, `0`, or `0:GROUP`). */
export function runsAsRoot(image: Image): boolean {
  const user = (image.dockerImageMetadata.Config.User ?? '').split(':')[0]!.trim();
  return user === '' || user === 'root' || user === '0';
}
