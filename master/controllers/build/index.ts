export { BUILD_CONTROLLER_COMPONENT, BuildController } from './build-controller.js';
export {
  BUILD_CONFIG_CONTROLLER_COMPONENT,
  BuildConfigController,
} from './build-config-controller.js';
export { ImageStreamController } from './image-stream-controller.js';
export { httpBuildClient, type BuildClient } from './client.js';
