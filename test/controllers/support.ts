// A real master with its controller-manager, and nodes simulated through the API: registered
// with the join token, with capacity, labels and a heartbeat the test drives.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import {
  eventKind,
  nodeKind,
  podKind,
  type ApiObject,
  type Event,
  type Node,
  type NodeCondition,
  type Pod,
} from '../../src/api/index.js';
import type { ReplicationController } from '../../src/api/kinds/replication-controller.js';
import { ApiClient } from '../../src/client/index.js';
import type { MasterOptions } from '../../master/config.js';
import type { RunningMaster } from '../../master/main.js';
import { startTestMaster } from '../support/master.js';

export interface Cluster {
  master: RunningMaster;
  /** Cluster admin. */
  admin: ApiClient;
  /** The node-join token, as an agent uses it. */
  join: ApiClient;
  close(): Promise<void>;
}

/** A master on 127.0.0.1:0 with a memory store, a fresh data directory and its controllers. */
export async function startCluster(config: MasterOptions = {}): Promise<Cluster> {
  const dataDir = await mkdtemp(join(tmpdir(), 'slipway-controllers-'));
  const master = await startTestMaster(dataDir, config);
  return {
    master,
    admin: new ApiClient({ server: master.url, token: master.adminToken }),
    join: new ApiClient({ server: master.url, token: master.joinToken }),
    close: async () => {
      await master.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export interface NodeShape {
  cpu?: string;
  memory?: string;
  pods?: string;
  labels?: Record<string, string>;
  unschedulable?: boolean;
}

/** A node that exists only as API objects: registered and heartbeated by the test. */
export class SimulatedNode {
  readonly name: string;
  readonly #client: ApiClient;
  readonly #shape: NodeShape;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(client: ApiClient, name: string, shape: NodeShape = {}) {
    this.#client = client;
    this.name = name;
    this.#shape = shape;
  }

  /** Creates the Node with its capacity and a Ready heartbeat. */
  async register(): Promise<Node> {
    const resources = {
      cpu: this.#shape.cpu ?? '4',
      memory: this.#shape.memory ?? '8Gi',
      pods: this.#shape.pods ?? '110',
    };
    return this.#client.create<Node>(nodeKind, {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: this.name, labels: this.#shape.labels ?? {} },
      ...(this.#shape.unschedulable ? { spec: { unschedulable: true } } : {}),
      status: { capacity: resources, allocatable: resources, conditions: this.#conditions() },
    });
  }

  /** Posts one heartbeat: the Ready condition with a fresh lastHeartbeatTime. */
  async heartbeat(): Promise<void> {
    await this.#client.patch(
      nodeKind,
      this.name,
      { status: { conditions: this.#conditions() } },
      { subresource: 'status' },
    );
  }

  /** Heartbeats every `intervalMs` until `stopHeartbeats`. */
  startHeartbeats(intervalMs: number): void {
    this.stopHeartbeats();
    this.#timer = setInterval(() => {
      this.heartbeat().catch(() => undefined);
    }, intervalMs);
  }

  stopHeartbeats(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /**
   * Every `intervalMs`, confirms the deletion of this node's terminating pods (DELETE with grace
   * 0 and the pod's uid), as an agent does once their containers are gone. Returns the stop.
   */
  confirmDeletions(intervalMs: number): () => void {
    const confirm = async (): Promise<void> => {
      const pods = await this.#client.list<Pod>(podKind, {
        fieldSelector: `spec.nodeName=${this.name}`,
      });
      for (const pod of pods.items) {
        if (!pod.metadata.deletionTimestamp) continue;
        await this.#client.delete(podKind, pod.metadata.name ?? '', {
          namespace: pod.metadata.namespace,
          gracePeriodSeconds: 0,
          preconditions: { uid: pod.metadata.uid! },
        });
      }
    };
    const timer = setInterval(() => {
      confirm().catch(() => undefined);
    }, intervalMs);
    return () => clearInterval(timer);
  }

  #conditions(): NodeCondition[] {
    // Millisecond timestamps: every heartbeat changes the field the master watches.
    const now = new Date().toISOString();
    return [
      {
        type: 'Ready',
        status: 'True',
        reason: 'KubeletReady',
        message: 'simulated node is posting ready status',
        lastHeartbeatTime: now,
        lastTransitionTime: now,
      },
    ];
  }
}

export interface NodeCluster extends Cluster {
  /** Node `n1`, registered and heartbeating every second. */
  node: SimulatedNode;
}

/**
 * startCluster, then project `namespace` (when given) and node `n1`, registered and heartbeating
 * every second. With `confirmDeletions`, the node confirms its terminating pods gone every 100 ms,
 * as an agent does. close() stops the node, then the cluster.
 */
export async function startClusterWithNode(
  options: { namespace?: string; confirmDeletions?: boolean } = {},
): Promise<NodeCluster> {
  const c = await startCluster();
  if (options.namespace !== undefined) {
    await c.admin.createProjectRequest({ name: options.namespace });
  }
  const node = new SimulatedNode(c.join, 'n1');
  await node.register();
  node.startHeartbeats(1000);
  const stopConfirming = options.confirmDeletions ? node.confirmDeletions(100) : undefined;
  return {
    ...c,
    node,
    close: async () => {
      stopConfirming?.();
      node.stopHeartbeats();
      await c.close();
    },
  };
}

/** ReplicationController `name` of busybox pods labelled `app: NAME`; with `owner`, its controller. */
export function rcBody(name: string, replicas: number, owner?: ApiObject): ReplicationController {
  return {
    apiVersion: 'v1',
    kind: 'ReplicationController',
    metadata: {
      name,
      ...(owner
        ? {
            ownerReferences: [
              {
                apiVersion: owner.apiVersion,
                kind: owner.kind,
                name: owner.metadata.name!,
                uid: owner.metadata.uid!,
                controller: true,
              },
            ],
          }
        : {}),
    },
    spec: {
      replicas,
      selector: { app: name },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'app', image: 'busybox:1' }] },
      },
    },
  };
}

export interface PodShape {
  cpu?: string;
  memory?: string;
  nodeSelector?: Record<string, string>;
  nodeName?: string;
  /** A controller owner (ReplicationController) with this uid. */
  owner?: string;
}

export function podSpec(name: string, shape: PodShape = {}): Pod {
  const requests: Record<string, string> = {};
  if (shape.cpu) requests.cpu = shape.cpu;
  if (shape.memory) requests.memory = shape.memory;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      ...(shape.owner
        ? {
            ownerReferences: [
              {
                apiVersion: 'v1',
                kind: 'ReplicationController',
                name: shape.owner,
                uid: shape.owner,
                controller: true,
              },
            ],
          }
        : {}),
    },
    spec: {
      containers: [
        {
          name: 'app',
          image: 'busybox:1',
          ...(shape.cpu || shape.memory ? { resources: { requests } } : {}),
        },
      ],
      ...(shape.nodeSelector ? { nodeSelector: shape.nodeSelector } : {}),
      ...(shape.nodeName ? { nodeName: shape.nodeName } : {}),
    },
  };
}

/** Polls `read` until `check` accepts its value; fails with the last value at the deadline. */
export async function waitFor<T>(
  what: string,
  read: () => Promise<T>,
  check: (value: T) => boolean,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await read();
    if (check(last)) return last;
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}; last: ${JSON.stringify(last)}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Polls `check` for `durationMs` and fails as soon as it is false: an invariant over time. */
export async function holdsFor(
  what: string,
  check: () => Promise<boolean>,
  durationMs: number,
): Promise<void> {
  const until = Date.now() + durationMs;
  while (Date.now() < until) {
    if (!(await check())) throw new Error(`expected ${what} for ${durationMs} ms; it did not`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export function getPod(client: ApiClient, namespace: string, name: string): Promise<Pod> {
  return client.get<Pod>(podKind, name, { namespace });
}

/** The pod once it is bound to a node. */
export function waitForBound(client: ApiClient, namespace: string, name: string): Promise<Pod> {
  return waitFor(
    `pod ${namespace}/${name} to be bound`,
    () => getPod(client, namespace, name),
    (p) => Boolean(p.spec.nodeName),
  );
}

/** The events about one object, with this reason. */
export async function eventsFor(
  client: ApiClient,
  namespace: string,
  name: string,
  reason: string,
): Promise<Event[]> {
  const list = await client.list<Event>(eventKind, {
    namespace,
    fieldSelector: `involvedObject.name=${name},reason=${reason}`,
  });
  return list.items;
}

export function condition(obj: Pod | Node, type: string): Record<string, unknown> | undefined {
  const conditions = (obj.status?.conditions ?? []) as unknown as Record<string, unknown>[];
  return conditions.find((c) => c.type === type);
}

export function expectCondition(
  obj: Pod | Node,
  type: string,
  expected: Record<string, unknown>,
): void {
  expect(condition(obj, type)).toMatchObject(expected);
}
