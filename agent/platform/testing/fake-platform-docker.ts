/* eslint-disable @typescript-eslint/require-await -- a fake of an async interface */
/**
 * An in-memory PlatformDocker for the unit tests of agent/platform/: containers, images and
 * networks as plain records, every call recorded, failures injectable.
 */
import type { BuildImageOptions, PushResult } from '../../docker/images.js';
import type { Labels } from '../../docker/labels.js';
import type {
  PlatformContainer,
  PlatformContainerSpec,
  PlatformDocker,
  PlatformImage,
} from '../../docker/platform-engine.js';

export class FakePlatformDocker implements PlatformDocker {
  containers = new Map<string, PlatformContainer & { spec?: PlatformContainerSpec }>();
  /** Images by reference (tags point at records shared by ID). */
  images = new Map<string, PlatformImage>();
  networks = new Set<string>();
  calls: string[] = [];
  /** What each build produces (by tag): its labels are the build's. */
  builds: { tag: string; labels: Labels; context: Buffer }[] = [];
  pushes: string[] = [];
  removedImages: string[] = [];
  /** Set to make a call fail. */
  failPull: Error | undefined = new Error('pull image registry:2: no such host');
  failRun: Error | undefined;
  failBuild: Error | undefined;
  /** The host port the engine picks for port 0. */
  nextFreePort = 49153;
  private seq = 0;

  addContainer(c: Partial<PlatformContainer> & { name: string }): PlatformContainer {
    const full: PlatformContainer = {
      id: `id-${c.name}`,
      image: 'registry:2',
      labels: {},
      running: true,
      status: 'running',
      published: undefined,
      binds: [],
      networks: {},
      ...c,
    };
    this.containers.set(full.name, full);
    return full;
  }

  addImage(ref: string, labels: Labels = {}, id = `sha256:${ref}`): void {
    this.images.set(ref, { id, labels });
  }

  async inspectContainer(nameOrId: string): Promise<PlatformContainer | undefined> {
    this.calls.push(`inspectContainer ${nameOrId}`);
    for (const c of this.containers.values()) {
      if (c.name === nameOrId || c.id === nameOrId) return c;
    }
    return undefined;
  }

  async listContainers(labels: Labels): Promise<PlatformContainer[]> {
    this.calls.push(`listContainers ${JSON.stringify(labels)}`);
    return [...this.containers.values()].filter((c) =>
      Object.entries(labels).every(([k, v]) => c.labels[k] === v),
    );
  }

  async runContainer(spec: PlatformContainerSpec): Promise<PlatformContainer> {
    this.calls.push(`runContainer ${spec.name}`);
    if (this.failRun) throw this.failRun;
    const hostPort = spec.publish.hostPort === 0 ? this.nextFreePort++ : spec.publish.hostPort;
    const c = {
      id: `id-${spec.name}-${++this.seq}`,
      name: spec.name,
      image: spec.image,
      labels: spec.labels,
      running: true,
      status: 'running',
      published: { hostIp: spec.publish.hostIp, hostPort },
      binds: spec.binds.map((b) => `${b.source}:${b.target}`),
      networks: { [spec.network]: '172.20.0.2' },
      spec,
    };
    this.containers.set(spec.name, c);
    return c;
  }

  async removeContainer(nameOrId: string): Promise<void> {
    this.calls.push(`removeContainer ${nameOrId}`);
    for (const [name, c] of this.containers) {
      if (c.name === nameOrId || c.id === nameOrId) this.containers.delete(name);
    }
  }

  async containerLogs(): Promise<string> {
    return 'level=fatal msg="open /var/lib/registry: permission denied"\n';
  }

  async ensureNetwork(name: string): Promise<void> {
    this.calls.push(`ensureNetwork ${name}`);
    this.networks.add(name);
  }

  async inspectImage(ref: string): Promise<PlatformImage | undefined> {
    return this.images.get(ref);
  }

  async removeUnusedImage(id: string): Promise<boolean> {
    const tagged = [...this.images.values()].some((i) => i.id === id);
    if (tagged) return false;
    this.removedImages.push(id);
    return true;
  }

  async pullImage(ref: string): Promise<void> {
    this.calls.push(`pullImage ${ref}`);
    if (this.failPull) throw this.failPull;
    this.addImage(ref);
  }

  async buildImage(context: Buffer, options: BuildImageOptions): Promise<string> {
    this.calls.push(`buildImage ${options.tag}`);
    if (this.failBuild) {
      options.onOutput?.('Step 3/9 : RUN apt-get install nodejs');
      options.onOutput?.('E: Unable to locate package nodejs');
      throw this.failBuild;
    }
    const id = `sha256:built-${++this.seq}`;
    this.builds.push({ tag: options.tag, labels: options.labels ?? {}, context });
    this.images.set(options.tag, { id, labels: { ...options.labels } });
    return id;
  }

  async tagImage(source: string, target: string): Promise<void> {
    this.calls.push(`tagImage ${source} ${target}`);
    const image = this.images.get(source) ?? [...this.images.values()].find((i) => i.id === source);
    if (!image) throw new Error(`no such image ${source}`);
    this.images.set(target, image);
  }

  async untagImage(ref: string): Promise<void> {
    this.calls.push(`untagImage ${ref}`);
    this.images.delete(ref);
  }

  async pushImage(ref: string): Promise<PushResult> {
    this.pushes.push(ref);
    const image = this.images.get(ref);
    if (!image) throw new Error(`no such image ${ref}`);
    return {
      digest: `sha256:${Buffer.from(image.id).toString('hex').padEnd(64, '0').slice(0, 64)}`,
    };
  }
}
