import { describe, expect, it } from 'vitest';
import { performanceLevel } from '../../../../functions/dora-metrics/metrics/performance-levels.js';
import { ConfigurationError } from '../../../../functions/shared/errors.js';
import { parseToillessConfig } from '../../../../functions/shared/stack-config.js';

const { levels } = parseToillessConfig('').dora;
const HOUR = 3_600;
const DAY = 86_400;

// 4 elite, 3 high, 2 medium, 1 low. Each table walks the seed's bands from best to worst and puts a
// value on each side of every boundary; a gap between two bands goes to the better one.
describe('DORA performance levels (defaults: the seed table)', () => {
  describe('deployment frequency, deployments per day', () => {
    it.each([
      ['2 a day', 2, 4],
      ['just over 1 a day', 1.0001, 4],
      ['exactly 1 a day (7 a week is the top of high)', 1, 3],
      ['31 in 30 days', 31 / 30, 4],
      ['30 in 30 days', 30 / 30, 3],
      ['1 a week', 1 / 7, 3],
      ['the gap between 4 a month and 1 a week: 5 in 30 days', 5 / 30, 3],
      ['the gap: 0.14 a day', 0.14, 3],
      ['4 in 30 days (the top of medium)', 4 / 30, 2],
      ['2 in 30 days', 2 / 30, 2],
      ['1 in 30 days (the bottom of medium)', 1 / 30, 2],
      ['just under 1 a month', 0.0333, 1],
      ['none', 0, 1],
    ])('%s is level %i', (_name, value, level) => {
      // Assess
      expect(performanceLevel(value, levels.deploymentFrequency)).toBe(level);
    });
  });

  describe('lead time for changes, seconds', () => {
    it.each([
      ['0 s', 0, 4],
      ['59 min 59 s', HOUR - 1, 4],
      ['exactly 1 h (elite is under 1 h)', HOUR, 3],
      ['exactly 24 h (shared by high and medium: the better)', DAY, 3],
      ['24 h 1 s', DAY + 1, 2],
      ['exactly 7 days', 7 * DAY, 2],
      ['the gap between 7 days and 1 month: 8 days', 8 * DAY, 2],
      ['the gap: 29 days', 29 * DAY, 2],
      ['exactly 30 days (low is over 1 month)', 30 * DAY, 2],
      ['30 days 1 s', 30 * DAY + 1, 1],
    ])('%s is level %i', (_name, value, level) => {
      // Assess
      expect(performanceLevel(value, levels.leadTime)).toBe(level);
    });
  });

  describe('change failure rate', () => {
    it.each([
      ['0%', 0, 4],
      ['3 of 20 = 15% (shared by elite and high: the better)', 3 / 20, 4],
      ['just over 15%', 0.1501, 3],
      ['9 of 20 = 45%', 9 / 20, 3],
      ['just over 45%', 0.4501, 2],
      ['3 of 5 = 60% (low is over 60%)', 3 / 5, 2],
      ['just over 60%', 0.6001, 1],
      ['100%', 1, 1],
    ])('%s is level %i', (_name, value, level) => {
      // Assess
      expect(performanceLevel(value, levels.changeFailureRate)).toBe(level);
    });
  });

  describe('time to restore, seconds', () => {
    it.each([
      ['5 min', 300, 4],
      ['59 min 59 s', HOUR - 1, 4],
      ['exactly 1 h (elite is under 1 h)', HOUR, 3],
      ['exactly 24 h', DAY, 3],
      ['24 h 1 s', DAY + 1, 2],
      ['exactly 1 week (low is over 1 week)', 7 * DAY, 2],
      ['1 week 1 s', 7 * DAY + 1, 1],
    ])('%s is level %i', (_name, value, level) => {
      // Assess
      expect(performanceLevel(value, levels.timeToRestore)).toBe(level);
    });
  });
});

describe('dora.levels in toilless.yaml', () => {
  it('takes boundaries as a comparison and a value in the metric unit', () => {
    // Prepare
    const yaml = [
      'dora:',
      '  levels:',
      '    deploymentFrequency: { elite: ">= 2/1d", high: ">= 1/1w", medium: ">= 1/30d" }',
      '    changeFailureRate: { elite: "< 5%", high: "< 0.1", medium: "<= 15%" }',
    ].join('\n');

    // Act
    const configured = parseToillessConfig(yaml).dora.levels;

    // Assess
    expect(configured.deploymentFrequency.elite).toEqual({ comparison: '>=', value: 2 });
    expect(configured.deploymentFrequency.high).toEqual({ comparison: '>=', value: 1 / 7 });
    expect(configured.changeFailureRate.elite).toEqual({ comparison: '<', value: 0.05 });
    expect(performanceLevel(0.1, configured.changeFailureRate)).toBe(2);
    // Unset metrics keep the seed's boundaries.
    expect(configured.leadTime).toEqual(levels.leadTime);
  });

  it('refuses a comparison that points the wrong way for the metric', () => {
    // Act
    const act = () => parseToillessConfig('dora:\n  levels:\n    leadTime: { elite: "> 1h" }');

    // Assess
    expect(act).toThrow(ConfigurationError);
    expect(act).toThrow(/dora\.levels\.leadTime\.elite: expected < or <= followed by a duration/);
  });

  it('refuses levels out of order, which would leave a level unreachable', () => {
    // Act
    const act = () =>
      parseToillessConfig('dora:\n  levels:\n    timeToRestore: { elite: "< 2d", high: "<= 24h" }');

    // Assess
    expect(act).toThrow(/dora\.levels\.timeToRestore: levels must be ordered: elite <= high <= medium/);
  });

  it('refuses a rate without a period and a ratio above 100%', () => {
    // Assess
    expect(() => parseToillessConfig('dora:\n  levels:\n    deploymentFrequency: { elite: "> 3" }')).toThrow(
      /deployments per period/,
    );
    expect(() =>
      parseToillessConfig('dora:\n  levels:\n    changeFailureRate: { elite: "<= 150%" }'),
    ).toThrow(/percentage or fraction/);
  });
});
