export * from './api-client.js';
export * from './event-recorder.js';
export * from './list-watch.js';
export { readWatchStream, parseWatchLine } from './watch-stream.js';
export type { ExecConnection, ExecHandlers } from './exec-client.js';
export type { ExecOutcome, TerminalSize } from './exec-protocol.js';
export type { PortForwardConnection } from './port-forward-client.js';
