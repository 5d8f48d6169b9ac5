/**
 * A service range of its own for one test run (`10.<100-250>.<0-255>.0/24`): the agents of
 * concurrent runs on this host program their virtual IPs into the same iptables, so two runs
 * must never hand out the same ClusterIP.
 */
export function randomServiceRange(): { cidr: string; prefix: string } {
  const prefix = `10.${100 + Math.floor(Math.random() * 151)}.${Math.floor(Math.random() * 256)}`;
  return { cidr: `${prefix}.0/24`, prefix };
}
