/**
 * What a reservation key of a Service holds (a ClusterIP in service-ip.ts, a node port in
 * node-ports.ts): the Service that owns it. Written in the Service's own transaction, read to
 * release only what the Service owns.
 */
import type { ApiObject } from '../../src/api/meta.js';
import type { KeyValue } from '../store/types.js';

export interface Reservation {
  namespace: string;
  name: string;
  uid?: string | undefined;
}

/** The value to store for `obj`'s reservation. */
export function reservationValue(obj: ApiObject): string {
  const value: Reservation = {
    namespace: obj.metadata.namespace ?? '',
    name: obj.metadata.name ?? '',
    ...(obj.metadata.uid ? { uid: obj.metadata.uid } : {}),
  };
  return JSON.stringify(value);
}

export function parseReservation(kv: KeyValue): Reservation | undefined {
  try {
    const value = JSON.parse(kv.value) as Partial<Reservation>;
    return typeof value.namespace === 'string' && typeof value.name === 'string'
      ? { namespace: value.namespace, name: value.name, uid: value.uid }
      : undefined;
  } catch {
    return undefined;
  }
}

/** Whether the reservation in `kv` is `obj`'s (same namespace and name). */
export function ownedBy(kv: KeyValue, obj: ApiObject): boolean {
  const r = parseReservation(kv);
  return r !== undefined && r.namespace === obj.metadata.namespace && r.name === obj.metadata.name;
}
