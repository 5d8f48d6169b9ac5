export { fitErrorMessage, schedule, type PodsOnNodes, type ScheduleResult } from './schedule.js';
export {
  SCHEDULER_COMPONENT,
  SchedulerController,
  type SchedulerControllerOptions,
} from './controller.js';
