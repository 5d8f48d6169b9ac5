import {
  nodeKind,
  podKind,
  routeKind,
  type Node,
  type Pod,
  type Route,
} from '../../src/api/index.js';
import { ApiClient, EventRecorder } from '../../src/client/index.js';
import type { Logger } from '../../src/util/logger.js';
import { buildControllers } from './build/start.js';
import { httpControllerClient } from './client.js';
import { deploymentControllers } from './deployment/index.js';
import { endpointsController } from './endpoints/index.js';
import { garbageCollector } from './garbage-collector/index.js';
import { apiInformer } from './informers.js';
import { NODE_CONTROLLER_COMPONENT, NodeLifecycleController } from './node-lifecycle/index.js';
import { replicationControllers } from './replication/index.js';
import {
  DEFAULT_ROUTER_NAME,
  httpRouteStatusClient,
  RouteAdmissionController,
} from './route-admission/index.js';
import { SCHEDULER_COMPONENT, SchedulerController } from './scheduler/index.js';

export interface ControllerManagerOptions {
  /** The master's own API URL (loopback), as a remote client would use it. */
  server: string;
  /** Bearer token of `system:controller-manager`. */
  token: string;
  logger: Logger;
  nodeMonitorGracePeriodMs: number;
  podEvictionTimeoutMs: number;
  /** The cluster registry builds push to (`HOST:PORT`); undefined: none configured. */
  registry?: string | undefined;
  /** How often image stream tags with `importPolicy.scheduled` are imported again. */
  scheduledImportIntervalMs?: number | undefined;
  /** The router whose route admission the controller-manager writes; default `default`. */
  routerName?: string | undefined;
}

export interface RunningControllerManager {
  /** Stops the controllers and informers, waits for reconciles in flight, then for the events
   * already recorded (bounded). */
  stop(): Promise<void>;
}

/** Watches are renewed this often, so a stream never lives forever. */
const WATCH_TIMEOUT_SECONDS = 5 * 60;
/** How long stop() waits for recorded events to be written. */
const EVENT_FLUSH_TIMEOUT_MS = 2000;

/**
 * kube-controller-manager for Slipway: the scheduler and the node lifecycle controller over
 * shared pod and node informers, all talking to the API over HTTP with their own token, like
 * any other client. Nothing here touches the store.
 */
export function startControllerManager(
  options: ControllerManagerOptions,
): RunningControllerManager {
  const logger = options.logger.child({ component: 'controller-manager' });
  const client = new ApiClient({
    server: options.server,
    token: options.token,
    userAgent: 'slipway-controller-manager',
  });
  const controllerClient = httpControllerClient(client);
  const informerOptions = { watchTimeoutSeconds: WATCH_TIMEOUT_SECONDS };
  const source = { client, logger, informerOptions };
  const pods = apiInformer<Pod>(source, podKind);
  const nodes = apiInformer<Node>(source, nodeKind);
  const replication = replicationControllers({ ...source, pods });
  /** What the workload controllers share: the pods and the replication controllers' informers. */
  const workloads = {
    ...source,
    pods,
    replicationControllers: replication.replicationControllers,
    replicaSets: replication.replicaSets,
  };
  const builds = buildControllers({
    client,
    pods,
    logger,
    registry: options.registry,
    watchTimeoutSeconds: WATCH_TIMEOUT_SECONDS,
    scheduledImportIntervalMs: options.scheduledImportIntervalMs ?? 15 * 60_000,
  });
  const deployments = deploymentControllers(workloads);
  const recorders = [SCHEDULER_COMPONENT, NODE_CONTROLLER_COMPONENT].map(
    (component) => new EventRecorder({ client, component, logger }),
  );
  const scheduler = new SchedulerController({
    pods,
    nodes,
    client: controllerClient,
    recorder: recorders[0]!,
    logger,
  });
  const nodeLifecycle = new NodeLifecycleController({
    nodes,
    pods,
    client: controllerClient,
    recorder: recorders[1]!,
    logger,
    gracePeriodMs: options.nodeMonitorGracePeriodMs,
    evictionTimeoutMs: options.podEvictionTimeoutMs,
  });

  const routes = apiInformer<Route>(source, routeKind);
  const routeAdmission = new RouteAdmissionController({
    routes,
    client: httpRouteStatusClient(client),
    logger,
    routerName: options.routerName ?? DEFAULT_ROUTER_NAME,
  });

  const abort = new AbortController();
  const { signal } = abort;
  const running = Promise.all([
    pods.run(signal),
    nodes.run(signal),
    scheduler.run(signal),
    nodeLifecycle.run(signal),
    builds.run(signal),
    endpointsController({ client, pods, logger, informerOptions }).run(signal),
    replication.run(signal),
    deployments.run(signal),
    garbageCollector(workloads).run(signal),
    routes.run(signal),
    routeAdmission.run(signal),
  ]).catch((err: unknown) => logger.error({ err }, 'controller-manager failed'));
  logger.info(
    {
      nodeMonitorGracePeriodMs: options.nodeMonitorGracePeriodMs,
      podEvictionTimeoutMs: options.podEvictionTimeoutMs,
    },
    'controller-manager started',
  );

  let stopping: Promise<void> | undefined;
  const stop = async (): Promise<void> => {
    abort.abort();
    await running;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, EVENT_FLUSH_TIMEOUT_MS);
    });
    await Promise.race([
      Promise.all(
        [...recorders, ...builds.recorders, ...replication.recorders, ...deployments.recorders].map(
          (r) => r.flush(),
        ),
      ),
      timeout,
    ]);
    clearTimeout(timer);
    logger.info({}, 'controller-manager stopped');
  };
  return { stop: () => (stopping ??= stop()) };
}
