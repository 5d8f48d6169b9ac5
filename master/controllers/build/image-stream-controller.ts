import {
  imageStreamRepository,
  isApiError,
  objectKey,
  parseImageStreamImageName,
  parseImageStreamTagName,
  resolveImageReference,
  withTagEvent,
  type ImageStream,
  type ImageStreamStatus,
  type StreamLookup,
} from '../../../src/api/index.js';
import { jsonEqual } from '../../../src/api/merge-patch.js';
import {
  Controller,
  ItemExponentialFailureRateLimiter,
  systemClock,
  WorkQueue,
  type Clock,
  type Informer,
  type Logger,
  type ReconcileResult,
} from '../../../src/reconcile/index.js';
import type { BuildClient } from './client.js';

/**
 * The status an image stream should have, from its spec and the streams it refers to:
 * - `dockerImageRepository` = `REGISTRY/NS/NAME` when a registry is configured;
 * - a spec tag `from` a DockerImage or an ImageStreamImage gets that image as its newest item
 *   once per spec generation (the tag's `generation`): nothing asks a registry, and a build
 *   pushing to the tag later is not undone;
 * - a spec tag `from` an ImageStreamTag follows that tag: whenever its newest image differs,
 *   it becomes this tag's newest too.
 * Status tags without a spec tag (a build's output) are left alone. `now`: RFC 3339.
 */
export function desiredImageStreamStatus(
  is: ImageStream,
  registry: string | undefined,
  lookup: StreamLookup,
  now: string,
): ImageStreamStatus {
  const namespace = is.metadata.namespace ?? '';
  const name = is.metadata.name ?? '';
  let status: ImageStreamStatus = is.status ?? {};
  if (registry) {
    const repository = imageStreamRepository(registry, namespace, name);
    if (status.dockerImageRepository !== repository) {
      status = { ...status, dockerImageRepository: repository };
    }
  }
  for (const tag of is.spec?.tags ?? []) {
    const from = tag.from;
    if (!from) continue;
    const generation = tag.generation ?? 1;
    const items = status.tags?.find((t) => t.tag === tag.name)?.items ?? [];
    if (from.kind !== 'ImageStreamTag' && items.some((i) => (i.generation ?? 0) >= generation)) {
      continue;
    }
    // Within this stream, a tag refers to the status being computed.
    const current: ImageStream = { ...is, status };
    const sameStream: StreamLookup = (ns, stream) =>
      ns === namespace && stream === name ? current : lookup(ns, stream);
    const resolved = resolveImageReference(from, namespace, sameStream, name);
    if (!resolved.ok) continue;
    status = withTagEvent(status, tag.name, {
      created: now,
      dockerImageReference: resolved.dockerImageReference,
      ...(resolved.image ? { image: resolved.image } : {}),
      generation,
    });
  }
  return status;
}

/** `namespace/name` of the streams a stream's spec tags refer to. */
function referencedStreams(is: ImageStream): string[] {
  const namespace = is.metadata.namespace ?? '';
  const out: string[] = [];
  for (const tag of is.spec?.tags ?? []) {
    const from = tag.from;
    if (!from) continue;
    const stream =
      from.kind === 'ImageStreamTag'
        ? parseImageStreamTagName(from.name)?.stream
        : from.kind === 'ImageStreamImage'
          ? parseImageStreamImageName(from.name)?.stream
          : undefined;
    if (stream) out.push(`${from.namespace || namespace}/${stream}`);
  }
  return out;
}

export interface ImageStreamControllerOptions {
  imageStreams: Informer<ImageStream>;
  client: Pick<BuildClient, 'updateImageStreamStatus'>;
  logger: Logger;
  registry: string | undefined;
  clock?: Clock;
  now?: () => Date;
}

function timestamp(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Keeps image streams' status in step with their spec (see desiredImageStreamStatus). */
export class ImageStreamController {
  readonly #streams: Informer<ImageStream>;
  readonly #client: ImageStreamControllerOptions['client'];
  readonly #registry: string | undefined;
  readonly #now: () => Date;
  readonly #queue: WorkQueue<string>;
  readonly #controller: Controller<string>;

  constructor(options: ImageStreamControllerOptions) {
    this.#streams = options.imageStreams;
    this.#client = options.client;
    this.#registry = options.registry;
    this.#now = options.now ?? (() => new Date());
    this.#queue = new WorkQueue<string>({
      clock: options.clock ?? systemClock,
      rateLimiter: new ItemExponentialFailureRateLimiter({ baseDelayMs: 500, maxDelayMs: 60_000 }),
    });
    this.#controller = new Controller({
      name: 'image-stream-controller',
      queue: this.#queue,
      workers: 1,
      logger: options.logger,
      waitFor: [this.#streams],
      reconcile: (key, signal) => this.reconcile(key, signal),
    });
    const changed = (is: ImageStream): void => {
      const key = objectKey(is);
      this.#queue.add(key);
      // Streams whose tags follow this one.
      for (const other of this.#streams.list()) {
        if (referencedStreams(other).includes(key)) this.#queue.add(objectKey(other));
      }
    };
    this.#streams.addEventHandler({
      onAdd: changed,
      onUpdate: (old, is) => {
        if (old !== is) changed(is);
      },
      onDelete: changed,
    });
  }

  run(signal: AbortSignal): Promise<void> {
    return this.#controller.run(signal);
  }

  async reconcile(key: string, signal: AbortSignal): Promise<ReconcileResult | void> {
    const is = this.#streams.get(key);
    if (!is) return;
    const lookup: StreamLookup = (ns, name) => this.#streams.get(`${ns}/${name}`);
    const desired = desiredImageStreamStatus(is, this.#registry, lookup, timestamp(this.#now()));
    if (jsonEqual(desired, is.status ?? {})) return;
    try {
      await this.#client.updateImageStreamStatus({ ...is, status: desired }, signal);
    } catch (err) {
      if (isApiError(err, 'NotFound')) return;
      throw err;
    }
  }
}
