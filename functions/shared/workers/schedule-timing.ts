/**
 * When a manifest schedule runs, with toilless.yaml applied: the CDK stack (EventBridge Scheduler) and
 * the local runtime (timers) both resolve a schedule here, so a cron set in toilless.yaml means the same
 * on AWS and on one machine. Runtime-free: lib/ imports it at synth.
 */
import { type CronSchedule, parseCron } from '../cron.js';
import type { ToillessConfig } from '../stack-config.js';
import type { WorkerSchedule } from './manifest.js';

export type ScheduleTiming =
  | { readonly rate: { readonly hours?: number; readonly minutes?: number } }
  | { readonly cron: CronSchedule; readonly timeZone: string };

export function scheduleTiming(schedule: WorkerSchedule, toilless: ToillessConfig): ScheduleTiming {
  const every = schedule.every;
  if ('rate' in every) return { rate: every.rate };
  if ('cron' in every) return { cron: parseCron(every.cron), timeZone: every.timeZone };
  // Only `report` so far; toilless.yaml validated both values when it was read.
  return { cron: parseCron(toilless.report.schedule), timeZone: toilless.report.timeZone };
}
