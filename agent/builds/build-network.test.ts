import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/util/logger.js';
import type { BuildNetwork } from '../docker/build-engine.js';
import { bridgeName, BuildNetworkGuard, buildNetworkName, inputRule } from './build-network.js';

function fakes(existingRule = false, failInsert = false) {
  const calls: string[][] = [];
  const engine = {
    created: [] as string[],
    removed: [] as string[],
    async ensureNetwork(name: string, bridge: string): Promise<BuildNetwork> {
      this.created.push(name);
      return { name, id: 'id', bridge, gateway: '172.30.0.1', subnet: '172.30.0.0/16' };
    },
    async removeNetwork(name: string): Promise<void> {
      this.removed.push(name);
    },
  };
  let present = existingRule;
  const iptables = async (args: string[]): Promise<void> => {
    calls.push(args);
    const op = args[2];
    if (op === '-C' && !present) throw new Error('no such rule');
    if (op === '-I') {
      if (failInsert)
        throw Object.assign(new Error('exit 4'), {
          stderr: 'Permission denied (you must be root)',
        });
      present = true;
    }
    if (op === '-D') {
      if (!present) throw new Error('no such rule');
      present = false;
    }
  };
  return { calls, engine, iptables };
}

describe('the build network', () => {
  it('has a per-node name and a bridge name Linux accepts', () => {
    expect(buildNetworkName('node-1')).toBe('slipway-build-node-1');
    expect(bridgeName('a-very-long-node-name.example.com')).toMatch(/^sb-[0-9a-f]{10}$/);
    expect(bridgeName('x').length).toBeLessThanOrEqual(15);
  });

  it('inserts the host rule once, first in INPUT, and removes it on close', async () => {
    const f = fakes();
    const guard = new BuildNetworkGuard({
      engine: f.engine,
      nodeName: 'n1',
      logger: silentLogger(),
      iptables: f.iptables,
    });
    const net = await guard.ensure();
    await guard.ensure();
    expect(net.name).toBe('slipway-build-n1');
    const rule = inputRule(bridgeName('n1'), 'n1');
    expect(f.calls).toEqual([
      ['-w', '5', '-C', ...rule],
      ['-w', '5', '-I', 'INPUT', '1', ...rule.slice(1)],
    ]);
    expect(rule).toEqual(expect.arrayContaining(['-i', bridgeName('n1'), '-j', 'REJECT']));
    await guard.close();
    expect(f.calls.filter((c) => c[2] === '-D')).toHaveLength(2); // removed, then "no such rule"
    expect(f.engine.removed).toEqual(['slipway-build-n1']);
  });

  it('keeps an existing rule and refuses to hand out the network without one', async () => {
    const kept = fakes(true);
    await new BuildNetworkGuard({
      engine: kept.engine,
      nodeName: 'n',
      logger: silentLogger(),
      iptables: kept.iptables,
    }).ensure();
    expect(kept.calls.map((c) => c[2])).toEqual(['-C']);
    const denied = fakes(false, true);
    const guard = new BuildNetworkGuard({
      engine: denied.engine,
      nodeName: 'n',
      logger: silentLogger(),
      iptables: denied.iptables,
    });
    await expect(guard.ensure()).rejects.toThrow(
      /cannot install the firewall rule that keeps builds away from the node \(iptables: Permission denied/,
    );
  });
});
