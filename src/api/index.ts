export * from './errors.js';
export * from './meta.js';
export * from './names.js';
export * from './paths.js';
export * from './registry.js';
export * from './validation.js';
export * from './kinds/index.js';
export type {
  Pod,
  PodSpec,
  PodStatus,
  Container,
  ContainerStatus,
  PodCondition,
} from './kinds/pod.js';
export { podDisplayStatus } from './kinds/pod.js';
export type { Node, NodeCondition, NodeStatus } from './kinds/node.js';
export { nodeReadyStatus } from './kinds/node.js';
export type { Event, ObjectReference } from './kinds/event.js';
export type { ConfigMap } from './kinds/config-map.js';
export type { Secret } from './kinds/secret.js';
export type { Project, ProjectRequest } from './kinds/project.js';
export { DISPLAY_NAME, DESCRIPTION } from './kinds/project.js';
export type { Service, ServicePort, ServiceSpec, IntOrString } from './kinds/service.js';
export { HEADLESS } from './kinds/service.js';
export type {
  Endpoints,
  EndpointAddress,
  EndpointPort,
  EndpointSubset,
} from './kinds/endpoints.js';
export type {
  Route,
  RouteSpec,
  RouteIngress,
  RouteIngressCondition,
  RouteTargetReference,
  TLSConfig,
} from './kinds/route.js';
export { olderFirst, ROUTE_WEIGHT_DEFAULT, ROUTE_WEIGHT_MAX } from './kinds/route.js';
export * from './git-source.js';
export * from './kinds/build-spec.js';
export * from './kinds/build.js';
export * from './kinds/build-config.js';
export * from './kinds/image-stream.js';
export * from './kinds/image-stream-tag.js';
export * from './registry-credentials.js';
export * from './registry-scope.js';
