/**
 * Hairpin traffic: a pod calling a Service that picks the pod itself. The proxy masquerades that
 * traffic (so the reply comes back through the host), but the packet must then leave the
 * bridge by the port it came in on, which a Linux bridge allows only with `hairpin_mode` on that
 * port. Docker turns it on only without its userland proxy, so the agent sets it, as kubelet's
 * `hairpin-veth` mode did, on the host end of each endpoint pod's veth: the interface whose
 * index is the sandbox's `eth0` peer (`/proc/PID/root/sys/class/net/eth0/iflink`).
 *
 * Only this node's sandboxes whose IP is a service endpoint are touched, once per sandbox.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import type { Logger } from '../../src/util/logger.js';

/** The file system calls used (a fake in unit tests). */
export interface HairpinFs {
  readFile(path: string): Promise<string>;
  writeFile(path: string, data: string): Promise<void>;
  readdir(path: string): Promise<string[]>;
}

const hostFs: HairpinFs = {
  readFile: (path) => readFile(path, 'utf8'),
  writeFile: (path, data) => writeFile(path, data),
  readdir: (path) => readdir(path),
};

/** A running sandbox of this node. */
export interface SandboxRef {
  id: string;
  ip: string | undefined;
}

export class HairpinSetter {
  readonly #sandboxes: () => Promise<SandboxRef[]>;
  readonly #pidOf: (id: string) => Promise<number | undefined>;
  readonly #fs: HairpinFs;
  readonly #log: Logger;
  readonly #done = new Set<string>();

  constructor(options: {
    /** This node's running sandboxes. */
    sandboxes: () => Promise<SandboxRef[]>;
    pidOf: (id: string) => Promise<number | undefined>;
    fs?: HairpinFs;
    logger: Logger;
  }) {
    this.#sandboxes = options.sandboxes;
    this.#pidOf = options.pidOf;
    this.#fs = options.fs ?? hostFs;
    this.#log = options.logger;
  }

  /** Turns hairpin mode on for the sandboxes whose IP is in `ips` (once each). */
  async ensure(ips: ReadonlySet<string>): Promise<void> {
    const sandboxes = await this.#sandboxes();
    const current = new Set(sandboxes.map((s) => s.id));
    for (const id of this.#done) if (!current.has(id)) this.#done.delete(id);
    const todo = sandboxes.filter((s) => s.ip && ips.has(s.ip) && !this.#done.has(s.id));
    if (todo.length === 0) return;
    const byIndex = await this.#hostInterfaces();
    for (const sandbox of todo) {
      try {
        const pid = await this.#pidOf(sandbox.id);
        if (!pid) continue;
        const peer = (
          await this.#fs.readFile(`/proc/${pid}/root/sys/class/net/eth0/iflink`)
        ).trim();
        const iface = byIndex.get(peer);
        if (!iface) {
          this.#log.debug({ sandbox: sandbox.id, peer }, 'no host interface for the sandbox');
          continue;
        }
        await this.#fs.writeFile(`/sys/class/net/${iface}/brport/hairpin_mode`, '1');
        this.#done.add(sandbox.id);
        this.#log.debug({ sandbox: sandbox.id, iface }, 'hairpin mode on');
      } catch (err) {
        this.#log.debug(
          { sandbox: sandbox.id, err: (err as Error).message },
          'cannot turn hairpin mode on',
        );
      }
    }
  }

  /** Host interface names by index. */
  async #hostInterfaces(): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const name of await this.#fs.readdir('/sys/class/net')) {
      try {
        out.set((await this.#fs.readFile(`/sys/class/net/${name}/ifindex`)).trim(), name);
      } catch {
        // Gone meanwhile.
      }
    }
    return out;
  }
}
