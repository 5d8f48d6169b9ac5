// DockerRuntime against an in-memory fake engine, asserting the exact engine calls it makes:
// ownership is proven before any mutation, re-creating an instance adopts it, and removePod stops
// app containers before the sandbox and volumes last.
import type { NetworkInterfaceInfo } from 'node:os';
import type Docker from 'dockerode';
import { describe, expect, it } from 'vitest';
import type { Pod } from '../../src/api/index.js';
import { silentLogger } from '../../src/util/logger.js';
import { planPod, type PodPlan } from '../pods/plan.js';
import { isRuntimeError } from './errors.js';
import { LABELS, MANAGED_BY } from './labels.js';
import { bridgeGatewayOf, DockerRuntime, volumeEntries } from './runtime.js';

interface FakeContainer {
  Id: string;
  Name: string;
  Labels: Record<string, string>;
  running: boolean;
  NetworkMode: string;
  Mounts: { Type: string; Name?: string; Destination: string }[];
}

/** Just enough of the Engine API for the runtime's control flow; records every call. */
class FakeEngine {
  readonly calls: string[] = [];
  readonly containers = new Map<string, FakeContainer>();
  readonly volumes = new Map<string, Record<string, string>>();
  private seq = 0;

  private find(idOrName: string): FakeContainer {
    const c =
      this.containers.get(idOrName) ??
      [...this.containers.values()].find((x) => x.Name === idOrName);
    if (!c)
      throw Object.assign(new Error('no such container'), {
        statusCode: 404,
        json: { message: `No such container: ${idOrName}` },
      });
    return c;
  }

  add(name: string, labels: Record<string, string>, running = true): FakeContainer {
    const c: FakeContainer = {
      Id: `id${++this.seq}`,
      Name: name,
      Labels: labels,
      running,
      NetworkMode: 'bridge',
      Mounts: [],
    };
    this.containers.set(c.Id, c);
    return c;
  }

  client(): Docker {
    return {
      createContainer: async (opts: {
        name: string;
        Labels: Record<string, string>;
        HostConfig: {
          NetworkMode: string;
          Mounts: { Type: string; Source?: string; Target: string }[];
        };
      }) => {
        this.calls.push(`create ${opts.name}`);
        if ([...this.containers.values()].some((c) => c.Name === opts.name)) {
          throw Object.assign(new Error('conflict'), {
            statusCode: 409,
            json: { message: `name ${opts.name} is already in use` },
          });
        }
        const c = this.add(opts.name, opts.Labels, false);
        c.Mounts = opts.HostConfig.Mounts.map((m) => ({
          Type: m.Type,
          Name: m.Source,
          Destination: m.Target,
        }));
        c.NetworkMode = opts.HostConfig.NetworkMode;
        return { id: c.Id };
      },
      getContainer: (id: string) => ({
        inspect: async () => {
          const c = this.find(id);
          return {
            Id: c.Id,
            Name: `/${c.Name}`,
            Created: '2026-01-01T00:00:00Z',
            Image: 'sha256:img',
            Config: { Labels: c.Labels, Image: 'img', Tty: false },
            HostConfig: { NetworkMode: c.NetworkMode },
            Mounts: c.Mounts,
            NetworkSettings: {
              Networks: c.NetworkMode === 'bridge' ? { bridge: { IPAddress: '172.17.0.2' } } : {},
            },
            State: {
              Status: c.running ? 'running' : 'exited',
              Running: c.running,
              ExitCode: 0,
              OOMKilled: false,
              Error: '',
              Pid: 1,
              StartedAt: '',
              FinishedAt: '',
            },
          };
        },
        start: async () => {
          this.calls.push(`start ${this.find(id).Name}`);
          this.find(id).running = true;
        },
        stop: async (opts: { t: number }) => {
          this.calls.push(`stop ${this.find(id).Name} t=${opts.t}`);
          this.find(id).running = false;
        },
        remove: async () => {
          this.calls.push(`remove ${this.find(id).Name}`);
          this.containers.delete(this.find(id).Id);
        },
        putArchive: async (_tar: Buffer, opts: { path: string }) => {
          this.calls.push(`putArchive ${this.find(id).Name} ${opts.path}`);
        },
      }),
      createVolume: async (opts: { Name: string; Labels: Record<string, string> }) => {
        this.calls.push(`createVolume ${opts.Name}`);
        if (!this.volumes.has(opts.Name)) this.volumes.set(opts.Name, opts.Labels);
        return { inspect: async () => ({ Name: opts.Name, Labels: this.volumes.get(opts.Name) }) };
      },
      getVolume: (name: string) => ({
        remove: async () => {
          this.calls.push(`removeVolume ${name}`);
          this.volumes.delete(name);
        },
      }),
      getImage: () => ({ inspect: async () => ({ Id: 'sha256:pause', Config: {} }) }),
      listContainers: async (opts: { filters: { label: string[] } }) =>
        [...this.containers.values()]
          .filter((c) =>
            opts.filters.label.every(
              (f) => c.Labels[f.split('=')[0]!] === f.split('=').slice(1).join('='),
            ),
          )
          .map((c) => ({
            Id: c.Id,
            Names: [`/${c.Name}`],
            Labels: c.Labels,
            State: c.running ? 'running' : 'exited',
            HostConfig: { NetworkMode: c.NetworkMode },
          })),
      listVolumes: async (opts: { filters: { label: string[] } }) => ({
        Volumes: [...this.volumes.entries()]
          .filter(([, labels]) =>
            opts.filters.label.every(
              (f) => labels[f.split('=')[0]!] === f.split('=').slice(1).join('='),
            ),
          )
          .map(([Name, Labels]) => ({ Name, Labels })),
      }),
    } as unknown as Docker;
  }
}

const pod: Pod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web', namespace: 'ns', uid: 'uid-1' },
  spec: {
    terminationGracePeriodSeconds: 7,
    volumes: [{ name: 'data', emptyDir: {} }],
    containers: [
      { name: 'app', image: 'img:1', volumeMounts: [{ name: 'data', mountPath: '/data' }] },
    ],
  },
};

function setup(): { engine: FakeEngine; runtime: DockerRuntime; plan: PodPlan } {
  const engine = new FakeEngine();
  const runtime = new DockerRuntime({
    docker: engine.client(),
    logger: silentLogger(),
    nodeName: 'node-a',
  });
  return { engine, runtime, plan: planPod({ pod }, { nodeName: 'node-a', uid: 1001, gid: 0 }) };
}

describe('DockerRuntime', () => {
  it('runs a sandbox: volumes, create, start, then fill the volumes', async () => {
    const { engine, runtime, plan } = setup();
    const sandbox = await runtime.runSandbox(plan, { attempt: 0 });
    expect(sandbox).toEqual({ id: 'id1', name: 'slipway_POD_web_ns_uid-1_0', ip: '172.17.0.2' });
    expect(engine.calls).toEqual([
      'createVolume slipway-uid-1-data',
      'create slipway_POD_web_ns_uid-1_0',
      'start slipway_POD_web_ns_uid-1_0',
      'putArchive slipway_POD_web_ns_uid-1_0 /.slipway/volumes',
    ]);
  });

  it('adopts an existing instance with the same hash instead of failing or duplicating', async () => {
    const { engine, runtime, plan } = setup();
    const sandbox = await runtime.runSandbox(plan, { attempt: 0 });
    const app = plan.containers[0]!.plan!;
    const first = await runtime.createContainer(plan, app, sandbox.id, { attempt: 0 });
    const again = await runtime.createContainer(plan, app, sandbox.id, { attempt: 0 });
    expect(again).toBe(first);
    expect(engine.containers.size).toBe(2);
    expect(engine.containers.get(first)!.NetworkMode).toBe(`container:${sandbox.id}`);

    // Same name, different spec: a conflict, not a silent adoption.
    const changed = { ...app, hash: 'different', create: { ...app.create } };
    await expect(
      runtime.createContainer(plan, changed, sandbox.id, { attempt: 0 }),
    ).rejects.toSatisfy((e) => isRuntimeError(e, 'Conflict'));
  });

  it('refuses to touch containers without this node’s ownership labels', async () => {
    const { engine, runtime } = setup();
    const stranger = engine.add('stranger', { app: 'db' });
    const neighbour = engine.add('neighbour', {
      [LABELS.managedBy]: MANAGED_BY,
      [LABELS.node]: 'node-b',
    });
    for (const id of [stranger.Id, neighbour.Id]) {
      for (const op of [
        () => runtime.stopContainer(id, 1),
        () => runtime.startContainer(id),
        () => runtime.removeContainer(id),
        () => runtime.execInContainer(id, ['true'], { timeoutMs: 100 }),
      ]) {
        await expect(op()).rejects.toSatisfy((e) => isRuntimeError(e, 'NotManaged'));
      }
    }
    expect(engine.calls).toEqual([]);
    expect(engine.containers.size).toBe(2);
  });

  it('treats removing a container that is already gone as done', async () => {
    const { engine, runtime } = setup();
    await runtime.removeContainer('nope');
    expect(engine.calls).toEqual([]);
  });

  it('refuses a volume name held by something else', async () => {
    const { engine, runtime, plan } = setup();
    engine.volumes.set('slipway-uid-1-data', { owner: 'someone' });
    await expect(runtime.ensureVolumes(plan)).rejects.toSatisfy((e) =>
      isRuntimeError(e, 'NotManaged'),
    );
  });

  it('removes a pod: app containers stopped with the pod grace first, then the sandbox, then volumes', async () => {
    // (The sandbox gets the runtime's sandbox grace: its pause process exits on SIGTERM at once.)
    const { engine, runtime, plan } = setup();
    const sandbox = await runtime.runSandbox(plan, { attempt: 0 });
    const id = await runtime.createContainer(plan, plan.containers[0]!.plan!, sandbox.id, {
      attempt: 0,
    });
    await runtime.startContainer(id);
    engine.calls.length = 0;
    const result = await runtime.removePod('uid-1');
    expect(engine.calls).toEqual([
      'stop slipway_app_web_ns_uid-1_0 t=7',
      'remove slipway_app_web_ns_uid-1_0',
      'stop slipway_POD_web_ns_uid-1_0 t=10',
      'remove slipway_POD_web_ns_uid-1_0',
      'removeVolume slipway-uid-1-data',
    ]);
    expect(result.containers.sort()).toEqual([id, sandbox.id].sort());
    expect(result.volumes).toEqual(['slipway-uid-1-data']);
    expect(await runtime.removePod('uid-1')).toEqual({ containers: [], volumes: [] });
  });

  it('refuses to fill a volume the sandbox does not mount, or into a non-sandbox', async () => {
    const { runtime, plan } = setup();
    const sandbox = await runtime.runSandbox(plan, { attempt: 0 });
    const grown = planPod(
      {
        pod: {
          ...pod,
          spec: { ...pod.spec, volumes: [...pod.spec.volumes!, { name: 'more', emptyDir: {} }] },
        },
      },
      { nodeName: 'node-a', uid: 1001, gid: 0 },
    );
    await expect(runtime.populateVolumes(grown, sandbox.id)).rejects.toThrow(
      /does not mount volume more/,
    );
    const app = await runtime.createContainer(plan, plan.containers[0]!.plan!, sandbox.id, {
      attempt: 0,
    });
    await expect(runtime.populateVolumes(plan, app)).rejects.toThrow(
      /is not a sandbox of pod uid-1/,
    );
  });

  it('rejects plans made for another node', async () => {
    const { runtime } = setup();
    const other = planPod({ pod }, { nodeName: 'node-b', uid: 1001, gid: 0 });
    await expect(runtime.runSandbox(other, { attempt: 0 })).rejects.toSatisfy((e) =>
      isRuntimeError(e, 'InvalidRequest'),
    );
  });
});

describe('volumeEntries', () => {
  it('sets the root, creates parent directories and owns the files', () => {
    const plan = planPod(
      {
        pod: {
          ...pod,
          spec: {
            containers: [{ name: 'app', image: 'i:1' }],
            volumes: [
              { name: 'cfg', configMap: { name: 'c', items: [{ key: 'k', path: 'a/b/k.conf' }] } },
            ],
          },
        },
        configMaps: {
          c: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { k: 'v' } },
        },
      },
      { nodeName: 'node-a', uid: 1001, gid: 0 },
    );
    expect(
      volumeEntries(plan.volumes[0]!, 5).map((e) => [
        e.path,
        e.type,
        e.mode?.toString(8),
        e.uid,
        e.gid,
      ]),
    ).toEqual([
      ['cfg/', 'dir', '755', 1001, 0],
      ['cfg/a/', 'dir', '755', 1001, 0],
      ['cfg/a/b/', 'dir', '755', 1001, 0],
      ['cfg/a/b/k.conf', 'file', '644', 1001, 0],
    ]);
  });
});

describe('bridgeGatewayOf', () => {
  const iface = (address: string, family: 'IPv4' | 'IPv6' = 'IPv4'): NetworkInterfaceInfo =>
    family === 'IPv4'
      ? {
          address,
          family,
          netmask: '255.255.0.0',
          mac: '02:42:00:00:00:01',
          internal: false,
          cidr: null,
        }
      : {
          address,
          family,
          netmask: 'ffff::',
          mac: '02:42:00:00:00:01',
          internal: false,
          cidr: null,
          scopeid: 0,
        };

  it("takes the gateway the engine recorded for the network's subnet", () => {
    const network = { IPAM: { Config: [{ Subnet: '172.17.0.0/16', Gateway: '172.17.0.1' }] } };
    expect(bridgeGatewayOf(network, { docker0: [iface('10.9.9.9')] })).toBe('172.17.0.1');
  });

  it("takes the bridge's address in the subnet where the engine recorded none", () => {
    const network = {
      IPAM: { Config: [{ Subnet: '172.18.0.0/16' }] },
      Options: { 'com.docker.network.bridge.name': 'br-host' },
    };
    const interfaces = {
      docker0: [iface('172.17.0.1')],
      'br-host': [iface('fe80::1', 'IPv6'), iface('10.1.1.1'), iface('172.18.0.9')],
    };
    expect(bridgeGatewayOf(network, interfaces)).toBe('172.18.0.9');
    // Not listed (a bridge without containers is not running): the subnet's first address,
    // which the engine's IPAM gives the bridge.
    expect(bridgeGatewayOf(network, { docker0: [iface('172.17.0.1')] })).toBe('172.18.0.1');
    expect(bridgeGatewayOf({ IPAM: { Config: [{ Subnet: '10.200.4.0/22' }] } }, {})).toBe(
      '10.200.4.1',
    );
  });

  it('knows none without a subnet to go by', () => {
    expect(bridgeGatewayOf({ IPAM: { Config: null } }, { docker0: [iface('172.17.0.1')] })).toBe(
      undefined,
    );
    expect(bridgeGatewayOf({ IPAM: { Config: [{ Subnet: 'fd00::/64' }] } }, {})).toBeUndefined();
  });
});
