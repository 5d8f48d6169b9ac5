export * from './controller.js';
export * from './start.js';
