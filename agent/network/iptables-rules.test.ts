import { describe, expect, it } from 'vitest';
import {
  endpointChain,
  isOwnedChain,
  jumpRules,
  nodeChains,
  nodeHash,
  parseSave,
  programmedBackends,
  renderCleanup,
  renderSync,
  servicePortChain,
} from './iptables-rules.js';
import type { ServicePortEntry } from './service-ports.js';

const NODE = 'node-1';
const H = nodeHash(NODE);

const web: ServicePortEntry = {
  id: 'shop/web:http',
  namespace: 'shop',
  name: 'web',
  protocol: 'tcp',
  clusterIP: '172.30.0.2',
  port: 80,
  backends: [
    { ip: '172.17.0.2', port: 8080 },
    { ip: '172.17.0.3', port: 8080 },
    { ip: '172.17.0.4', port: 8080 },
  ],
};
const idle: ServicePortEntry = {
  id: 'shop/idle',
  namespace: 'shop',
  name: 'idle',
  protocol: 'udp',
  clusterIP: '172.30.0.3',
  port: 53,
  backends: [],
};

/** iptables-save of tables holding Docker's rules and, optionally, more lines. */
function save(nat: string[] = [], filter: string[] = []): string {
  return [
    '*nat',
    ':PREROUTING ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':POSTROUTING ACCEPT [0:0]',
    ':DOCKER - [0:0]',
    '-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER',
    ...nat,
    'COMMIT',
    '*filter',
    ':INPUT ACCEPT [0:0]',
    ':FORWARD DROP [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    '-A FORWARD -j DOCKER-USER',
    ...filter,
    'COMMIT',
    '',
  ].join('\n');
}

describe('chain names', () => {
  it('carry the node hash, fit iptables (28 characters) and differ per node', () => {
    const c = nodeChains(NODE);
    const names = [
      c.services,
      c.postrouting,
      c.mark,
      c.nodePorts,
      c.reject,
      servicePortChain(NODE, web),
      endpointChain(NODE, web, web.backends[0]!),
    ];
    for (const name of names) {
      expect(name.length).toBeLessThanOrEqual(28);
      expect(name).toContain(H);
      expect(isOwnedChain(name, NODE)).toBe(true);
      expect(isOwnedChain(name, 'node-2')).toBe(false);
    }
    expect(nodeChains('node-2').services).not.toBe(nodeChains(NODE).services);
    expect(isOwnedChain('DOCKER', NODE)).toBe(false);
    expect(isOwnedChain('KUBE-SERVICES', NODE)).toBe(false);
  });
});

describe('renderSync', () => {
  it('renders kube-proxy-style chains, rejects idle ports and adds the jumps', () => {
    const out = renderSync({ nodeName: NODE, entries: [web, idle], saved: parseSave(save()) });
    const s = servicePortChain(NODE, web);
    const [e1, e2, e3] = web.backends.map((b) => endpointChain(NODE, web, b));
    const c = nodeChains(NODE);
    expect(out.split('\n')).toEqual([
      '*nat',
      `:${c.services} - [0:0]`,
      `:${c.postrouting} - [0:0]`,
      `:${c.mark} - [0:0]`,
      `:${c.nodePorts} - [0:0]`,
      `:${s} - [0:0]`,
      `:${e1} - [0:0]`,
      `:${e2} - [0:0]`,
      `:${e3} - [0:0]`,
      `-A ${c.postrouting} -m mark ! --mark 0x4000/0x4000 -j RETURN`,
      `-A ${c.postrouting} -j MARK --xor-mark 0x4000`,
      `-A ${c.postrouting} -m comment --comment "slipway service traffic requiring SNAT" -j MASQUERADE`,
      `-A ${c.mark} -j MARK --or-mark 0x4000`,
      `-A ${c.services} -m comment --comment "shop/web:http tcp" -d 172.30.0.2/32 -p tcp -m tcp --dport 80 -j ${s}`,
      `-A ${s} -m comment --comment "shop/web:http tcp" -m statistic --mode random --probability 0.3333333333 -j ${e1}`,
      `-A ${e1} -m comment --comment "shop/web:http tcp" -s 172.17.0.2/32 -j ${c.mark}`,
      `-A ${e1} -m comment --comment "shop/web:http tcp" -p tcp -m tcp -j DNAT --to-destination 172.17.0.2:8080`,
      `-A ${s} -m comment --comment "shop/web:http tcp" -m statistic --mode random --probability 0.5000000000 -j ${e2}`,
      `-A ${e2} -m comment --comment "shop/web:http tcp" -s 172.17.0.3/32 -j ${c.mark}`,
      `-A ${e2} -m comment --comment "shop/web:http tcp" -p tcp -m tcp -j DNAT --to-destination 172.17.0.3:8080`,
      `-A ${s} -m comment --comment "shop/web:http tcp" -j ${e3}`,
      `-A ${e3} -m comment --comment "shop/web:http tcp" -s 172.17.0.4/32 -j ${c.mark}`,
      `-A ${e3} -m comment --comment "shop/web:http tcp" -p tcp -m tcp -j DNAT --to-destination 172.17.0.4:8080`,
      `-A ${c.services} -m comment --comment "slipway service nodeports" -m addrtype --dst-type LOCAL ! -d 127.0.0.0/8 -j ${c.nodePorts}`,
      `-I PREROUTING 1 -m comment --comment "slipway services of node ${NODE}" -j ${c.services}`,
      `-I OUTPUT 1 -m comment --comment "slipway services of node ${NODE}" -j ${c.services}`,
      `-I POSTROUTING 1 -m comment --comment "slipway services of node ${NODE}" -j ${c.postrouting}`,
      'COMMIT',
      '*filter',
      `:${c.reject} - [0:0]`,
      `:${c.forward} - [0:0]`,
      `-A ${c.reject} -m comment --comment "shop/idle udp has no endpoints" -d 172.30.0.3/32 -p udp -m udp --dport 53 -j REJECT --reject-with icmp-port-unreachable`,
      `-A ${c.forward} -m comment --comment "slipway service traffic, marked for SNAT" -m mark --mark 0x4000/0x4000 -j ACCEPT`,
      `-I FORWARD 1 -m conntrack --ctstate NEW -m comment --comment "slipway services of node ${NODE}" -j ${c.reject}`,
      `-I OUTPUT 1 -m conntrack --ctstate NEW -m comment --comment "slipway services of node ${NODE}" -j ${c.reject}`,
      `-I FORWARD 1 -m conntrack --ctstate NEW -m comment --comment "slipway services of node ${NODE}" -j ${c.forward}`,
      'COMMIT',
      '',
    ]);
  });

  it('sends a client back to its last endpoint first under ClientIP affinity', () => {
    const sticky: ServicePortEntry = {
      ...web,
      backends: web.backends.slice(0, 2),
      affinitySeconds: 600,
    };
    const out = renderSync({ nodeName: NODE, entries: [sticky], saved: parseSave(save()) });
    const s = servicePortChain(NODE, sticky);
    const [e1, e2] = sticky.backends.map((b) => endpointChain(NODE, sticky, b));
    const mine = out.split('\n').filter((l) => l.startsWith(`-A ${s} `) || l.includes('DNAT'));
    const comment = '-m comment --comment "shop/web:http tcp"';
    expect(mine).toEqual([
      `-A ${s} ${comment} -m recent --name ${e1} --rcheck --seconds 600 --reap -j ${e1}`,
      `-A ${s} ${comment} -m recent --name ${e2} --rcheck --seconds 600 --reap -j ${e2}`,
      `-A ${s} ${comment} -m statistic --mode random --probability 0.5000000000 -j ${e1}`,
      `-A ${e1} ${comment} -m recent --name ${e1} --set -p tcp -m tcp -j DNAT --to-destination 172.17.0.2:8080`,
      `-A ${s} ${comment} -j ${e2}`,
      `-A ${e2} ${comment} -m recent --name ${e2} --set -p tcp -m tcp -j DNAT --to-destination 172.17.0.3:8080`,
    ]);
  });

  it('serves nodePorts with endpoints from the last services rule, marked for SNAT', () => {
    const exposed: ServicePortEntry = { ...web, nodePort: 30080 };
    const dnsNode: ServicePortEntry = {
      ...idle,
      id: 'shop/dns',
      name: 'dns',
      nodePort: 30053,
      backends: [{ ip: '172.17.0.5', port: 5353 }],
    };
    const idleNode: ServicePortEntry = { ...idle, nodePort: 30054 };
    const out = renderSync({
      nodeName: NODE,
      entries: [dnsNode, idleNode, exposed],
      saved: parseSave(save()),
    });
    const lines = out.split('\n');
    const c = nodeChains(NODE);
    const inChain = (chain: string): string[] => lines.filter((l) => l.startsWith(`-A ${chain} `));
    const services = inChain(c.services);
    expect(services).toHaveLength(3);
    expect(services.at(-1)).toBe(
      `-A ${c.services} -m comment --comment "slipway service nodeports" -m addrtype --dst-type LOCAL ! -d 127.0.0.0/8 -j ${c.nodePorts}`,
    );
    // Nothing for the port without endpoints: the kernel refuses it (nothing listens).
    expect(inChain(c.nodePorts)).toEqual([
      `-A ${c.nodePorts} -m comment --comment "shop/dns udp" -p udp -m udp --dport 30053 -j ${c.mark}`,
      `-A ${c.nodePorts} -m comment --comment "shop/dns udp" -p udp -m udp --dport 30053 -j ${servicePortChain(NODE, dnsNode)}`,
      `-A ${c.nodePorts} -m comment --comment "shop/web:http tcp" -p tcp -m tcp --dport 30080 -j ${c.mark}`,
      `-A ${c.nodePorts} -m comment --comment "shop/web:http tcp" -p tcp -m tcp --dport 30080 -j ${servicePortChain(NODE, exposed)}`,
    ]);
    expect(out).not.toContain('30054');
    // Forwarded nodePort traffic (marked in PREROUTING) is accepted in a chain FORWARD alone
    // jumps to: what the node itself sends keeps meeting the OUTPUT rules after ours.
    expect(inChain(c.reject)).toEqual([
      `-A ${c.reject} -m comment --comment "shop/idle udp has no endpoints" -d 172.30.0.3/32 -p udp -m udp --dport 53 -j REJECT --reject-with icmp-port-unreachable`,
    ]);
    expect(inChain(c.forward)).toEqual([
      `-A ${c.forward} -m comment --comment "slipway service traffic, marked for SNAT" -m mark --mark 0x4000/0x4000 -j ACCEPT`,
    ]);
    expect(
      jumpRules(NODE)
        .filter((j) => j.target === c.forward)
        .map((j) => j.chain),
    ).toEqual(['FORWARD']);
  });

  it('adds no jump that exists, removes duplicates, deletes stale owned chains only', () => {
    const c = nodeChains(NODE);
    const other = nodeChains('node-2');
    const jumpLine = (j: ReturnType<typeof jumpRules>[number]): string => `-A ${j.chain} ${j.spec}`;
    const jumps = jumpRules(NODE);
    const natJumps = jumps.filter((j) => j.table === 'nat').map(jumpLine);
    const filterJumps = jumps.filter((j) => j.table === 'filter').map(jumpLine);
    const stale = `SLW-S-${H}-AAAAAAAAAAAA`;
    const saved = parseSave(
      save(
        [
          `:${c.services} - [0:0]`,
          `:${c.nodePorts} - [0:0]`,
          `:${stale} - [0:0]`,
          `:${other.services} - [0:0]`,
          `:${other.nodePorts} - [0:0]`,
          ...natJumps,
          natJumps[0]!,
          `-A PREROUTING -j ${other.services}`,
          `-A ${c.services} -d 172.30.0.9/32 -p tcp -m tcp --dport 80 -j ${stale}`,
          `-A ${c.services} -m addrtype --dst-type LOCAL ! -d 127.0.0.0/8 -j ${c.nodePorts}`,
          `-A ${c.nodePorts} -p tcp -m tcp --dport 30099 -j ${stale}`,
          `-A ${other.services} -m addrtype --dst-type LOCAL -j ${other.nodePorts}`,
        ],
        filterJumps,
      ),
    );
    const out = renderSync({ nodeName: NODE, entries: [], saved });
    const lines = out.split('\n');
    expect(lines).toContain(`:${stale} - [0:0]`);
    expect(lines).toContain(`-X ${stale}`);
    // The nodePorts chain stays, flushed: the old nodePort's rule is gone.
    expect(lines).toContain(`:${c.nodePorts} - [0:0]`);
    expect(lines).not.toContain(`-X ${c.nodePorts}`);
    expect(out).not.toContain('30099');
    expect(lines.filter((l) => l.startsWith('-I '))).toEqual([]);
    expect(lines.filter((l) => l.startsWith('-D '))).toEqual([natJumps[0]!.replace('-A ', '-D ')]);
    // Another node's chains and jumps are never named.
    expect(out).not.toContain(other.services);
    expect(out).not.toContain(other.nodePorts);
    // Every -X comes after the chain was flushed (declared) and its referrers rewritten.
    expect(lines.indexOf(`-X ${stale}`)).toBeGreaterThan(lines.indexOf(`:${c.services} - [0:0]`));
  });
});

describe('renderCleanup', () => {
  it('removes the node jumps and chains, and nothing of other nodes', () => {
    const c = nodeChains(NODE);
    const other = nodeChains('node-2');
    const saved = parseSave(
      save(
        [
          `:${c.services} - [0:0]`,
          `:${c.postrouting} - [0:0]`,
          `:${c.nodePorts} - [0:0]`,
          `:${other.services} - [0:0]`,
          `:${other.nodePorts} - [0:0]`,
          `-A PREROUTING -m comment --comment "slipway services of node ${NODE}" -j ${c.services}`,
          `-A PREROUTING -m comment --comment "slipway services of node node-2" -j ${other.services}`,
          `-A POSTROUTING -j ${c.postrouting}`,
          `-A ${c.services} -m addrtype --dst-type LOCAL ! -d 127.0.0.0/8 -j ${c.nodePorts}`,
          `-A ${other.services} -m addrtype --dst-type LOCAL ! -d 127.0.0.0/8 -j ${other.nodePorts}`,
        ],
        [
          `:${c.reject} - [0:0]`,
          `-A OUTPUT -m conntrack --ctstate NEW -j ${c.reject}`,
          `-A ${c.reject} -d 172.30.0.3/32 -j REJECT`,
        ],
      ),
    );
    expect(renderCleanup({ nodeName: NODE, saved })!.split('\n')).toEqual([
      '*nat',
      `-D PREROUTING -m comment --comment "slipway services of node ${NODE}" -j ${c.services}`,
      `-D POSTROUTING -j ${c.postrouting}`,
      `:${c.nodePorts} - [0:0]`,
      `:${c.postrouting} - [0:0]`,
      `:${c.services} - [0:0]`,
      `-X ${c.nodePorts}`,
      `-X ${c.postrouting}`,
      `-X ${c.services}`,
      'COMMIT',
      '*filter',
      `-D OUTPUT -m conntrack --ctstate NEW -j ${c.reject}`,
      `:${c.reject} - [0:0]`,
      `-X ${c.reject}`,
      'COMMIT',
      '',
    ]);
    expect(renderCleanup({ nodeName: 'node-3', saved })).toBeUndefined();
  });
});

describe('programmedBackends', () => {
  it("reads back where this node's saved rules send a service port, and nothing of others", () => {
    const dns: ServicePortEntry = {
      ...idle,
      id: 'openshift-dns/dns-default:dns',
      backends: [{ ip: '172.17.0.1', port: 40573 }],
    };
    const rules = (node: string, entries: ServicePortEntry[]): string[] =>
      renderSync({ nodeName: node, entries, saved: parseSave(save()) })
        .split('\n')
        .filter((l) => l.startsWith('-A SLW-'));
    const saved = parseSave(save([...rules(NODE, [web, dns]), ...rules('node-2', [web])]));
    expect(programmedBackends(saved, NODE, dns.id, 'udp')).toEqual([
      { ip: '172.17.0.1', port: 40573 },
    ]);
    expect(programmedBackends(saved, NODE, dns.id, 'tcp')).toEqual([]);
    expect(programmedBackends(saved, NODE, web.id, 'tcp')).toEqual(web.backends);
    expect(programmedBackends(saved, 'node-3', web.id, 'tcp')).toEqual([]);
  });
});
