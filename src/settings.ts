import {defineSettings} from './index'
import {DeleteOldRunLogsCronJob} from './crons/delete-old-run-logs'
import {HeartbeatCronJob} from './crons/heartbeat'

/**
 * The project's settings (Django's settings.py). `manage` loads the compiled dist/src/settings.js;
 * pass --settings PATH or MANAGE_SETTINGS=PATH to use another compiled module.
 */
export default defineSettings({
  // The cron classes runcrons considers, in this order (django-cron's CRON_CLASSES).
  crons: [HeartbeatCronJob, DeleteOldRunLogsCronJob],
  // runAtTimes and the day filters are read in this zone; default: the system's, as cron uses.
  timeZone: process.env.MANAGE_TIME_ZONE || undefined,
  // A running job's claim lasts this long without renewal (it is renewed while the job runs).
  leaseSeconds: 300,
  // After SIGTERM/SIGINT or a job's timeoutMins, how long a job may take to stop before it is abandoned.
  graceSeconds: 10,
  // The project's own settings, read by the example jobs.
  appName: 'manage-example',
  runLogKeepDays: 30,
})
