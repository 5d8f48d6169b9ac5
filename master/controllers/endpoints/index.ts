export * from './controller.js';
export * from './endpoints.js';
export * from './start.js';
