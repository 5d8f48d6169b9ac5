import { KindRegistry } from '../registry.js';
import { configMapKind } from './config-map.js';
import { eventKind } from './event.js';
import { nodeKind } from './node.js';
import { podKind } from './pod.js';
import { projectKind, projectRequestKind } from './project.js';
import { secretKind } from './secret.js';
import { serviceKind } from './service.js';
import { endpointsKind } from './endpoints.js';
import { routeKind } from './route.js';
import { buildKind } from './build.js';
import { buildConfigKind } from './build-config.js';
import { imageStreamKind } from './image-stream.js';
import { imageStreamTagKind } from './image-stream-tag.js';
import { imageStreamImportKind } from './image-stream-import.js';
import { templateKind } from './template.js';
import { replicationControllerKind } from './replication-controller.js';
import { replicaSetKind } from './replica-set.js';
import { deploymentConfigKind } from './deployment-config.js';
import { deploymentKind } from './deployment.js';

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
    serviceKind,
    endpointsKind,
    routeKind,
    buildConfigKind,
    buildKind,
    imageStreamKind,
    imageStreamTagKind,
    imageStreamImportKind,
    templateKind,
    replicationControllerKind,
    replicaSetKind,
    deploymentConfigKind,
    deploymentKind,
  ]);
}

export { configMapKind, eventKind, nodeKind, podKind, projectKind, projectRequestKind, secretKind };
export { serviceKind, endpointsKind, routeKind };
export { buildConfigKind, buildKind, imageStreamKind, imageStreamTagKind, imageStreamImportKind };
export { replicationControllerKind, replicaSetKind };
export { templateKind };
export { deploymentConfigKind, deploymentKind };
