/**
 * Delivery of a finished report: stored at reports/<yyyy>-W<ww>/report.pdf, uploaded to Slack
 * (files.uploadV2; the outbox without a bot token), announced with ReportPublished.
 *
 * At-least-once and idempotent: the PDF is stored first and a delivery record beside it
 * (reports/<week>/delivery.json) says how far delivery got. A failed upload is retried here, then the
 * run fails so that the schedule's retry comes back; that retry finds the record pending and delivers
 * the stored PDF as it is (no second copy, nothing re-rendered), and an upload already made is never
 * repeated. The event id is derived from the PDF's hash, so a re-emitted event is a duplicate.
 * Only one run delivers a week at a time (publication-claim.ts): the checkpoint it passes here stops
 * it before it stores or uploads once another run has taken its claim over.
 */
import { createHash } from 'node:crypto';
import { UpstreamError } from '../shared/errors.js';
import type { ToillessEvent } from '../shared/events/types.js';
import type { Logger } from '../shared/log.js';
import type { Clock } from '../shared/ports/clock.js';
import type { EventBus } from '../shared/ports/event-bus.js';
import type { Notifier } from '../shared/ports/notifier.js';
import type { ObjectStore } from '../shared/ports/object-store.js';
import type { ReportWindow } from './model.js';
import { reportKey } from './window.js';

export interface DeliveryPorts {
  readonly store: ObjectStore;
  readonly notifier: Notifier;
  readonly bus: EventBus;
  readonly clock: Clock;
  readonly logger: Logger;
}

/** reports/<week>/delivery.json: how far the delivery of the stored PDF got. */
export interface DeliveryRecord {
  readonly schemaVersion: 1;
  readonly week: string;
  readonly key: string;
  readonly from: string;
  readonly to: string;
  /** sha256 of the stored PDF. */
  readonly sha256: string;
  readonly storedAt: string;
  /** The text posted with the file. */
  readonly comment: string;
  /** True when this run's PDF replaced one stored earlier for the week. */
  readonly replaced: boolean;
  readonly slack:
    | { readonly state: 'pending'; readonly attempts: number; readonly lastError?: string }
    | { readonly state: 'uploaded'; readonly fileId: string; readonly attempts: number };
  readonly published: boolean;
}

export interface DeliveryOutcome {
  readonly key: string;
  readonly replaced: boolean;
  readonly fileId: string;
  /** True when a pending delivery of the stored PDF was completed instead of storing a new one. */
  readonly resumed: boolean;
}

export interface DeliveryOptions {
  /** Upload attempts in this run before it fails (the schedule's retry comes back later). @default 3 */
  readonly uploadAttempts?: number;
  /** Wait before the second attempt; doubled each time. @default 5000 */
  readonly retryDelayMs?: number;
}

export function deliveryRecordKey(window: Pick<ReportWindow, 'isoWeek'>): string {
  return `reports/${window.isoWeek}/delivery.json`;
}

/** How far the delivery of a week got: nothing stored, a stored PDF not yet delivered, or delivered. */
export type DeliveryStatus =
  | { readonly state: 'none' }
  | { readonly state: 'pending'; readonly record: DeliveryRecord }
  | {
      readonly state: 'delivered';
      readonly record: DeliveryRecord & { readonly slack: { state: 'uploaded' } };
    };

/** The week's delivery record read from the store; a torn or foreign record counts as none. */
export async function deliveryStatus(
  store: ObjectStore,
  window: Pick<ReportWindow, 'isoWeek'>,
): Promise<DeliveryStatus> {
  const stored = await store.get(deliveryRecordKey(window));
  if (!stored) return { state: 'none' };
  let record: DeliveryRecord;
  try {
    record = JSON.parse(stored.body.toString('utf8')) as DeliveryRecord;
  } catch {
    // A fresh run replaces it.
    return { state: 'none' };
  }
  if (record.slack?.state === 'uploaded' && record.published) {
    return { state: 'delivered', record: { ...record, slack: record.slack } };
  }
  return (await store.get(record.key)) ? { state: 'pending', record } : { state: 'none' };
}

/** Called before the PDF is stored and before each upload: throws when this run may no longer deliver. */
export type DeliveryCheckpoint = () => Promise<void>;

const NO_CHECKPOINT: DeliveryCheckpoint = async () => undefined;

/** Stores a new PDF for the window (replacing one stored earlier), then delivers it. */
export async function storeAndDeliver(
  ports: DeliveryPorts,
  report: {
    readonly window: ReportWindow;
    readonly pdf: Buffer;
    readonly comment: (replaced: boolean) => string;
  },
  options: DeliveryOptions = {},
  checkpoint: DeliveryCheckpoint = NO_CHECKPOINT,
): Promise<DeliveryOutcome> {
  const { window, pdf } = report;
  const key = reportKey(window);
  const replaced = (await ports.store.get(key)) !== undefined;
  await checkpoint();
  await ports.store.put(key, pdf, { contentType: 'application/pdf' });
  const record: DeliveryRecord = {
    schemaVersion: 1,
    week: window.isoWeek,
    key,
    from: window.from.toISOString(),
    to: window.to.toISOString(),
    sha256: createHash('sha256').update(pdf).digest('hex'),
    storedAt: ports.clock.now().toISOString(),
    comment: report.comment(replaced),
    replaced,
    slack: { state: 'pending', attempts: 0 },
    published: false,
  };
  await writeRecord(ports.store, record);
  ports.logger.info(
    { key, bytes: pdf.length, week: window.isoWeek, replaced },
    replaced ? 'report stored, replacing the one stored earlier for this week' : 'report stored',
  );
  return deliver(ports, record, pdf, false, options, checkpoint);
}

/** Completes a pending delivery with the PDF already stored (a retry of a run that failed to upload). */
export async function resumeDelivery(
  ports: DeliveryPorts,
  record: DeliveryRecord,
  options: DeliveryOptions = {},
  checkpoint: DeliveryCheckpoint = NO_CHECKPOINT,
): Promise<DeliveryOutcome> {
  const stored = await ports.store.get(record.key);
  if (!stored) throw new Error(`${record.key} is gone: the pending delivery cannot be completed`);
  ports.logger.info(
    { key: record.key, week: record.week },
    'completing the pending delivery of the stored report',
  );
  return deliver(ports, record, stored.body, true, options, checkpoint);
}

async function deliver(
  ports: DeliveryPorts,
  initial: DeliveryRecord,
  pdf: Buffer,
  resumed: boolean,
  options: DeliveryOptions,
  checkpoint: DeliveryCheckpoint,
): Promise<DeliveryOutcome> {
  let record = initial;
  const maxAttempts = options.uploadAttempts ?? 3;
  let delayMs = options.retryDelayMs ?? 5_000;
  for (let attempt = 1; record.slack.state === 'pending'; attempt += 1) {
    const attempts = record.slack.attempts + 1;
    await checkpoint();
    try {
      const { fileId } = await ports.notifier.upload({
        filename: `toilless-report-${record.week}.pdf`,
        title: `Weekly report ${record.week}`,
        content: pdf,
        initialComment: record.comment,
      });
      record = { ...record, slack: { state: 'uploaded', fileId, attempts } };
      await writeRecord(ports.store, record);
    } catch (error) {
      const lastError = error instanceof Error ? error.message : String(error);
      record = { ...record, slack: { state: 'pending', attempts, lastError } };
      await writeRecord(ports.store, record);
      ports.logger.warn({ err: error, week: record.week, attempt }, 'report upload to Slack failed');
      if (attempt >= maxAttempts) {
        throw new UpstreamError(
          'slack',
          `the report for ${record.week} is stored at ${record.key} but its upload failed ${attempt} times (${lastError}): the next run delivers the stored PDF`,
          undefined,
          { cause: error },
        );
      }
      await ports.clock.sleep(delayMs);
      delayMs *= 2;
    }
  }
  const fileId = record.slack.fileId;
  if (!record.published) {
    const event: ToillessEvent<'ReportPublished'> = {
      id: `report:${record.week}:${record.sha256.slice(0, 16)}`,
      type: 'ReportPublished',
      time: ports.clock.now().toISOString(),
      detail: { week: record.week, key: record.key, from: record.from, to: record.to },
    };
    await ports.bus.publish([event]);
    record = { ...record, published: true };
    await writeRecord(ports.store, record);
  }
  ports.logger.info(
    { key: record.key, week: record.week, fileId, replaced: record.replaced },
    'report delivered',
  );
  return { key: record.key, replaced: record.replaced, fileId, resumed };
}

async function writeRecord(store: ObjectStore, record: DeliveryRecord): Promise<void> {
  await store.put(deliveryRecordKey({ isoWeek: record.week }), `${JSON.stringify(record, null, 2)}\n`, {
    contentType: 'application/json',
  });
}
