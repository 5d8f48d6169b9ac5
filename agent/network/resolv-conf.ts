/**
 * The host's resolver settings (`/etc/resolv.conf`): where the cluster DNS forwards names
 * outside the cluster, and the search domains pods get after the cluster's own.
 */
import { isIP } from 'node:net';

export interface HostResolver {
  /** Nameserver addresses, in order. */
  nameservers: string[];
  /** `search` (or `domain`) entries, in order. */
  searches: string[];
}

export function parseResolvConf(text: string): HostResolver {
  const nameservers: string[] = [];
  let searches: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    const [key, ...values] = line.split(/\s+/);
    if (key === 'nameserver' && values[0]) {
      // A scoped IPv6 address (fe80::1%eth0) is usable only with its interface: skipped.
      const address = values[0];
      if (isIP(address) !== 0 && !address.includes('%')) nameservers.push(address);
    } else if (key === 'search' || key === 'domain') {
      // The last search or domain line wins, as in glibc.
      searches = values.filter((v) => v !== '' && v !== '.');
    }
  }
  return { nameservers, searches };
}
