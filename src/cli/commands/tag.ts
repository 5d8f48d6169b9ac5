/**
 * `tag SOURCE DEST...` and `tag -d DEST...`, as `oc tag` does them: a source stream tag is
 * resolved to the image it points at now (`--alias` keeps following the tag instead); a source
 * with a registry host, or `--source=docker`, is an external image. Each destination's spec tag
 * is set through the ImageStreamTag resource, which creates the stream when needed.
 */
import type { Command } from 'commander';
import { isApiError } from '../../api/index.js';
import { imageStreamKind, imageStreamTagKind } from '../../api/kinds/index.js';
import type { ImageStreamTag } from '../../api/kinds/image-stream-tag.js';
import { specTag, type ImageStream } from '../../api/kinds/image-stream.js';
import { timeAgo } from '../../api/kinds/time-columns.js';
import type { ApiClient } from '../../client/index.js';
import type { CliContext } from '../context.js';
import { CliError } from '../errors.js';
import { describeImage, lookUpImage, shortImageId } from '../generate/image-lookup.js';
import { parseImageStreamRef, type ImageStreamRef } from '../generate/source-arg.js';

interface TagOptions {
  namespace?: string;
  delete?: boolean;
  alias?: boolean;
  source?: string;
  scheduled?: boolean;
}

type From = {
  kind: 'DockerImage' | 'ImageStreamTag' | 'ImageStreamImage';
  name: string;
  namespace?: string;
};

function destination(arg: string): ImageStreamRef {
  const ref = parseImageStreamRef(arg);
  if (!ref || !arg.includes(':'))
    throw new CliError(
      `"${arg}": a destination must be an image stream tag, NAME:TAG or PROJECT/NAME:TAG`,
    );
  return ref;
}

async function resolveSource(
  client: ApiClient,
  namespace: string,
  source: string,
  opts: TagOptions,
): Promise<{ from: From; shown: string }> {
  const kind = opts.source?.toLowerCase();
  if (kind !== undefined && !['docker', 'istag', 'imagestreamtag'].includes(kind))
    throw new CliError(`--source "${opts.source}": must be docker or istag`);
  const ref = kind === 'docker' ? undefined : parseImageStreamRef(source);
  if (!ref) {
    if (kind && kind !== 'docker') throw new CliError(`"${source}" is not an image stream tag`);
    return { from: { kind: 'DockerImage', name: source }, shown: source };
  }
  const ns = ref.namespace ?? namespace;
  const from = ref.namespace ? { namespace: ref.namespace } : {};
  if (opts.alias) {
    return {
      from: { kind: 'ImageStreamTag', name: `${ref.name}:${ref.tag}`, ...from },
      shown: `${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}:${ref.tag}`,
    };
  }
  let istag: ImageStreamTag;
  try {
    istag = await client.get<ImageStreamTag>(imageStreamTagKind, `${ref.name}:${ref.tag}`, {
      namespace: ns,
    });
  } catch (err) {
    if (isApiError(err) && err.code === 404)
      throw new CliError(`"${ns}/${ref.name}:${ref.tag}" has no image yet: nothing to tag`);
    throw err;
  }
  const digest = istag.image.metadata.name;
  return {
    from: { kind: 'ImageStreamImage', name: `${ref.name}@${digest}`, ...from },
    shown: `${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}@${digest}`,
  };
}

export function registerTagCommand(program: Command, ctx: CliContext): void {
  program
    .command('tag')
    .description('Point image stream tags at an image or another tag; -d removes tags')
    .argument('<args...>', 'SOURCE DEST [DEST...], or -d DEST [DEST...]')
    .option('-n, --namespace <namespace>', 'the project (default: the current project)')
    .option('-d, --delete', 'remove the given tags')
    .option('--alias', 'follow the source tag instead of copying its current image')
    .option('--source <kind>', 'what SOURCE is: docker (an image reference) or istag')
    .option('--scheduled', 'import an external SOURCE again periodically (its registry is read)')
    .action(async (args: string[], opts: TagOptions) => {
      const client = await ctx.client();
      const namespace = await ctx.namespace(opts.namespace);
      if (opts.delete) {
        for (const arg of args) {
          const dest = destination(arg);
          const ns = dest.namespace ?? namespace;
          await client.delete(imageStreamTagKind, `${dest.name}:${dest.tag}`, { namespace: ns });
          ctx.out(`Deleted tag ${ns}/${dest.name}:${dest.tag}.`);
        }
        return;
      }
      if (args.length < 2) throw new CliError('tag needs a SOURCE and at least one DEST');
      const [source, ...dests] = args as [string, ...string[]];
      const parsedDests = dests.map(destination);
      const { from, shown } = await resolveSource(client, namespace, source, opts);
      if (opts.scheduled && from.kind !== 'DockerImage') {
        throw new CliError(
          `--scheduled: only an external image is imported periodically; "${source}" is an image stream tag (use --source docker for an image reference)`,
        );
      }
      for (const dest of parsedDests) {
        const ns = dest.namespace ?? namespace;
        const name = `${dest.name}:${dest.tag}`;
        const body = {
          apiVersion: 'image.openshift.io/v1',
          kind: 'ImageStreamTag',
          metadata: { name, namespace: ns },
          tag: {
            name: dest.tag,
            from,
            ...(opts.scheduled ? { importPolicy: { scheduled: true } } : {}),
          },
        } as unknown as ImageStreamTag;
        await client.update(imageStreamTagKind, body, { namespace: ns });
        ctx.out(`Tag ${name} set to ${shown}.`);
      }
    });
}

/**
 * `import-image NAME[:TAG] [--from=IMAGE] [--confirm] [--insecure] [--scheduled]`, as
 * `oc import-image`: the master reads the image from its registry and the tag's newest image
 * becomes that image, pinned by digest. Without --from the tag's own external image is imported
 * again (a moved upstream tag moves the stream tag, and triggers follow); a new stream needs
 * --confirm. `--scheduled` has the controller-manager import it again every interval.
 */
export function registerImportImageCommand(program: Command, ctx: CliContext): void {
  program
    .command('import-image')
    .description('Import an image from its registry into an image stream tag')
    .argument('<stream>', 'NAME[:TAG] of the image stream')
    .option('-n, --namespace <namespace>', 'the project (default: the current project)')
    .option('--from <image>', "the image to import (default: the tag's image, or NAME[:TAG])")
    .option('--confirm', 'create the image stream if it does not exist')
    .option('--insecure', 'the registry may be spoken to over plain HTTP')
    .option('--scheduled', 'import the image again periodically (every 15 minutes by default)')
    .option('--reference-policy <policy>', 'source or local (default: source)')
    .action(
      async (
        arg: string,
        opts: {
          namespace?: string;
          from?: string;
          confirm?: boolean;
          insecure?: boolean;
          scheduled?: boolean;
          referencePolicy?: string;
        },
      ) => {
        const ref = parseImageStreamRef(arg);
        if (!ref || ref.namespace) throw new CliError(`"${arg}": expected NAME[:TAG]`);
        const policy = opts.referencePolicy?.toLowerCase() ?? 'source';
        if (policy !== 'source' && policy !== 'local')
          throw new CliError(
            `--reference-policy "${opts.referencePolicy}": must be source or local`,
          );
        const client = await ctx.client();
        const namespace = await ctx.namespace(opts.namespace);
        const stream = await client
          .get<ImageStream>(imageStreamKind, ref.name, { namespace })
          .catch((err: unknown) => {
            if (isApiError(err) && err.code === 404) return undefined;
            throw err;
          });
        if (!stream && !opts.confirm)
          throw new CliError(
            `image stream "${ref.name}" does not exist; pass --confirm to create it from ${opts.from ?? arg}`,
          );
        let from = opts.from;
        const existing = stream ? specTag(stream, ref.tag) : undefined;
        // A tag imported again keeps its policy unless the flags change it.
        const importPolicy = {
          ...existing?.importPolicy,
          ...(opts.insecure ? { insecure: true } : {}),
          ...(opts.scheduled ? { scheduled: true } : {}),
        };
        if (from === undefined) {
          const own = existing?.from;
          if (own?.kind === 'DockerImage') from = own.name;
          else if (stream && !opts.confirm)
            throw new CliError(
              `tag "${ref.tag}" of image stream "${ref.name}" does not point at an external image; give it with --from`,
            );
          else from = arg;
        }
        const { result, answer } = await lookUpImage(client, namespace, {
          stream: ref.name,
          import: true,
          image: {
            from: { kind: 'DockerImage', name: from },
            to: { name: ref.tag },
            ...(Object.keys(importPolicy).length > 0 ? { importPolicy } : {}),
            referencePolicy: { type: policy === 'local' ? 'Local' : 'Source' },
          },
        });
        const image = result.image;
        if (result.status.status !== 'Success' || !image || !answer.status?.import)
          throw new CliError(
            `tag ${ref.tag} failed: ${result.status.message ?? result.status.reason ?? 'the image could not be imported'}`,
          );
        ctx.out(`imagestream.image.openshift.io/${ref.name} imported`);
        const created = image.dockerImageMetadata.Created;
        ctx.out(
          `Tag ${ref.name}:${ref.tag} set to ${from}: image ${shortImageId(image.metadata.name)}` +
            `${created ? `, created ${timeAgo(created, new Date())}` : ''}`,
        );
        ctx.out(`  ${image.dockerImageReference}`);
        for (const line of describeImage(image)) ctx.out(`  ${line}`);
      },
    );
}
