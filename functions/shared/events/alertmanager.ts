/**
 * Alertmanager webhook payload, version 4 (Alertmanager 0.25 and later).
 * Unknown fields are tolerated; required ones are enforced so a consumer can rely on them.
 */
import * as z from 'zod';

const labelSet = z.record(z.string(), z.string());
const timestamp = z.iso.datetime({ offset: true, local: false });

export const alertSchema = z.object({
  status: z.enum(['firing', 'resolved']),
  labels: labelSet.refine((labels) => typeof labels.alertname === 'string', {
    message: 'every alert needs an alertname label',
  }),
  annotations: labelSet.default({}),
  startsAt: timestamp,
  /** "0001-01-01T00:00:00Z" while firing from the API; a future ValidUntil from Prometheus. */
  endsAt: timestamp,
  generatorURL: z.string().default(''),
  fingerprint: z.string().min(1),
});

export const alertmanagerPayloadSchema = z.object({
  version: z.literal('4', { message: 'only Alertmanager webhook payload version "4" is supported' }),
  groupKey: z.string().min(1),
  truncatedAlerts: z.number().int().nonnegative().default(0),
  status: z.enum(['firing', 'resolved']),
  receiver: z.string(),
  groupLabels: labelSet,
  commonLabels: labelSet,
  commonAnnotations: labelSet,
  externalURL: z.string(),
  alerts: z.array(alertSchema).min(1, { message: 'a notification carries at least one alert' }),
});

export type Alert = z.infer<typeof alertSchema>;
export type AlertmanagerPayload = z.infer<typeof alertmanagerPayloadSchema>;
