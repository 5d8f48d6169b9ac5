/** Everything the CLI touches outside itself, injectable for tests. */
export interface CliIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  /** Read by `-f -`. */
  stdin: AsyncIterable<string | Uint8Array>;
  env: Readonly<Record<string, string | undefined>>;
  now: () => Date;
  /** Ends long-running commands (`get -w`). When absent they end on SIGINT. */
  signal?: AbortSignal | undefined;
}

/** The real process: standard streams, environment and clock. */
export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    now: () => new Date(),
  };
}

/** Fills what a caller left out with the process's own. */
export function resolveIo(io: Partial<CliIo> = {}): CliIo {
  return { ...processIo(), ...io };
}

/** An AbortSignal for a long-running command: the injected one, or one fired by SIGINT.
 * `release()` removes the SIGINT handler again so Ctrl-C keeps its default meaning after. */
export function interruptSignal(io: CliIo): { signal: AbortSignal; release: () => void } {
  if (io.signal) return { signal: io.signal, release: () => undefined };
  const controller = new AbortController();
  const onSigint = (): void => controller.abort();
  process.once('SIGINT', onSigint);
  process.once('SIGTERM', onSigint);
  return {
    signal: controller.signal,
    release: () => {
      process.removeListener('SIGINT', onSigint);
      process.removeListener('SIGTERM', onSigint);
    },
  };
}

export async function readAll(stream: AsyncIterable<string | Uint8Array>): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream)
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8');
}

/** Writes bytes to a CLI output (the process's streams take them as they are; the CliIo type
 * names strings, and test doubles that append them turn bytes into text). */
export function writeBytes(
  out: { write(chunk: Uint8Array | string): unknown },
  chunk: Uint8Array,
): void {
  out.write(chunk);
}
