import { join } from 'node:path';
import type { Construct } from 'constructs';
import type { ToillessConfig } from '../../functions/shared/stack-config.js';
import { Loki, type LokiProps } from './loki.js';
import { LokiSimpleScalable } from './loki-simple-scalable.js';
import { configuredRetentionDays } from './retention.js';
import { Tempo, type TempoProps } from './tempo.js';
import { TempoScalable } from './tempo-scalable.js';

/** toilless.yaml observability.profile: how Loki and Tempo run. */
export type ScaleProfile = ToillessConfig['observability']['profile'];

/** The config file each profile's Loki and Tempo read, relative to stack-config. */
export const PROFILE_CONFIG_FILES: Readonly<Record<ScaleProfile, { loki: string; tempo: string }>> = {
  small: { loki: join('loki', 'loki.yaml'), tempo: join('tempo', 'tempo.yaml') },
  large: { loki: join('loki', 'loki-large.yaml'), tempo: join('tempo', 'tempo-large.yaml') },
};

type WithoutRetention<P> = Omit<P, 'retentionDays'> & {
  /** The stack-config directory the retention is read from (the profile's Loki or Tempo file). */
  readonly stackConfigDir: string;
};

/**
 * The profile's Loki: small, one single-binary task (Loki); large, simple scalable mode behind a
 * gateway (LokiSimpleScalable). Either way clients reach http://loki.<namespace>:3100 and the bucket
 * keeps logs a week longer than the profile's file says.
 */
export function lokiForProfile(
  scope: Construct,
  id: string,
  profile: ScaleProfile,
  props: WithoutRetention<LokiProps>,
): Loki | LokiSimpleScalable {
  const { stackConfigDir, ...rest } = props;
  const retentionDays = configuredRetentionDays(stackConfigDir, PROFILE_CONFIG_FILES[profile].loki, [
    'limits_config',
    'retention_period',
  ]);
  if (profile === 'large') {
    const { cpu: _cpu, memoryLimitMiB: _memory, ...shared } = rest;
    return new LokiSimpleScalable(scope, id, { ...shared, retentionDays });
  }
  return new Loki(scope, id, { ...rest, retentionDays });
}

/** The profile's Tempo: small, one single-binary task; large, scalable-single-binary tasks over memberlist. */
export function tempoForProfile(
  scope: Construct,
  id: string,
  profile: ScaleProfile,
  props: WithoutRetention<TempoProps>,
): Tempo | TempoScalable {
  const { stackConfigDir, ...rest } = props;
  const retentionDays = configuredRetentionDays(stackConfigDir, PROFILE_CONFIG_FILES[profile].tempo, [
    'compactor',
    'compaction',
    'block_retention',
  ]);
  return profile === 'large'
    ? new TempoScalable(scope, id, { ...rest, retentionDays })
    : new Tempo(scope, id, { ...rest, retentionDays });
}
