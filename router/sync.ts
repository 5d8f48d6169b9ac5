/**
 * Keeps the routing table in step with the master: informers on routes, services and endpoints
 * in every namespace (list + watch over the API with the router's token); any change rebuilds
 * the table after a short debounce (a burst of changes makes one table). The time from the
 * first change seen to the new table being live is the route programming latency.
 */
import type { Endpoints, Route, Service } from '../src/api/index.js';
import { endpointsKind, routeKind, serviceKind } from '../src/api/kinds/index.js';
import type { ApiClient } from '../src/client/index.js';
import { Informer, clientListWatcher, type EventHandler } from '../src/reconcile/index.js';
import type { Logger } from '../src/util/logger.js';
import type { RouterMetrics } from './metrics.js';
import {
  buildRouteTable,
  type RouteTable,
  type TableInput,
  type TableOptions,
  type TableProblem,
} from './route-table.js';

export interface SyncOptions {
  client: Pick<ApiClient, 'list' | 'watch'>;
  logger: Logger;
  metrics: RouterMetrics;
  tableOptions: TableOptions;
  /** Wait this long after a change for more before rebuilding. */
  debounceMs: number;
  /** The table being served, so unchanged backends carry over. */
  current: () => RouteTable;
  /** Called with every new table (and the inputs it was built from). */
  onTable: (table: RouteTable, input: TableInput) => void;
}

export class RouteSync {
  readonly routes: Informer<Route>;
  readonly services: Informer<Service>;
  readonly endpoints: Informer<Endpoints>;
  readonly #o: SyncOptions;
  readonly #log: Logger;
  #timer: NodeJS.Timeout | undefined;
  #firstChange: number | undefined;
  #synced = false;
  #reported = new Map<string, string>();
  #resolveSynced: () => void = () => undefined;
  /** Resolves once the first table built from the master is live. */
  readonly whenSynced: Promise<void>;

  constructor(options: SyncOptions) {
    this.#o = options;
    this.whenSynced = new Promise((resolve) => (this.#resolveSynced = resolve));
    this.#log = options.logger.child({ component: 'route-sync' });
    const make = <T extends Route | Service | Endpoints>(
      name: string,
      def: typeof routeKind | typeof serviceKind | typeof endpointsKind,
    ): Informer<T> =>
      new Informer<T>({
        name,
        listWatcher: clientListWatcher<T>(options.client, def, { watchTimeoutSeconds: 300 }),
        logger: options.logger,
        backOff: { initialMs: 200, maxMs: 10_000 },
      });
    this.routes = make<Route>('routes', routeKind);
    this.services = make<Service>('services', serviceKind);
    this.endpoints = make<Endpoints>('endpoints', endpointsKind);
    const onChange = <T>(): EventHandler<T> => ({
      onAdd: () => this.#changed(),
      onUpdate: (a, b) => {
        if (a !== b) this.#changed();
      },
      onDelete: () => this.#changed(),
    });
    this.routes.addEventHandler(onChange<Route>());
    this.services.addEventHandler(onChange<Service>());
    this.endpoints.addEventHandler(onChange<Endpoints>());
  }

  /** True once all three informers have listed and a table was built from them. */
  get synced(): boolean {
    return this.#synced;
  }

  /** Runs until the signal aborts. */
  async run(signal: AbortSignal): Promise<void> {
    const running = Promise.all([
      this.routes.run(signal),
      this.services.run(signal),
      this.endpoints.run(signal),
    ]);
    const synced = await Promise.all([
      this.routes.waitForSync(signal),
      this.services.waitForSync(signal),
      this.endpoints.waitForSync(signal),
    ]);
    if (synced.every(Boolean) && !signal.aborted) {
      this.#firstChange ??= performance.now();
      this.#rebuild();
      this.#synced = true;
      this.#resolveSynced();
      this.#log.info(
        {
          routes: this.routes.list().length,
          services: this.services.list().length,
          endpoints: this.endpoints.list().length,
        },
        'synced with the master',
      );
    }
    await running;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #changed(): void {
    this.#firstChange ??= performance.now();
    if (!this.#synced || this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#rebuild();
    }, this.#o.debounceMs);
  }

  #rebuild(): void {
    const first = this.#firstChange ?? performance.now();
    this.#firstChange = undefined;
    const input: TableInput = {
      routes: this.routes.list(),
      services: this.services.list(),
      endpoints: this.endpoints.list(),
    };
    try {
      const { table, problems } = buildRouteTable(input, this.#o.tableOptions, this.#o.current());
      this.#o.onTable(table, input);
      this.#o.metrics.programming.observe((performance.now() - first) / 1000);
      this.#report(problems);
    } catch (err) {
      this.#o.metrics.syncErrors.inc();
      this.#log.error({ err }, 'building the routing table failed; keeping the current one');
    }
  }

  /** Logs each route problem once, when it appears or changes. */
  #report(problems: TableProblem[]): void {
    const now = new Map<string, string>();
    for (const p of problems) {
      const text = `${p.reason}: ${p.message}`;
      const previous = now.get(p.route);
      now.set(p.route, previous ? `${previous}; ${text}` : text);
    }
    for (const [route, text] of now) {
      if (this.#reported.get(route) !== text)
        this.#log.info({ route, problem: text }, 'route not served as written');
    }
    this.#reported = now;
  }
}
