/**
 * Ticks of a chart's time axis: a round interval giving at most `maxTicks` labels over the window,
 * labelled in UTC. Pure.
 */
const HOUR = 3600;
const DAY = 86_400;
const INTERVALS = [
  300,
  900,
  1800,
  HOUR,
  2 * HOUR,
  3 * HOUR,
  6 * HOUR,
  12 * HOUR,
  DAY,
  2 * DAY,
  7 * DAY,
  14 * DAY,
  30 * DAY,
];

export interface TimeTick {
  /** Unix seconds. */
  readonly at: number;
  readonly label: string;
}

export function timeTicks(fromSeconds: number, toSeconds: number, maxTicks = 8): TimeTick[] {
  const span = Math.max(1, toSeconds - fromSeconds);
  const interval = INTERVALS.find((candidate) => span / candidate <= maxTicks) ?? 30 * DAY;
  const first = Math.ceil(fromSeconds / interval) * interval;
  const ticks: TimeTick[] = [];
  for (let at = first; at <= toSeconds; at += interval) ticks.push({ at, label: timeLabel(at, interval) });
  return ticks;
}

function timeLabel(at: number, interval: number): string {
  const iso = new Date(at * 1000).toISOString();
  const day = `${iso.slice(5, 7)}-${iso.slice(8, 10)}`;
  if (interval >= DAY) return day;
  const time = iso.slice(11, 16);
  return time === '00:00' ? day : interval >= 6 * HOUR ? `${day} ${time}` : time;
}
