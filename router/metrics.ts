/**
 * The router's Prometheus metrics, on their own registry (served by the stats server). The two
 * that every request touches are kept as plain numbers and handed to prom-client only when
 * scraped: prom-client hashes the label set on every increment, which cost a measurable share
 * of a proxied request.
 */
import {
  Counter,
  Gauge,
  Histogram,
  Registry,
  collectDefaultMetrics,
  type Metric,
} from 'prom-client';

/** A label-less histogram whose observe is a loop over bounds and three additions. */
export class FastHistogram {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly #bounds: readonly number[];
  readonly #counts: Float64Array;
  #sum = 0;
  #count = 0;

  constructor(options: { name: string; help: string; buckets: readonly number[] }) {
    this.name = options.name;
    this.help = options.help;
    this.#bounds = [...options.buckets].sort((a, b) => a - b);
    this.#counts = new Float64Array(this.#bounds.length + 1);
  }

  observe(value: number): void {
    let i = 0;
    while (i < this.#bounds.length && value > this.#bounds[i]!) i++;
    this.#counts[i]!++;
    this.#sum += value;
    this.#count++;
  }

  /** What prom-client's registry asks every metric for. */
  get(): Promise<{
    name: string;
    help: string;
    type: string;
    aggregator: string;
    values: { labels: Record<string, string | number>; value: number; metricName: string }[];
  }> {
    let acc = 0;
    const bucket = `${this.name}_bucket`;
    type Value = { labels: Record<string, string | number>; value: number; metricName: string };
    const values: Value[] = this.#bounds.map((le, i) => ({
      labels: { le },
      value: (acc += this.#counts[i]!),
      metricName: bucket,
    }));
    values.push(
      { labels: { le: '+Inf' }, value: this.#count, metricName: bucket },
      { labels: {}, value: this.#sum, metricName: `${this.name}_sum` },
      { labels: {}, value: this.#count, metricName: `${this.name}_count` },
    );
    return Promise.resolve({
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values,
    });
  }

  reset(): void {
    this.#counts.fill(0);
    this.#sum = 0;
    this.#count = 0;
  }
}

interface RequestCount {
  namespace: string;
  route: string;
  code: string;
  value: number;
}

export class RouterMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'namespace' | 'route' | 'code'>;
  readonly duration: FastHistogram;
  readonly upstreamErrors: Counter<'kind'>;
  readonly retries: Counter;
  readonly badRequests: Counter<'reason'>;
  readonly connections: Gauge;
  readonly tunnels: Gauge;
  readonly passthrough: Gauge;
  readonly routes: Gauge;
  readonly targets: Gauge;
  readonly rebuilds: Counter;
  readonly programming: Histogram;
  readonly syncErrors: Counter;
  readonly #counts = new Map<string, RequestCount>();

  constructor(options: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    const counts = this.#counts;
    this.requests = new Counter({
      name: 'slipway_router_requests_total',
      help: 'Requests answered, by route and status code (route "" when no route matched).',
      labelNames: ['namespace', 'route', 'code'],
      registers,
      collect(this: Counter<'namespace' | 'route' | 'code'>) {
        this.reset();
        for (const c of counts.values()) {
          this.inc({ namespace: c.namespace, route: c.route, code: c.code }, c.value);
        }
      },
    });
    this.duration = new FastHistogram({
      name: 'slipway_router_request_duration_seconds',
      help: 'Time from a request to the end of its response.',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    });
    this.registry.registerMetric(this.duration as unknown as Metric);
    this.upstreamErrors = new Counter({
      name: 'slipway_router_upstream_errors_total',
      help: 'Failed upstream attempts: connect, reset, timeout, invalid response.',
      labelNames: ['kind'],
      registers,
    });
    this.retries = new Counter({
      name: 'slipway_router_retries_total',
      help: 'Requests sent again to another target after a connection failure.',
      registers,
    });
    this.badRequests = new Counter({
      name: 'slipway_router_bad_requests_total',
      help: 'Requests refused before routing (malformed, ambiguous framing).',
      labelNames: ['reason'],
      registers,
    });
    this.connections = new Gauge({
      name: 'slipway_router_client_connections',
      help: 'Open client connections.',
      registers,
    });
    this.tunnels = new Gauge({
      name: 'slipway_router_websocket_tunnels',
      help: 'Open upgraded (WebSocket) connections.',
      registers,
    });
    this.passthrough = new Gauge({
      name: 'slipway_router_passthrough_connections',
      help: 'Open TLS passthrough connections.',
      registers,
    });
    this.routes = new Gauge({
      name: 'slipway_router_routes',
      help: 'Routes in the current table.',
      registers,
    });
    this.targets = new Gauge({
      name: 'slipway_router_targets',
      help: 'Ready endpoint targets in the current table.',
      registers,
    });
    this.rebuilds = new Counter({
      name: 'slipway_router_table_rebuilds_total',
      help: 'Routing tables built and swapped in.',
      registers,
    });
    this.programming = new Histogram({
      name: 'slipway_router_programming_seconds',
      help: 'From a route, service or endpoints change reaching the router to its table being live.',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.syncErrors = new Counter({
      name: 'slipway_router_sync_errors_total',
      help: 'Failures while building a table from the API objects.',
      registers,
    });
    if (options.processMetrics) collectDefaultMetrics({ register: this.registry });
  }

  /** Counts one answered request. */
  request(namespace: string, route: string, code: number): void {
    const key = `${namespace}/${route}/${code}`;
    const count = this.#counts.get(key);
    if (count) count.value++;
    else this.#counts.set(key, { namespace, route, code: String(code), value: 1 });
  }

  /** Drops the request counts of routes no longer served (`namespace/name` keys to keep). */
  forgetRoutes(keep: ReadonlySet<string>): void {
    for (const [key, c] of this.#counts) {
      if (c.route !== '' && !keep.has(`${c.namespace}/${c.route}`)) this.#counts.delete(key);
    }
  }
}
