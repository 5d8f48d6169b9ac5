/**
 * NodePorts of NodePort and LoadBalancer Services, allocated from the node port range (default
 * 30000-32767) as Kubernetes' port allocator does: a port asked for is checked, one not asked for
 * is picked at random among the free ones, and an update keeps the ports a Service already has.
 *
 * Uniqueness works as for ClusterIPs (service-ip.ts): each port has a reservation key
 * (`/slipway/node-ports/PORT`) created in the same transaction as the Service write that takes
 * it, and deleted in the one that gives it up (an update to ClusterIP, a port removed, the
 * Service or its project deleted). A TCP and a UDP port of one Service may share a number; the
 * number is reserved once.
 */
import { randomInt } from 'node:crypto';
import { ApiError, type StatusCause } from '../../src/api/errors.js';
import { hasNodePorts, type Service, type ServicePort } from '../../src/api/kinds/service.js';
import type { ApiObject } from '../../src/api/meta.js';
import type { KeyValue, Store, TxnOp } from '../store/types.js';
import { ownedBy, parseReservation, reservationValue } from './reservations.js';

export const NODE_PORT_PREFIX = '/slipway/node-ports/';
export const DEFAULT_NODE_PORT_RANGE = '30000-32767';

export interface PortRange {
  text: string;
  first: number;
  last: number;
}

/** Parses `FIRST-LAST` (1-65535, FIRST <= LAST), or explains what is wrong. */
export function parsePortRange(text: string): PortRange | string {
  const m = /^([0-9]{1,5})-([0-9]{1,5})$/.exec(text.trim());
  const first = Number(m?.[1]);
  const last = Number(m?.[2]);
  if (!m || first < 1 || last > 65535 || first > last) {
    return 'must be FIRST-LAST, two port numbers from 1 to 65535, such as 30000-32767';
  }
  return { text: `${first}-${last}`, first, last };
}

export function nodePortKey(port: number): string {
  return `${NODE_PORT_PREFIX}${port}`;
}

/** The node ports a stored Service holds. */
function heldPorts(svc: Service): Set<number> {
  if (!hasNodePorts(svc.spec)) return new Set();
  return new Set(
    (svc.spec.ports ?? []).map((p) => p.nodePort).filter((n): n is number => n !== undefined),
  );
}

export class NodePortAllocator {
  readonly range: PortRange;
  readonly #store: Store;

  constructor(store: Store, range: PortRange) {
    this.#store = store;
    this.range = range;
  }

  async #reserved(): Promise<Map<number, KeyValue>> {
    const out = new Map<number, KeyValue>();
    for (const kv of (await this.#store.list(NODE_PORT_PREFIX)).items) {
      out.set(Number(kv.key.slice(NODE_PORT_PREFIX.length)), kv);
    }
    return out;
  }

  /** Admission of a new Service: fills every port's nodePort; the reservations to commit. */
  async admitCreate(svc: Service): Promise<TxnOp[]> {
    if (!hasNodePorts(svc.spec)) return [];
    return this.#assign(svc, new Set(), await this.#reserved());
  }

  /**
   * Admission of a Service update: ports keep the nodePort they had (matched by port and
   * protocol, else by name) unless the update names another; new ports get one; ports no
   * longer used are released. Returns the ops to commit with the update.
   */
  async admitUpdate(current: Service, next: Service): Promise<TxnOp[]> {
    const held = heldPorts(current);
    const reserved =
      held.size > 0 || hasNodePorts(next.spec)
        ? await this.#reserved()
        : new Map<number, KeyValue>();
    const ops: TxnOp[] = [];
    if (hasNodePorts(next.spec)) {
      const previous = hasNodePorts(current.spec) ? (current.spec.ports ?? []) : [];
      for (const port of next.spec.ports ?? []) {
        if (port.nodePort !== undefined) continue;
        const before =
          previous.find((p) => p.port === port.port && sameProtocol(p, port)) ??
          (port.name
            ? previous.find((p) => p.name === port.name && sameProtocol(p, port))
            : undefined);
        if (before?.nodePort !== undefined) port.nodePort = before.nodePort;
      }
      ops.push(...this.#assign(next, held, reserved));
    }
    const kept = heldPorts(next);
    for (const port of held) {
      if (kept.has(port)) continue;
      const kv = reserved.get(port);
      if (kv && ownedBy(kv, current)) {
        ops.push({ op: 'delete', key: kv.key, expectedModRevision: kv.modRevision });
      }
    }
    return ops;
  }

  /** Checks asked-for ports and picks the others; create ops for those not already `held`. */
  #assign(
    svc: Service,
    held: ReadonlySet<number>,
    reserved: ReadonlyMap<number, KeyValue>,
  ): TxnOp[] {
    const causes: StatusCause[] = [];
    const taking = new Set<number>();
    const ports = svc.spec.ports ?? [];
    ports.forEach((port, i) => {
      const wanted = port.nodePort;
      if (wanted === undefined || held.has(wanted) || taking.has(wanted)) return;
      const field = `spec.ports[${i}].nodePort`;
      if (wanted < this.range.first || wanted > this.range.last) {
        causes.push({
          field,
          message: `Invalid value: ${wanted}: provided port is not in the valid range. The range of valid ports is ${this.range.text}`,
          reason: 'FieldValueInvalid',
        });
      } else if (reserved.has(wanted)) {
        causes.push({
          field,
          message: `Invalid value: ${wanted}: provided port is already allocated`,
          reason: 'FieldValueInvalid',
        });
      } else {
        taking.add(wanted);
      }
    });
    if (causes.length > 0) throw ApiError.invalid('Service', svc.metadata.name ?? '', causes);
    for (const port of ports) {
      if (port.nodePort !== undefined) continue;
      // A TCP and a UDP port of the same number share their node port, as kubectl expects.
      const sibling = ports.find(
        (p) => p !== port && p.port === port.port && p.nodePort !== undefined,
      );
      port.nodePort = sibling?.nodePort ?? this.#pick(reserved, held, taking);
      if (!held.has(port.nodePort)) taking.add(port.nodePort);
    }
    const value = reservationValue(svc);
    return [...taking].map((port) => ({ op: 'create', key: nodePortKey(port), value }));
  }

  /** A free port, from a random place in the range on (concurrent creates rarely collide). */
  #pick(
    reserved: ReadonlyMap<number, KeyValue>,
    held: ReadonlySet<number>,
    taking: ReadonlySet<number>,
  ): number {
    const size = this.range.last - this.range.first + 1;
    const start = randomInt(size);
    for (let i = 0; i < size; i++) {
      const port = this.range.first + ((start + i) % size);
      if (!reserved.has(port) && !held.has(port) && !taking.has(port)) return port;
    }
    throw new ApiError(
      'InternalError',
      `Internal error occurred: failed to allocate a nodePort: range ${this.range.text} is full`,
    );
  }

  /** Ops that free a deleted Service's node ports, for its deletion transaction. */
  async releaseOps(svc: ApiObject): Promise<TxnOp[]> {
    const held = heldPorts(svc as Service);
    if (held.size === 0) return [];
    const reserved = await this.#reserved();
    const ops: TxnOp[] = [];
    for (const port of held) {
      const kv = reserved.get(port);
      if (kv && ownedBy(kv, svc)) {
        ops.push({ op: 'delete', key: kv.key, expectedModRevision: kv.modRevision });
      }
    }
    return ops;
  }

  /** Ops that free every node port the Services of a project hold, for the project's deletion. */
  async releaseNamespaceOps(namespace: string): Promise<TxnOp[]> {
    return [...(await this.#reserved()).values()]
      .filter((kv) => parseReservation(kv)?.namespace === namespace)
      .map((kv) => ({ op: 'delete', key: kv.key, expectedModRevision: kv.modRevision }));
  }
}

function sameProtocol(a: ServicePort, b: ServicePort): boolean {
  return (a.protocol ?? 'TCP') === (b.protocol ?? 'TCP');
}
