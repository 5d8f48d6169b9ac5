/**
 * Per-project UID blocks, as OpenShift allocates them: the pool 1000000000-1999999999 in blocks
 * of 10000, one block per project, recorded on the project as
 * `openshift.io/sa.scc.uid-range: 1000650000/10000` (the same block for
 * `openshift.io/sa.scc.supplemental-groups`) with an MCS level derived from the block
 * (`openshift.io/sa.scc.mcs: s0:c11,c10`).
 *
 * Uniqueness: each block in use has a reservation key in the store (`/slipway/uid-blocks/N`,
 * outside the API's `/registry/` keys), and a project is created in the same store transaction
 * that creates its reservation. The transaction fails with KeyExists when another creation took
 * the block first, and the caller picks again; two projects can never commit the same block, and
 * a crash cannot leave a project without its reservation or a reservation without its project.
 * Deleting a project deletes its reservation in the project's deletion transaction, so the block
 * is free for a later project.
 */
import { ApiError } from '../../src/api/errors.js';
import { projectKind } from '../../src/api/kinds/index.js';
import type { ApiObject } from '../../src/api/meta.js';
import {
  formatIdBlock,
  MCS_ANNOTATION,
  parseIdBlock,
  SUPPLEMENTAL_GROUPS_ANNOTATION,
  UID_RANGE_ANNOTATION,
  type IdBlock,
} from '../../src/api/scc.js';
import { collectionPrefix } from '../server/keys.js';
import { isStoreError, type KeyValue, type Store, type TxnOp } from '../store/types.js';

/** OpenShift's default: `1000000000-1999999999/10000`. */
export interface UidPool {
  start: number;
  /** Ids per block. */
  blockSize: number;
  /** Blocks in the pool. */
  blocks: number;
}

export const DEFAULT_UID_POOL: UidPool = Object.freeze({
  start: 1_000_000_000,
  blockSize: 10_000,
  blocks: 100_000,
});

export const RESERVATION_PREFIX = '/slipway/uid-blocks/';

/** What a reservation key holds: the project that owns the block. */
export interface Reservation {
  project: string;
  uid?: string | undefined;
}

export function reservationKey(index: number): string {
  return `${RESERVATION_PREFIX}${String(index).padStart(6, '0')}`;
}

export function blockAt(pool: UidPool, index: number): IdBlock {
  return { start: pool.start + index * pool.blockSize, size: pool.blockSize };
}

/** The index of a block of the pool, or undefined for a range that is not one. */
export function indexOfBlock(pool: UidPool, block: IdBlock): number | undefined {
  const offset = block.start - pool.start;
  if (block.size !== pool.blockSize || offset < 0 || offset % pool.blockSize !== 0)
    return undefined;
  const index = offset / pool.blockSize;
  return index < pool.blocks ? index : undefined;
}

function choose2(n: number): number {
  return (n * (n - 1)) / 2;
}

/**
 * The MCS level for a block: the index-th pair of categories out of c0..c1023 in the
 * combinatorial number system (index 0 is `s0:c1,c0`), higher category first as OpenShift
 * writes it. 1024 categories give 523776 distinct pairs, more than the pool has blocks.
 */
export function mcsLevel(index: number): string {
  let high = 1;
  while (choose2(high + 1) <= index) high += 1;
  const low = index - choose2(high);
  return `s0:c${high},c${low}`;
}

/** The annotations that give a project the block at `index`. */
export function blockAnnotations(pool: UidPool, index: number): Record<string, string> {
  const range = formatIdBlock(blockAt(pool, index));
  return {
    [UID_RANGE_ANNOTATION]: range,
    [SUPPLEMENTAL_GROUPS_ANNOTATION]: range,
    [MCS_ANNOTATION]: mcsLevel(index),
  };
}

function parseReservation(kv: KeyValue): Reservation | undefined {
  try {
    const value = JSON.parse(kv.value) as Partial<Reservation>;
    return typeof value.project === 'string'
      ? { project: value.project, uid: value.uid }
      : undefined;
  } catch {
    return undefined;
  }
}

function indexOfKey(key: string): number {
  return Number(key.slice(RESERVATION_PREFIX.length));
}

/** True for the failure of a reservation op: another creation took the block first. */
export function isReservationTaken(err: unknown): boolean {
  return isStoreError(err, 'KeyExists') && err.key.startsWith(RESERVATION_PREFIX);
}

export interface Proposal {
  index: number;
  annotations: Record<string, string>;
  /** Commit with the project, in one transaction. */
  op: TxnOp;
}

/** Reads and proposes reservations; the caller commits them together with the project. */
export class UidRangeAllocator {
  readonly pool: UidPool;
  private readonly store: Store;

  constructor(store: Store, pool: UidPool = DEFAULT_UID_POOL) {
    this.store = store;
    this.pool = pool;
  }

  private async reserved(): Promise<KeyValue[]> {
    return (await this.store.list(RESERVATION_PREFIX)).items;
  }

  /** The lowest free block for a new project. Fails when every block is in use. */
  async propose(project: string, uid: string | undefined): Promise<Proposal> {
    const used = new Set((await this.reserved()).map((kv) => indexOfKey(kv.key)));
    let index = 0;
    while (used.has(index)) index += 1;
    if (index >= this.pool.blocks) {
      const last = this.pool.start + this.pool.blocks * this.pool.blockSize - 1;
      throw new ApiError(
        'InternalError',
        `Internal error occurred: cannot allocate a UID range for project "${project}": all ${this.pool.blocks} blocks of ${this.pool.start}-${last}/${this.pool.blockSize} are in use`,
      );
    }
    return {
      index,
      annotations: blockAnnotations(this.pool, index),
      op: this.reserveOp(index, project, uid),
    };
  }

  reserveOp(index: number, project: string, uid: string | undefined): TxnOp {
    const value: Reservation = { project, ...(uid ? { uid } : {}) };
    return { op: 'create', key: reservationKey(index), value: JSON.stringify(value) };
  }

  /** Ops that free every block a project holds, for its deletion transaction. */
  async releaseOps(project: string): Promise<TxnOp[]> {
    return (await this.reserved())
      .filter((kv) => parseReservation(kv)?.project === project)
      .map((kv) => ({ op: 'delete', key: kv.key, expectedModRevision: kv.modRevision }));
  }

  /**
   * Brings reservations and projects back in line at start: frees blocks whose project is
   * gone, and gives every project without a block one (projects from before ranges were
   * allocated keep the range they carry when it is a free block of the pool). Runs before the
   * API serves requests.
   */
  async repair(
    decode: (kv: KeyValue) => ApiObject,
    encode: (obj: ApiObject) => string,
  ): Promise<{ released: number; assigned: string[] }> {
    const listed = await this.store.list(collectionPrefix(projectKind));
    const projects = new Map<string, { kv: KeyValue; obj: ApiObject }>();
    for (const kv of listed.items) {
      const obj = decode(kv);
      projects.set(obj.metadata.name ?? '', { kv, obj });
    }
    let released = 0;
    const holders = new Set<string>();
    for (const kv of await this.reserved()) {
      const r = parseReservation(kv);
      const owner = r ? projects.get(r.project) : undefined;
      if (r && owner && (r.uid === undefined || r.uid === owner.obj.metadata.uid)) {
        holders.add(r.project);
        continue;
      }
      await this.store.delete(kv.key, kv.modRevision);
      released += 1;
    }
    const assigned: string[] = [];
    for (const [name, { kv, obj }] of projects) {
      if (holders.has(name)) continue;
      const given = parseIdBlock(obj.metadata.annotations?.[UID_RANGE_ANNOTATION]);
      const index = given ? indexOfBlock(this.pool, given) : undefined;
      if (index !== undefined) {
        try {
          await this.store.txn([this.reserveOp(index, name, obj.metadata.uid)]);
          continue;
        } catch (err) {
          if (!isReservationTaken(err)) throw err;
        }
      }
      // No usable range: allocate one and record it on the project in the same transaction.
      const proposal = await this.propose(name, obj.metadata.uid);
      const updated: ApiObject = {
        ...obj,
        metadata: {
          ...obj.metadata,
          annotations: { ...obj.metadata.annotations, ...proposal.annotations },
        },
      };
      await this.store.txn([
        { op: 'update', key: kv.key, value: encode(updated), expectedModRevision: kv.modRevision },
        proposal.op,
      ]);
      assigned.push(name);
    }
    return { released, assigned };
  }
}
