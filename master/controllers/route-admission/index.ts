export * from './admission.js';
export * from './client.js';
export * from './controller.js';
