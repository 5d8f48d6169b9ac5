// The kubelet of a simulated node, for rollout tests: a pod bound to the node becomes Running
// and Ready after a random delay (never, for NEVER_READY_IMAGE), and a terminating pod is
// confirmed gone after a random delay, as an agent would once its containers stopped.
import { podKind, type Pod } from '../../src/api/index.js';
import type { ApiClient } from '../../src/client/index.js';

/** Pods running this image never become ready. */
export const NEVER_READY_IMAGE = 'example/never-ready:1';

export class FakeKubelet {
  readonly #client: ApiClient;
  readonly #node: string;
  readonly #readyMs: [number, number];
  readonly #goneMs: [number, number];
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  readonly #seen = new Set<string>();
  #poll: ReturnType<typeof setInterval> | undefined;
  #ip = 10;

  /** `client`: the node-join token's. Delays are [min, max] milliseconds. */
  constructor(
    client: ApiClient,
    node: string,
    options: { readyMs?: [number, number]; goneMs?: [number, number] } = {},
  ) {
    this.#client = client;
    this.#node = node;
    this.#readyMs = options.readyMs ?? [100, 900];
    this.#goneMs = options.goneMs ?? [100, 700];
  }

  start(): void {
    this.#poll = setInterval(() => {
      this.#pass().catch(() => undefined);
    }, 100);
  }

  stop(): void {
    if (this.#poll) clearInterval(this.#poll);
    for (const t of this.#timers) clearTimeout(t);
  }

  #later([min, max]: [number, number], fn: () => Promise<unknown>): void {
    const t = setTimeout(
      () => {
        this.#timers.delete(t);
        fn().catch(() => undefined);
      },
      min + Math.random() * (max - min),
    );
    this.#timers.add(t);
  }

  async #pass(): Promise<void> {
    const pods = await this.#client.list<Pod>(podKind, {
      fieldSelector: `spec.nodeName=${this.#node}`,
    });
    for (const pod of pods.items) {
      const { name = '', namespace, uid = '' } = pod.metadata;
      if (pod.metadata.deletionTimestamp) {
        if (this.#seen.has(`gone/${uid}`)) continue;
        this.#seen.add(`gone/${uid}`);
        this.#later(this.#goneMs, () =>
          this.#client.delete(podKind, name, {
            namespace,
            gracePeriodSeconds: 0,
            preconditions: { uid },
          }),
        );
        continue;
      }
      if (this.#seen.has(uid)) continue;
      this.#seen.add(uid);
      const ip = `10.88.${Math.floor(this.#ip / 250) % 250}.${(this.#ip++ % 250) + 1}`;
      const status = (ready: boolean) => ({
        status: {
          phase: 'Running',
          podIP: ip,
          conditions: [
            {
              type: 'Ready',
              status: ready ? 'True' : 'False',
              lastTransitionTime: new Date().toISOString(),
            },
          ],
        },
      });
      const patch = (ready: boolean) =>
        this.#client.patch(podKind, name, status(ready), { namespace, subresource: 'status' });
      await patch(false);
      if (!pod.spec.containers.some((c) => c.image === NEVER_READY_IMAGE)) {
        this.#later(this.#readyMs, () => patch(true));
      }
    }
  }
}
