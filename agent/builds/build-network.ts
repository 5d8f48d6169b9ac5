/**
 * The network build containers run on (X3): a Docker bridge network of this node's own
 * (`slipway-build-<node>`, inter-container traffic off) whose host interface has a fixed name,
 * and an iptables rule the agent owns that rejects everything arriving from that interface for
 * the host itself (`INPUT -i <bridge> -j REJECT`). So a build reaches the internet (npm, Debian)
 * through Docker's NAT and resolves names through Docker's embedded DNS, but not the node: not
 * the agent's API, not a master on the node, not any address of the host, whichever bridge it
 * tries. Other Docker networks are already cut off by Docker's own isolation rules.
 *
 * Builds do not start until both are in place: a node that cannot set the rule fails its
 * builds rather than run them unprotected. `close()` removes the rule and the network.
 */
import { createHash } from 'node:crypto';
import type { Logger } from '../../src/util/logger.js';
import type { BuildEngine, BuildNetwork } from '../docker/build-engine.js';
import { defaultIptables, type IptablesRunner } from '../network/iptables.js';

/** `slipway-build-<node>` (Docker network names allow what node names contain). */
export function buildNetworkName(nodeName: string): string {
  return `slipway-build-${nodeName}`.slice(0, 200);
}

/** `sb-` and 10 hex digits of the node name's hash: at most 15 characters, as Linux wants. */
export function bridgeName(nodeName: string): string {
  return `sb-${createHash('sha256').update(nodeName).digest('hex').slice(0, 10)}`;
}

/** The rule's arguments after the operation (`-C`, `-I`, `-D`). */
export function inputRule(bridge: string, nodeName: string): string[] {
  return [
    'INPUT',
    '-i',
    bridge,
    '-m',
    'comment',
    '--comment',
    `slipway-agent builds of node ${nodeName}`.slice(0, 250),
    '-j',
    'REJECT',
    '--reject-with',
    'icmp-admin-prohibited',
  ];
}

export class BuildNetworkGuard {
  readonly #engine: Pick<BuildEngine, 'ensureNetwork' | 'removeNetwork'>;
  readonly #nodeName: string;
  readonly #iptables: IptablesRunner;
  readonly #log: Logger;
  #ready: Promise<BuildNetwork> | undefined;
  #ruleBridge: string | undefined;

  constructor(options: {
    engine: Pick<BuildEngine, 'ensureNetwork' | 'removeNetwork'>;
    nodeName: string;
    logger: Logger;
    iptables?: IptablesRunner;
  }) {
    this.#engine = options.engine;
    this.#nodeName = options.nodeName;
    this.#iptables = options.iptables ?? defaultIptables;
    this.#log = options.logger.child({ component: 'build-network' });
  }

  get name(): string {
    return buildNetworkName(this.#nodeName);
  }

  /** The network with its firewall rule in place (set up once; tried again after a failure). */
  async ensure(): Promise<BuildNetwork> {
    this.#ready ??= this.#setUp();
    try {
      return await this.#ready;
    } catch (err) {
      this.#ready = undefined;
      throw err;
    }
  }

  async #setUp(): Promise<BuildNetwork> {
    const network = await this.#engine.ensureNetwork(this.name, bridgeName(this.#nodeName));
    const rule = inputRule(network.bridge, this.#nodeName);
    try {
      await this.#iptables(['-w', '5', '-C', ...rule]);
    } catch {
      try {
        await this.#iptables(['-w', '5', '-I', ...rule.slice(0, 1), '1', ...rule.slice(1)]);
      } catch (err) {
        const stderr = (err as { stderr?: string }).stderr?.trim();
        throw new Error(
          `cannot install the firewall rule that keeps builds away from the node (iptables: ${stderr || (err as Error).message})`,
          { cause: err },
        );
      }
    }
    this.#ruleBridge = network.bridge;
    this.#log.info(
      { network: network.name, bridge: network.bridge, subnet: network.subnet },
      'build network ready; the node is unreachable from it',
    );
    return network;
  }

  /** Removes the rule and the network (best effort). */
  async close(): Promise<void> {
    const bridge = this.#ruleBridge;
    this.#ready = undefined;
    this.#ruleBridge = undefined;
    if (bridge) {
      const rule = inputRule(bridge, this.#nodeName);
      // Remove every copy (an earlier agent killed before removing its own).
      for (let i = 0; i < 10; i++) {
        try {
          await this.#iptables(['-w', '5', '-D', ...rule]);
        } catch {
          break;
        }
      }
    }
    try {
      await this.#engine.removeNetwork(this.name);
    } catch (err) {
      this.#log.warn({ err: (err as Error).message }, 'cannot remove the build network');
    }
  }
}
