/** `127.0.0.1:8443`, `[::1]:8443`, `localhost:0`, `0.0.0.0:10250` as host and port. */
export function parseListen(value: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(value.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) {
    throw new Error(`"${value}" is not a HOST:PORT address (e.g. 127.0.0.1:8443 or [::1]:8443)`);
  }
  return { host: (m[1] ?? m[2])!, port };
}
