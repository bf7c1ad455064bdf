/**
 * A cron schedule on one machine, as EventBridge Scheduler runs it on AWS: a timer armed for the next
 * run (nextCronRun), re-armed after each. Node's timers hold at most ~24.8 days, so a far run is reached
 * in steps.
 */
import { type CronSchedule, nextCronRun } from '../shared/cron.js';
import type { Clock } from '../shared/ports/clock.js';

const MAX_TIMER_MS = 2_147_483_647;

export interface CronTimer {
  /** When the next run is due; undefined once stopped or when the schedule never fires. */
  readonly nextRun: () => Date | undefined;
  readonly stop: () => void;
}

export function startCronTimer(
  schedule: CronSchedule,
  timeZone: string,
  clock: Pick<Clock, 'now'>,
  run: () => void,
): CronTimer {
  let timer: NodeJS.Timeout | undefined;
  let due: Date | undefined;
  let stopped = false;
  const arm = (after: Date) => {
    due = nextCronRun(schedule, timeZone, after);
    wait();
  };
  const wait = () => {
    if (stopped || !due) return;
    const delay = due.getTime() - clock.now().getTime();
    timer = setTimeout(
      () => {
        if (!due) return;
        if (clock.now().getTime() >= due.getTime()) {
          const ran = due;
          run();
          arm(ran);
        } else {
          wait();
        }
      },
      Math.min(Math.max(delay, 0), MAX_TIMER_MS),
    );
    timer.unref();
  };
  arm(clock.now());
  return {
    nextRun: () => (stopped ? undefined : due),
    stop: () => {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
