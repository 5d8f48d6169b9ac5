export * from './client.js';
export * from './controller.js';
export * from './expectations.js';
export * from './pods.js';
export * from './start.js';
export * from './status.js';
export * from './workload.js';
