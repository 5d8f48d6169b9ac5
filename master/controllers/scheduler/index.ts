export { fitErrorMessage, schedule, type PodsOnNodes, type ScheduleResult } from './schedule.js';
