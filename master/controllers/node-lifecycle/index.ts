export {
  DEFAULT_EVICTION_TIMEOUT_MS,
  DEFAULT_GRACE_PERIOD_MS,
  NEVER_POSTED,
  NODE_CONTROLLER_COMPONENT,
  NODE_STATUS_NEVER_UPDATED,
  NODE_STATUS_UNKNOWN,
  NodeLifecycleController,
  reasons,
  STOPPED_POSTING,
  type NodeLifecycleControllerOptions,
} from './controller.js';
