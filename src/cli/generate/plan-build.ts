/**
 * The build half of `new-build` and `new-app`: from what the user named (a source repository,
 * perhaps with a builder, or binary input) to a BuildPlan, detecting the builder from the
 * repository's files when none was named. Says what it found through `say`.
 */
import type { AnyKindDefinition } from '../../api/index.js';
import type { ApiClient } from '../../client/index.js';
import { CliError } from '../errors.js';
import type { BuildPlan } from './build-objects.js';
import { detectBuilder, undetectedMessage } from './detect.js';
import { listRepositoryFiles } from './inspect-repo.js';
import { resolveBuilder, type ResolvedBuilder } from './resolve-builder.js';
import { parseImageStreamRef, sanitizeName, type SourceArg } from './source-arg.js';

export interface BuildRequest {
  name: string;
  /** A repository, or undefined for binary input. */
  source: SourceArg | undefined;
  strategy: 'source' | 'docker' | undefined;
  /** A builder image stream (`nodejs`, `openshift/nodejs:18`) or image reference. */
  builder: string | undefined;
  /** The builder is a plain image reference, whatever it looks like (`--image`). */
  builderIsImage: boolean;
  contextDir: string | undefined;
  env: { name: string; value: string }[];
  labels: Record<string, string>;
  generatedBy: BuildPlan['generatedBy'];
  /** The output image stream tag, `NAME[:TAG]` in this project. */
  outputTag: string;
  sourceSecret: string | undefined;
}

function builderFrom(
  resolved: ResolvedBuilder,
  name: string,
): Pick<BuildPlan, 'from' | 'builderImage'> {
  if (resolved.kind === 'ImageStreamTag') {
    return {
      from: {
        kind: 'ImageStreamTag',
        namespace: resolved.namespace,
        name: `${resolved.stream}:${resolved.tag}`,
      },
    };
  }
  // A plain image gets a stream of its own, named after the image, so ImageChange works.
  const last = resolved.image.split('/').pop() ?? resolved.image;
  const [repo, tag = 'latest'] = last.split('@')[0]!.split(':');
  const streamName = sanitizeName(repo ?? name, resolved.image);
  return {
    from: { kind: 'ImageStreamTag', name: `${streamName}:${tag}` },
    builderImage: { streamName, tag, image: resolved.image },
  };
}

function describeFound(
  say: (line: string) => void,
  resolved: ResolvedBuilder,
  asked: string,
): void {
  if (resolved.kind === 'ImageStreamTag') {
    say(
      `--> Found image stream tag "${resolved.namespace}/${resolved.stream}:${resolved.tag}" for "${asked}"` +
        (resolved.image ? ` (${resolved.image})` : ''),
    );
    if (resolved.description) say(`\n    ${resolved.description}`);
  } else {
    say(`--> Using the image "${resolved.image}" as the builder for "${asked}"`);
  }
}

export async function planBuild(
  client: ApiClient,
  imageStreams: AnyKindDefinition,
  namespace: string,
  req: BuildRequest,
  say: (line: string) => void,
): Promise<BuildPlan> {
  const { source } = req;
  let strategy: 'Source' | 'Docker';
  let builder = req.builder;
  if (req.strategy === 'docker') strategy = 'Docker';
  else if (builder || req.strategy === 'source') strategy = 'Source';
  else if (source) {
    const listing = await listRepositoryFiles(source.uri, source.ref, req.contextDir);
    const found = detectBuilder(listing.files);
    if (!found) throw new CliError(undetectedMessage(source.uri));
    say(
      `--> The source repository appears to match: ${found.strategy === 'Docker' ? 'a Dockerfile' : found.builder} (${found.reason})`,
    );
    strategy = found.strategy;
    if (found.strategy === 'Source') builder = found.builder;
  } else throw new CliError('--binary needs a builder: --image-stream NAME or --strategy docker');
  if (strategy === 'Source' && !builder)
    throw new CliError('a source build needs a builder: BUILDER~REPOSITORY or --image-stream');

  let from: BuildPlan['from'];
  let builderImage: BuildPlan['builderImage'];
  if (builder) {
    const resolved = req.builderIsImage
      ? ({ kind: 'DockerImage', image: builder } as const)
      : await resolveBuilder(client, imageStreams, namespace, builder);
    describeFound(say, resolved, builder);
    ({ from, builderImage } = builderFrom(resolved, req.name));
  }
  const toRef = parseImageStreamRef(req.outputTag);
  if (!toRef || toRef.namespace)
    throw new CliError(
      `--to "${req.outputTag}": must be an image stream tag NAME[:TAG] in this project`,
    );
  return {
    name: req.name,
    labels: req.labels,
    generatedBy: req.generatedBy,
    strategy,
    from,
    builderImage,
    source: source
      ? { type: 'Git', uri: source.uri, ref: source.ref, contextDir: req.contextDir }
      : { type: 'Binary', contextDir: req.contextDir },
    env: req.env,
    outputTag: `${toRef.name}:${toRef.tag}`,
    sourceSecret: req.sourceSecret,
  };
}
