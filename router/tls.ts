/**
 * Certificates for HTTPS (edge termination), chosen by SNI: each edge route host's own
 * certificate, else the router's default one. Secure contexts are built once per distinct
 * certificate and reused across table rebuilds.
 */
import { createSecureContext, type SecureContext } from 'node:tls';
import { normalizeHost } from './host.js';
import type { RouteTable } from './route-table.js';

export interface CertificateProblem {
  host: string;
  message: string;
}

export class CertificateStore {
  readonly #default: SecureContext | undefined;
  #byHost = new Map<string, SecureContext>();
  #cache = new Map<string, SecureContext>();

  constructor(defaultPem?: { cert: string; key: string }) {
    this.#default = defaultPem ? createSecureContext(defaultPem) : undefined;
  }

  get hasDefault(): boolean {
    return this.#default !== undefined;
  }

  /** Takes the certificates of a new table; returns the ones that could not be used. */
  update(table: RouteTable): CertificateProblem[] {
    const problems: CertificateProblem[] = [];
    const byHost = new Map<string, SecureContext>();
    const cache = new Map<string, SecureContext>();
    for (const host of table.tlsHosts()) {
      const tls = table.certificate(host);
      if (!tls?.certificate || !tls.key) continue;
      const id = `${tls.certificate}\0${tls.key}\0${tls.caCertificate ?? ''}`;
      let ctx = cache.get(id) ?? this.#cache.get(id);
      if (!ctx) {
        try {
          const chain = tls.caCertificate
            ? `${tls.certificate}\n${tls.caCertificate}`
            : tls.certificate;
          ctx = createSecureContext({ cert: chain, key: tls.key });
        } catch (err) {
          problems.push({ host, message: (err as Error).message });
          continue;
        }
      }
      cache.set(id, ctx);
      byHost.set(host, ctx);
    }
    this.#byHost = byHost;
    this.#cache = cache;
    return problems;
  }

  /** The context for a TLS server name, or undefined when there is none to offer. */
  context(servername: string | undefined): SecureContext | undefined {
    const host = normalizeHost(servername);
    return (host && this.#byHost.get(host)) || this.#default;
  }

  /** For `tls.Server`'s SNICallback. */
  readonly sniCallback = (
    servername: string,
    cb: (err: Error | null, ctx?: SecureContext) => void,
  ): void => {
    const ctx = this.context(servername);
    if (ctx) cb(null, ctx);
    else cb(new Error(`no certificate for ${servername}`));
  };
}
