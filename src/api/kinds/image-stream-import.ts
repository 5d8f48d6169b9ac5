import { z } from 'zod';
import type { StatusCause } from '../errors.js';
import { parseDockerImageReference, referenceTag } from '../image-reference.js';
import type { ApiObject, ObjectMeta } from '../meta.js';
import { defineKind } from '../registry.js';
import { IMAGE_GROUP, tagNameProblems, type ImageStream } from './image-stream.js';

/**
 * ImageStreamImport, as in OpenShift: a request (create only, nothing is stored under this kind)
 * to look images up in their registries. The answer says, per image, what the registry has (the
 * digest the tag stands for now and the image's metadata) or why it could not be read. With
 * `spec.import` the stream named by `metadata.name` is also changed: each image found becomes the
 * newest image of its tag, pinned by digest (`import-image`); without it nothing is changed
 * (`new-app IMAGE` reads exposed ports this way).
 */
export interface ImageStreamImport extends ApiObject {
  metadata: ObjectMeta;
  spec: {
    import: boolean;
    images?: ImageImportSpec[];
  };
  status?: {
    images?: ImageImportStatus[];
    /** The stream after an import. */
    import?: ImageStream;
  };
}

export interface ImageImportSpec {
  from: { kind: 'DockerImage'; name: string };
  /** The stream tag to import into; default: the reference's tag. */
  to?: { name: string };
  importPolicy?: { insecure?: boolean; scheduled?: boolean };
  referencePolicy?: { type?: 'Source' | 'Local' };
}

export interface ImageImportStatus {
  status: {
    status: 'Success' | 'Failure';
    message?: string;
    reason?: string;
    code?: number;
  };
  image?: Image;
  tag?: string;
}

/** The image configuration fields users meet (Docker's `config` object). */
export interface ImageConfig {
  User?: string;
  ExposedPorts?: Record<string, object>;
  Env?: string[];
  Cmd?: string[];
  Entrypoint?: string[];
  WorkingDir?: string;
  Labels?: Record<string, string>;
  Volumes?: Record<string, object>;
  StopSignal?: string;
}

/** An image as a registry described it (OpenShift's `Image`). */
export interface Image {
  apiVersion: string;
  kind: 'Image';
  metadata: { name: string; creationTimestamp?: string };
  dockerImageReference: string;
  dockerImageManifestMediaType: string;
  dockerImageMetadataVersion: '1.0';
  dockerImageMetadata: {
    kind: 'DockerImage';
    apiVersion: '1.0';
    Id: string;
    Created?: string;
    Architecture?: string;
    Os?: string;
    Size: number;
    Config: ImageConfig;
  };
  dockerImageLayers: { name: string; size: number; mediaType: string }[];
}

/** The most images one request may look up. */
export const MAX_IMPORT_IMAGES = 20;

const schema = z.looseObject({
  spec: z.looseObject({
    import: z.boolean(),
    images: z
      .array(
        z.looseObject({
          from: z.looseObject({ kind: z.string().optional(), name: z.string().min(1) }),
          to: z
            .looseObject({ name: z.string().min(1) })
            .nullable()
            .optional(),
          importPolicy: z
            .looseObject({ insecure: z.boolean().optional(), scheduled: z.boolean().optional() })
            .optional(),
          referencePolicy: z
            .looseObject({ type: z.enum(['Source', 'Local']).optional() })
            .optional(),
        }),
      )
      .nullable()
      .optional(),
    repository: z.unknown().optional(),
  }),
});

/** The stream tag an image is imported into: `to.name`, else the reference's own tag. */
export function importTag(image: ImageImportSpec): string | undefined {
  if (image.to?.name) return image.to.name;
  const parsed = parseDockerImageReference(image.from.name);
  return parsed.ok ? referenceTag(parsed.reference) : undefined;
}

function validateImport(obj: ImageStreamImport): StatusCause[] {
  const causes: StatusCause[] = [];
  const spec = obj.spec as ImageStreamImport['spec'] & { repository?: unknown };
  if (spec.repository !== undefined && spec.repository !== null) {
    causes.push({
      field: 'spec.repository',
      message:
        'Forbidden: importing a whole repository is not supported; list its tags in spec.images',
      reason: 'FieldValueForbidden',
    });
  }
  const images = spec.images ?? [];
  if (images.length === 0) {
    causes.push({
      field: 'spec.images',
      message: 'Required value: at least one image to look up',
      reason: 'FieldValueRequired',
    });
  }
  if (images.length > MAX_IMPORT_IMAGES) {
    causes.push({
      field: 'spec.images',
      message: `Too many: ${images.length}: must have at most ${MAX_IMPORT_IMAGES} items`,
      reason: 'FieldValueTooMany',
    });
    return causes;
  }
  const tags = new Set<string>();
  images.forEach((image, i) => {
    const field = `spec.images[${i}]`;
    if (image.from.kind !== 'DockerImage') {
      causes.push({
        field: `${field}.from.kind`,
        message: `Unsupported value: ${JSON.stringify(image.from.kind ?? '')}: supported values: "DockerImage"`,
        reason: 'FieldValueNotSupported',
      });
      return;
    }
    const parsed = parseDockerImageReference(image.from.name);
    if (!parsed.ok) {
      causes.push({
        field: `${field}.from.name`,
        message: `Invalid value: ${parsed.message}`,
        reason: 'FieldValueInvalid',
      });
      return;
    }
    if (image.to?.name !== undefined) {
      for (const why of tagNameProblems(image.to.name)) {
        causes.push({
          field: `${field}.to.name`,
          message: `Invalid value: ${JSON.stringify(image.to.name)}: ${why}`,
          reason: 'FieldValueInvalid',
        });
      }
    }
    if (!spec.import) return;
    const tag = importTag(image);
    if (tag === undefined) {
      causes.push({
        field: `${field}.to.name`,
        message: 'Required value: a reference by digest needs the tag to import it into',
        reason: 'FieldValueRequired',
      });
    } else if (tags.has(tag)) {
      causes.push({
        field: `${field}.to.name`,
        message: `Duplicate value: ${JSON.stringify(tag)}: another image is imported into this tag`,
        reason: 'FieldValueDuplicate',
      });
    } else {
      tags.add(tag);
    }
  });
  return causes;
}

export const imageStreamImportKind = defineKind<ImageStreamImport>({
  kind: 'ImageStreamImport',
  group: IMAGE_GROUP,
  version: 'v1',
  plural: 'imagestreamimports',
  aliasApiVersions: ['v1'],
  namespaced: true,
  schema,
  validate: validateImport,
  verbs: ['create'],
});

/**
 * The exposed ports of an image (`8080/tcp` keys) as port and protocol, sorted; SCTP ports, which
 * Services here do not carry, are left out.
 */
export function exposedPorts(image: Image): { port: number; protocol: 'TCP' | 'UDP' }[] {
  const out: { port: number; protocol: 'TCP' | 'UDP' }[] = [];
  for (const key of Object.keys(image.dockerImageMetadata.Config.ExposedPorts ?? {})) {
    const m = /^([0-9]{1,5})(?:\/(tcp|udp))?$/i.exec(key);
    const port = Number(m?.[1]);
    if (!m || port < 1 || port > 65535) continue;
    const protocol = (m[2] ?? 'tcp').toUpperCase() as 'TCP' | 'UDP';
    if (!out.some((p) => p.port === port && p.protocol === protocol)) out.push({ port, protocol });
  }
  return out.sort((a, b) => a.port - b.port || a.protocol.localeCompare(b.protocol));
}
