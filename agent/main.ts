/**
 * Starts the node agent: connects to Docker, registers the Node, then runs the pod reconciler
 * (an informer on this node's pods, Docker events and a periodic resync feeding one work queue),
 * the probes, the heartbeat and garbage collection, and (local engine) the service proxy and
 * cluster DNS. Nothing happens at import time.
 *
 * `close()` stops all of that but leaves the pods' containers running, and the service rules in
 * place: an agent restart must not restart workloads or cut traffic. The next agent adopts them.
 */
import { join } from 'node:path';
import {
  type ConfigMap,
  configMapKind,
  isApiError,
  type Pod,
  podKind,
  type PodStatus,
  type Secret,
  secretKind,
  unlessNotFound,
} from '../src/api/index.js';
import { clientVersion } from '../src/cli/version.js';
import { ApiClient, EventRecorder } from '../src/client/index.js';
import {
  clientListWatcher,
  Controller,
  Informer,
  ItemExponentialFailureRateLimiter,
  WorkQueue,
} from '../src/reconcile/index.js';
import type { Logger } from '../src/util/logger.js';
import { buildLogSource } from './builds/build-log-source.js';
import { BuildNetworkGuard } from './builds/build-network.js';
import { BuildPods } from './builds/build-pods.js';
import type { AgentConfig } from './config.js';
import { BuildEngine } from './docker/build-engine.js';
import { createDockerClient, isLocalEndpoint } from './docker/client.js';
import { ImageCollector } from './docker/image-gc.js';
import { DockerRuntime } from './docker/runtime.js';
import { startServiceNetworking, type ServiceNetworking } from './network/service-networking.js';
import { diskUsage, NodeManager, nodeRef } from './node/manager.js';
import type { ClusterDnsSettings } from './pods/plan.js';
import { probeLabel, handlerProbeRunner, ProbeManager } from './pods/probes.js';
import { PodReconciler } from './pods/reconciler.js';
import { fetchSources } from './pods/sources.js';
import { ClusterRegistryAuth } from './node/registry-auth.js';
import { joinTokenAuthenticator } from './server/auth.js';
import { startAgentServer } from './server/server.js';

export interface RunningAgent {
  nodeName: string;
  /**
   * Stops reconciling, probing and heartbeating; the pods' containers keep running, and so do
   * the service rules unless `removeServiceRules` (an agent restart must not cut traffic).
   */
  close(options?: { removeServiceRules?: boolean }): Promise<void>;
}

/** What tests may supply instead of the defaults. */
export interface AgentDependencies {
  /** Use this runtime (its node name must be the config's). */
  runtime?: DockerRuntime;
  /** Use this engine for builds (its node name must be the config's). */
  buildEngine?: BuildEngine;
}

/** Docker did not answer at start: the agent cannot do anything useful. */
export class DockerUnavailableError extends Error {
  constructor(endpoint: string, cause: unknown) {
    super(
      `the Docker engine at ${endpoint} does not answer (${(cause as Error).message}); start Docker (on Debian/Ubuntu: bash scripts/setup-docker.sh) or point DOCKER_HOST at one`,
      { cause },
    );
    this.name = 'DockerUnavailableError';
  }
}

function timeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** The cluster DNS for pods planned now, once the node serves it. */
function clusterDnsOption(network: ServiceNetworking | undefined): {
  clusterDns?: ClusterDnsSettings;
} {
  const clusterDns = network?.clusterDns();
  return clusterDns ? { clusterDns } : {};
}

/** Starts the agent; rejects when Docker does not answer or the master refuses the token. */
export async function startAgent(
  config: AgentConfig,
  logger: Logger,
  deps: AgentDependencies = {},
): Promise<RunningAgent> {
  const log = logger.child({ component: 'agent', node: config.nodeName });
  const runtime =
    deps.runtime ??
    new DockerRuntime({
      docker: createDockerClient(config.docker),
      logger,
      nodeName: config.nodeName,
      extraLabels: config.extraLabels,
    });
  try {
    await timeout(runtime.ping(), 10_000, 'docker ping');
  } catch (err) {
    throw new DockerUnavailableError(config.docker, err);
  }

  const version = clientVersion();
  const client = new ApiClient({
    server: config.server,
    token: config.token,
    userAgent: `slipway-agent/${version} (${config.nodeName})`,
  });
  // The cluster registry takes only tokens the master signs; the engine asks for them.
  const registryAuth = new ClusterRegistryAuth(client, config.token);
  const recorder = new EventRecorder({
    client,
    component: 'kubelet',
    host: config.nodeName,
    logger: log,
  });

  // Builds: their workspaces and logs under the data directory, their containers on a network
  // of their own that cannot reach this host.
  const buildsDir = join(config.dataDir, 'builds');
  const buildEngine =
    deps.buildEngine ??
    new BuildEngine({
      docker: createDockerClient(config.docker),
      logger,
      nodeName: config.nodeName,
      extraLabels: config.extraLabels,
    });
  const buildNetwork = new BuildNetworkGuard({
    engine: buildEngine,
    nodeName: config.nodeName,
    logger: log,
  });
  // Filled in once the pod informer exists (requests come after start).
  let podByUid: (uid: string) => Pod | undefined = () => undefined;

  // The logs/exec server the master proxies to, authenticated by credentials only the master
  // (and this node) can make from the join token.
  const daemon = await startAgentServer({
    runtime,
    nodeName: config.nodeName,
    listen: config.listen,
    authenticate: joinTokenAuthenticator({ joinToken: config.token, nodeName: config.nodeName }),
    logger: log,
    buildLogs: buildLogSource({ buildsDir, pod: (uid) => podByUid(uid) }),
  });

  const node = new NodeManager({
    nodeName: config.nodeName,
    version,
    client,
    events: recorder,
    engineInfo: () => runtime.info(),
    logger: log,
    heartbeatIntervalMs: config.heartbeatIntervalMs,
    nodeIP: config.nodeIP,
    localEngine: isLocalEndpoint(config.docker),
    daemonPort: daemon.port,
  });
  try {
    await node.register();
  } catch (err) {
    const reason = (err as { reason?: string }).reason;
    if (reason === 'Unauthorized' || reason === 'Forbidden') {
      await daemon.close();
      throw new Error(
        `the master at ${config.server} refused the agent's token: ${(err as Error).message}`,
        { cause: err },
      );
    }
    // The master may be starting: the heartbeat keeps trying to register.
    log.warn({ err: (err as Error).message }, 'cannot register the node yet; will retry');
  }

  // Services and DNS: iptables here only reach this host's pods, so only for a local engine.
  let network: ServiceNetworking | undefined;
  if (config.serviceProxy && isLocalEndpoint(config.docker)) {
    try {
      network = await startServiceNetworking({
        client,
        nodeName: config.nodeName,
        runtime,
        bridgeGateway: (await runtime.info()).bridgeGateway,
        dnsListen: config.dnsListen,
        resolvConf: config.resolvConf,
        logger: log,
      });
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'cannot start the service proxy and DNS');
    }
  }

  const controller = new AbortController();
  const signal = controller.signal;
  const queue = new WorkQueue<string>({
    rateLimiter: new ItemExponentialFailureRateLimiter({
      baseDelayMs: 100,
      maxDelayMs: Math.min(30_000, config.backoff.capMs),
    }),
  });

  const pods = new Informer<Pod>({
    name: 'pods',
    listWatcher: clientListWatcher<Pod>(client, podKind, {
      fieldSelector: `spec.nodeName=${config.nodeName}`,
      watchTimeoutSeconds: 300,
    }),
    logger: log,
    resyncPeriodMs: config.resyncIntervalMs,
    keyOf: (p) => p.metadata.uid ?? `${p.metadata.namespace}/${p.metadata.name}`,
  });
  const enqueue = (p: Pod): void => {
    if (p.metadata.uid) queue.add(p.metadata.uid);
  };
  pods.addEventHandler({ onAdd: enqueue, onUpdate: (_old, p) => enqueue(p), onDelete: enqueue });
  podByUid = (uid) => pods.get(uid);

  const builds = new BuildPods({
    buildsDir,
    docker: buildEngine,
    api: {
      secret: (namespace, name, s) =>
        unlessNotFound(client.get<Secret>(secretKind, name, { namespace, signal: s })),
      configMap: (namespace, name, s) =>
        unlessNotFound(client.get<ConfigMap>(configMapKind, name, { namespace, signal: s })),
      binarySource: (namespace, buildName, s) =>
        client.openStream(
          `/apis/build.openshift.io/v1/namespaces/${encodeURIComponent(namespace)}/builds/${encodeURIComponent(buildName)}/source`,
          {},
          s,
          'binary build input',
        ),
      updateStatus: async (pod: Pod, status: PodStatus, s) => {
        await client.updateStatus<Pod>(
          podKind,
          { ...pod, status },
          { namespace: pod.metadata.namespace, signal: s },
        );
      },
    },
    events: {
      normal: (pod, reason, message) => recorder.normal(pod, reason, message),
      warning: (pod, reason, message) => recorder.warning(pod, reason, message),
    },
    network: buildNetwork,
    settings: {
      ...config.builds,
      pidsLimit: config.pidsLimit,
      defaultUid: config.defaultUid,
      registryAuth: (ref, signal) => registryAuth.authFor(ref, signal),
    },
    hostIP: () => node.internalIP,
    onChange: (uid) => queue.add(uid),
    logger: log,
  });

  const probes = new ProbeManager({
    run: handlerProbeRunner(runtime),
    events: {
      unhealthy: (target, type, output) => {
        const pod = pods.get(target.podUid);
        if (pod) recorder.warning(pod, 'Unhealthy', `${probeLabel(type)} probe failed: ${output}`);
      },
    },
    onChange: (uid) => queue.add(uid),
    logger: log,
  });

  const reconciler = new PodReconciler({
    nodeName: config.nodeName,
    runtime,
    registryAuth: (image, s) => registryAuth.authFor(image, s),
    api: {
      sources: (pod, s) => fetchSources(client, pod, s),
      updateStatus: async (pod: Pod, status: PodStatus, s) => {
        await client.updateStatus<Pod>(
          podKind,
          { ...pod, status },
          { namespace: pod.metadata.namespace, signal: s },
        );
      },
      confirmDeletion: async (pod: Pod, s) => {
        try {
          await client.delete(podKind, pod.metadata.name ?? '', {
            namespace: pod.metadata.namespace,
            gracePeriodSeconds: 0,
            preconditions: { uid: pod.metadata.uid! },
            signal: s,
          });
        } catch (err) {
          // Gone already, or a newer pod of the same name: nothing of this one is left to confirm.
          if (!isApiError(err, 'NotFound') && !isApiError(err, 'Conflict')) throw err;
        }
      },
    },
    events: recorder,
    pods: { get: (uid) => pods.get(uid) },
    probes,
    planOptions: () => ({
      nodeName: config.nodeName,
      uid: config.defaultUid,
      gid: config.defaultGid,
      pidsLimit: config.pidsLimit,
      pauseImage: runtime.pauseImage,
      ...(node.internalIP ? { hostIP: node.internalIP } : {}),
      ...(node.capacity ? { nodeCapacity: node.capacity } : {}),
      ...clusterDnsOption(network),
    }),
    hostIP: () => node.internalIP,
    backoff: config.backoff,
    builds,
  });

  const podController = new Controller<string>({
    name: 'pod-reconciler',
    queue,
    workers: config.workers,
    logger: log,
    waitFor: network ? [pods, network.ready] : [pods],
    reconcile: (uid, s, l) => reconciler.reconcile(uid, s, l),
  });

  /** Everything Docker holds for this node: pods no longer bound here get reconciled away. */
  const sweep = async (): Promise<void> => {
    if (!pods.hasSynced() || signal.aborted) return;
    try {
      for (const inv of await runtime.listPods()) {
        if (!pods.get(inv.uid)) queue.add(inv.uid);
      }
      await builds.sweep((uid) => pods.get(uid) !== undefined);
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'cannot list the pods in Docker');
    }
  };

  const tasks: Promise<unknown>[] = [];
  tasks.push(pods.run(signal));
  tasks.push(podController.run(signal));
  tasks.push(
    (async () => {
      if (await pods.waitForSync(signal)) await sweep();
    })(),
  );
  tasks.push(
    (async () => {
      for await (const ev of runtime.events(signal)) {
        if (ev.type === 'resync') {
          for (const p of pods.list()) enqueue(p);
          await sweep();
        } else if (ev.podUid) {
          queue.add(ev.podUid);
        }
      }
    })(),
  );
  const timers: NodeJS.Timeout[] = [];
  timers.push(
    setInterval(() => {
      void sweep();
    }, config.resyncIntervalMs),
  );
  // Images: only where the agent can measure the engine's disk (a local engine).
  let dockerRootDir: string | undefined;
  const images = isLocalEndpoint(config.docker)
    ? new ImageCollector({
        docker: createDockerClient(config.docker),
        policy: config.imageGc,
        disk: async () => {
          dockerRootDir ??= (await runtime.info()).dockerRootDir || '/';
          return diskUsage(dockerRootDir);
        },
        logger,
      })
    : undefined;
  const collectImages = async (): Promise<void> => {
    if (!images) return;
    const result = await images.collect();
    if (result.shortBytes > 0) {
      recorder.warning(
        nodeRef(config.nodeName),
        'FreeDiskSpaceFailed',
        `Failed to garbage collect required amount of images. Attempted to free ${result.freedBytes + result.shortBytes} bytes, but only found ${result.freedBytes} bytes eligible to free.`,
      );
    }
  };
  let gcRunning: Promise<unknown> | undefined;
  timers.push(
    setInterval(() => {
      if (gcRunning) return;
      gcRunning = runtime
        .garbageCollect(1)
        .then(collectImages)
        .catch((err: unknown) =>
          log.warn({ err: (err as Error).message }, 'garbage collection failed'),
        )
        .finally(() => {
          gcRunning = undefined;
        });
    }, config.gcIntervalMs),
  );
  node.start();
  log.info(
    { server: config.server, docker: config.docker, workers: config.workers },
    'agent started',
  );

  let closing: Promise<void> | undefined;
  const shutdown = async (removeServiceRules: boolean): Promise<void> => {
    log.info({}, 'agent stopping; pods keep running');
    for (const t of timers) clearInterval(t);
    controller.abort();
    probes.close();
    // A heartbeat in flight to an unreachable master is not worth waiting for.
    await Promise.race([node.stop(), new Promise((r) => setTimeout(r, 3000).unref())]);
    // Reconciles in flight finish (a pull or a graceful stop may take a while): bounded.
    await Promise.race([
      Promise.allSettled([...tasks, gcRunning]),
      new Promise((r) => setTimeout(r, 5000).unref()),
    ]);
    // Builds cannot outlive the agent (it runs them): each fails, saying the agent stopped.
    await Promise.race([builds.close(), new Promise((r) => setTimeout(r, 10_000).unref())]);
    await Promise.race([recorder.flush(), new Promise((r) => setTimeout(r, 2000).unref())]);
    await network?.close({ removeRules: removeServiceRules });
    await daemon.close();
    log.info({}, 'agent stopped');
  };
  return {
    nodeName: config.nodeName,
    close: (options = {}) => (closing ??= shutdown(options.removeServiceRules ?? false)),
  };
}
