/**
 * Image garbage collection, as the kubelet does it: when the filesystem under the Docker root is
 * fuller than the high threshold, remove unused images, least recently used first, until it is
 * below the low threshold. An image is a candidate only when no container (running or not)
 * uses it, it has been known to this agent for at least the minimum age (so an image pulled
 * for a container about to be created, or committed by a build about to push it, is not taken
 * from under it), and Slipway made it: it carries the build labels (`io.openshift.build.name`
 * and `.namespace`) that every build's output has. Other images on the host (the operator's
 * own, builder images, the platform's) are never touched; pulled images of other registries
 * are left to the operator. When the candidates run out before the low threshold, the caller is
 * told how many bytes were still wanted (the kubelet's FreeDiskSpaceFailed).
 */
import type Docker from 'dockerode';
import type { Logger } from '../../src/util/logger.js';
import { callDocker, mapDockerError } from './errors.js';

export interface ImageGcPolicy {
  /** Usage (percent of the filesystem) at which collection starts. */
  highThresholdPercent: number;
  /** Usage collection brings the filesystem down to. */
  lowThresholdPercent: number;
  /** How long an image must have been known to the agent before it may go. */
  minimumAgeMs: number;
}

export interface DiskUsage {
  totalBytes: number;
  freeBytes: number;
}

/** One image as collection sees it. */
export interface ImageRecord {
  id: string;
  /** Seconds since the epoch, as Docker reports it. */
  created: number;
  sizeBytes: number;
  labels: Readonly<Record<string, string>>;
  repoTags: readonly string[];
}

/** The labels every build output carries (agent/builds/build-labels.ts). */
export const BUILD_OUTPUT_LABELS = ['io.openshift.build.name', 'io.openshift.build.namespace'];

export function isBuildOutput(image: Pick<ImageRecord, 'labels'>): boolean {
  return BUILD_OUTPUT_LABELS.every((l) => (image.labels[l] ?? '') !== '');
}

function hasLabels(image: Pick<ImageRecord, 'labels'>, labels: Readonly<Record<string, string>>) {
  return Object.entries(labels).every(([k, v]) => image.labels[k] === v);
}

export function usedPercent(disk: DiskUsage): number {
  return disk.totalBytes > 0 ? (100 * (disk.totalBytes - disk.freeBytes)) / disk.totalBytes : 0;
}

/** Bytes used beyond `percent` of the filesystem. */
function bytesAbove(disk: DiskUsage, percent: number): number {
  const target = (disk.totalBytes * percent) / 100;
  return Math.max(0, Math.ceil(disk.totalBytes - disk.freeBytes - target));
}

/** Bytes to free to bring `disk` down to the low threshold; 0 below the high one. */
export function bytesToFree(disk: DiskUsage, policy: ImageGcPolicy): number {
  if (usedPercent(disk) < policy.highThresholdPercent) return 0;
  return bytesAbove(disk, policy.lowThresholdPercent);
}

/**
 * What this agent remembers between passes, in memory only: when it first saw each image and
 * when a container last used it. After a restart every image counts as new again, which only
 * delays collection by the minimum age.
 */
export class ImageUsage {
  readonly #firstSeen = new Map<string, number>();
  readonly #lastUsed = new Map<string, number>();

  /** Records one pass's view: every image present, and the ones containers use now. */
  observe(imageIds: Iterable<string>, used: ReadonlySet<string>, now: number): void {
    const present = new Set(imageIds);
    for (const id of present) {
      if (!this.#firstSeen.has(id)) this.#firstSeen.set(id, now);
      if (used.has(id)) this.#lastUsed.set(id, now);
    }
    for (const id of [...this.#firstSeen.keys()]) {
      if (!present.has(id)) {
        this.#firstSeen.delete(id);
        this.#lastUsed.delete(id);
      }
    }
  }

  firstSeen(id: string): number | undefined {
    return this.#firstSeen.get(id);
  }

  /** When a container last used the image; its first sighting when none ever did. */
  lastUsed(id: string): number {
    return this.#lastUsed.get(id) ?? this.#firstSeen.get(id) ?? 0;
  }
}

/** The images that may go, in the order they go: least recently used, then oldest. */
export function gcCandidates(
  images: readonly ImageRecord[],
  used: ReadonlySet<string>,
  usage: ImageUsage,
  policy: ImageGcPolicy,
  now: number,
  requireLabels: Readonly<Record<string, string>> = {},
): ImageRecord[] {
  return images
    .filter((image) => {
      if (used.has(image.id) || !isBuildOutput(image)) return false;
      if (!hasLabels(image, requireLabels)) return false;
      const seen = usage.firstSeen(image.id);
      return seen !== undefined && now - seen >= policy.minimumAgeMs;
    })
    .sort((a, b) => usage.lastUsed(a.id) - usage.lastUsed(b.id) || a.created - b.created);
}

export interface ImageGcResult {
  /** Image IDs removed. */
  removed: string[];
  /** Bytes the filesystem gained, as measured. */
  freedBytes: number;
  /** Bytes still wanted when the candidates ran out (0 when the target was reached). */
  shortBytes: number;
}

export interface ImageCollectorOptions {
  docker: Docker;
  policy: ImageGcPolicy;
  /** The filesystem's usage now (statfs of the Docker root); undefined when unknown. */
  disk: () => Promise<DiskUsage | undefined>;
  logger: Logger;
  now?: () => number;
  /** Labels a candidate must also carry (tests: only their own images). */
  requireLabels?: Readonly<Record<string, string>>;
}

export class ImageCollector {
  readonly #o: ImageCollectorOptions;
  readonly #usage = new ImageUsage();
  readonly #log: Logger;

  constructor(options: ImageCollectorOptions) {
    this.#o = options;
    this.#log = options.logger.child({ component: 'image-gc' });
  }

  async #images(): Promise<ImageRecord[]> {
    const list = await callDocker('list images', () => this.#o.docker.listImages());
    return list.map((i) => ({
      id: i.Id,
      created: i.Created,
      sizeBytes: i.Size,
      labels: i.Labels ?? {},
      repoTags: i.RepoTags ?? [],
    }));
  }

  async #usedImageIds(): Promise<Set<string>> {
    const containers = await callDocker('list containers', () =>
      this.#o.docker.listContainers({ all: true }),
    );
    return new Set(containers.map((c) => c.ImageID));
  }

  /** One pass: observes the images, and removes candidates while the disk is over the mark. */
  async collect(): Promise<ImageGcResult> {
    const now = (this.#o.now ?? Date.now)();
    const [images, used] = await Promise.all([this.#images(), this.#usedImageIds()]);
    this.#usage.observe(
      images.map((i) => i.id),
      used,
      now,
    );
    const result: ImageGcResult = { removed: [], freedBytes: 0, shortBytes: 0 };
    const start = await this.#o.disk();
    if (!start) return result;
    let wanted = bytesToFree(start, this.#o.policy);
    if (wanted === 0) return result;
    const candidates = gcCandidates(
      images,
      used,
      this.#usage,
      this.#o.policy,
      now,
      this.#o.requireLabels,
    );
    this.#log.info(
      {
        usedPercent: Math.round(usedPercent(start)),
        wantedBytes: wanted,
        candidates: candidates.length,
      },
      'disk usage over the image garbage collection threshold',
    );
    let disk = start;
    for (const image of candidates) {
      if (wanted <= 0) break;
      if (!(await this.#remove(image))) continue;
      result.removed.push(image.id);
      disk = (await this.#o.disk()) ?? disk;
      // Once started, collection goes on down to the low threshold.
      wanted = bytesAbove(disk, this.#o.policy.lowThresholdPercent);
    }
    result.freedBytes = Math.max(0, disk.freeBytes - start.freeBytes);
    result.shortBytes = Math.max(0, wanted);
    this.#log.info(
      {
        removed: result.removed.length,
        freedBytes: result.freedBytes,
        shortBytes: result.shortBytes,
      },
      'image garbage collection done',
    );
    return result;
  }

  /** Removes one unused image with all its names; false when Docker refuses (now in use). */
  async #remove(image: ImageRecord): Promise<boolean> {
    try {
      // Forced only to drop several names at once: Docker still refuses an image a running
      // container uses, and one that has child images.
      await this.#o.docker.getImage(image.id).remove({ force: true });
      this.#log.info(
        { id: image.id, tags: image.repoTags, build: image.labels['io.openshift.build.name'] },
        'removed an unused image',
      );
      return true;
    } catch (err) {
      const mapped = mapDockerError(err, { op: `remove image ${image.id}`, kind: 'image' });
      if (mapped.code === 'EngineUnavailable') throw mapped;
      this.#log.warn({ id: image.id, err: mapped.message }, 'cannot remove an unused image');
      return false;
    }
  }
}
