export * from './client.js';
export * from './dc-controller.js';
export * from './deployment-controller.js';
export * from './rollout.js';
export * from './start.js';
