/** EventBridge schedules (`rate(...)`, `cron(...)`) for the local runtime. */
export { nextRunTimes, type ParsedSchedule, parseScheduleExpression, ScheduleExpressionError } from './expressions';
export {
  type RunningSchedules,
  type ScheduledEvent,
  type StartSchedulesOptions,
  scheduledEvent,
  scheduleRuleArn,
  startSchedules,
} from './scheduler';
