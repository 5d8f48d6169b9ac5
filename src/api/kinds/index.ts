import { KindRegistry } from '../registry.js';
import { configMapKind } from './config-map.js';
import { eventKind } from './event.js';
import { nodeKind } from './node.js';
import { podKind } from './pod.js';
import { projectKind, projectRequestKind } from './project.js';
import { secretKind } from './secret.js';

/** Every kind the platform serves. Adding a kind: a file beside this one and a line here. */
export function builtinKinds(): KindRegistry {
  return new KindRegistry([
    projectKind,
    projectRequestKind,
    nodeKind,
    podKind,
    eventKind,
    configMapKind,
    secretKind,
  ]);
}

export { configMapKind, eventKind, nodeKind, podKind, projectKind, projectRequestKind, secretKind };
