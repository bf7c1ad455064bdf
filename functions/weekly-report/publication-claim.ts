/**
 * One publication of a week at a time. The schedule can fire twice, Lambda retries a failed run, and
 * `toilless report --publish` can run while the schedule does: each publisher first claims
 * reports/<week>/publishing.json with a create-if-absent write, as the GitHub intake claims a delivery.
 * The holder renews the claim while it works and releases it when it ends; a claim not renewed for
 * PUBLICATION_LEASE_MS was left by a run that died and is taken over with a compare-and-swap (one
 * publisher wins). The holder checks it still holds the claim before it stores the PDF and before it
 * posts, so a run that was taken over stops without storing or posting.
 */
import { PreconditionFailedError, ToillessError } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import type { Clock } from '../shared/ports/clock.js';
import type { ObjectStore } from '../shared/ports/object-store.js';

/**
 * A claim not renewed for this long belongs to a run that died. Two minutes: Lambda retries a failed
 * run after one minute and again two minutes later, so the second retry finds a dead run's claim stale.
 */
export const PUBLICATION_LEASE_MS = 2 * 60_000;

/** What reports/<week>/publishing.json holds while a run publishes the week. */
export interface PublicationClaimRecord {
  readonly schemaVersion: 1;
  readonly week: string;
  /** Who holds it: host, process and run, for the logs and the message of a second publisher. */
  readonly holder: string;
  readonly claimedAt: string;
  readonly renewedAt: string;
}

export type ClaimJudgement =
  | { readonly kind: 'take-over' }
  | {
      readonly kind: 'in-progress';
      readonly holder: string;
      readonly claimedAt: string;
      /** When the claim goes stale unless its holder renews it. */
      readonly staleAt: Date;
    };

export interface ClaimOptions {
  /** @default PUBLICATION_LEASE_MS */
  readonly leaseMs?: number;
  /** How often the holder renews the claim while it works. @default a quarter of the lease */
  readonly renewEveryMs?: number;
}

/** Another run publishes the week now: nothing was rendered, stored or posted by this one. */
export class PublicationInProgressError extends ToillessError {
  constructor(
    readonly week: string,
    readonly holder: string,
    readonly claimedAt: string,
    readonly staleAt: Date,
  ) {
    super(
      `the report for ${week} is being published by another run (${holder}, since ${claimedAt}): ` +
        `nothing was done here; that run posts it. If that run died, its claim expires at ${staleAt.toISOString()}: publish again after that`,
    );
  }
}

/** This run's claim was taken over (it was not renewed in time): it must not store or post. */
export class PublicationTakenOverError extends ToillessError {
  constructor(
    readonly week: string,
    readonly holder: string,
  ) {
    super(
      `the claim on publishing ${week} was taken over by another run (this run could not renew it in time): ` +
        'this run stopped without storing or posting; the other run publishes the week',
    );
  }
}

export function publicationClaimKey(week: string): string {
  return `reports/${week}/publishing.json`;
}

/** Whether an existing claim may be taken over now: unreadable claims may, so that none blocks forever. */
export function judgeClaim(stored: Buffer, now: Date, leaseMs = PUBLICATION_LEASE_MS): ClaimJudgement {
  const record = readClaimRecord(stored);
  if (!record) return { kind: 'take-over' };
  const staleAt = new Date(Date.parse(record.renewedAt) + leaseMs);
  if (now.getTime() >= staleAt.getTime()) return { kind: 'take-over' };
  return { kind: 'in-progress', holder: record.holder, claimedAt: record.claimedAt, staleAt };
}

function readClaimRecord(body: Buffer): PublicationClaimRecord | undefined {
  try {
    const value = JSON.parse(body.toString('utf8')) as Partial<PublicationClaimRecord> | null;
    if (
      typeof value?.holder === 'string' &&
      typeof value.claimedAt === 'string' &&
      typeof value.renewedAt === 'string' &&
      !Number.isNaN(Date.parse(value.renewedAt))
    ) {
      return value as PublicationClaimRecord;
    }
    return undefined;
  } catch {
    return undefined;
  }
}

export interface PublicationClaimPorts {
  readonly store: ObjectStore;
  readonly clock: Clock;
  readonly logger: Logger;
}

/** A claim this run holds: renewed on a timer until released. */
export interface HeldPublicationClaim {
  /** Renews the claim now; throws PublicationTakenOverError when another run has taken it. */
  confirm(): Promise<void>;
  /** Stops renewing and removes the claim (unless another run holds it by now). */
  release(): Promise<void>;
}

/**
 * Claims the week for `holder`: the held claim, or throws PublicationInProgressError while another
 * live run holds it.
 */
export async function claimPublication(
  ports: PublicationClaimPorts,
  week: string,
  holder: string,
  options: ClaimOptions = {},
): Promise<HeldPublicationClaim> {
  const { store, clock } = ports;
  const key = publicationClaimKey(week);
  const leaseMs = options.leaseMs ?? PUBLICATION_LEASE_MS;
  const now = clock.now().toISOString();
  const body = (renewedAt: string) =>
    `${JSON.stringify({ schemaVersion: 1, week, holder, claimedAt: now, renewedAt } satisfies PublicationClaimRecord)}\n`;
  const json = { contentType: 'application/json' } as const;

  for (let attempt = 0; attempt < 3; attempt++) {
    if (await store.putIfAbsent(key, body(now), json)) {
      const stored = await store.get(key);
      if (stored) return holdClaim(ports, { key, week, holder, etag: stored.etag, body, leaseMs, options });
      continue;
    }
    const existing = await store.get(key);
    // Released between our two calls: claim again.
    if (!existing) continue;
    const judgement = judgeClaim(existing.body, clock.now(), leaseMs);
    if (judgement.kind === 'in-progress') {
      throw new PublicationInProgressError(week, judgement.holder, judgement.claimedAt, judgement.staleAt);
    }
    try {
      const { etag } = await store.put(key, body(now), { ...json, ifMatch: existing.etag });
      ports.logger.warn(
        { week, holder, previous: existing.body.toString('utf8').slice(0, 300) },
        'took over a stale claim on publishing the report: the run that held it stopped renewing it',
      );
      return holdClaim(ports, { key, week, holder, etag, body, leaseMs, options });
    } catch (error) {
      // Another publisher took it over first: it is the live one now.
      if (!(error instanceof PreconditionFailedError)) throw error;
    }
  }
  const current = await store.get(key);
  const judgement = current ? judgeClaim(current.body, clock.now(), leaseMs) : undefined;
  if (judgement?.kind === 'in-progress') {
    throw new PublicationInProgressError(week, judgement.holder, judgement.claimedAt, judgement.staleAt);
  }
  throw new ToillessError(
    `the claim on publishing ${week} kept changing under this run: another publisher is starting; publish again in a minute`,
  );
}

function holdClaim(
  ports: PublicationClaimPorts,
  claim: {
    readonly key: string;
    readonly week: string;
    readonly holder: string;
    etag: string;
    readonly body: (renewedAt: string) => string;
    readonly leaseMs: number;
    readonly options: ClaimOptions;
  },
): HeldPublicationClaim {
  const { store, clock, logger } = ports;
  let lost: PublicationTakenOverError | undefined;
  let released = false;
  // One renewal at a time: two of ours at once would refuse each other's etag.
  let renewals: Promise<void> = Promise.resolve();
  const renew = (): Promise<void> => {
    // A renewal that failed (the store did not answer) does not stop the next one.
    renewals = renewals
      .catch(() => undefined)
      .then(async () => {
        if (lost || released) return;
        try {
          const { etag } = await store.put(claim.key, claim.body(clock.now().toISOString()), {
            contentType: 'application/json',
            ifMatch: claim.etag,
          });
          claim.etag = etag;
        } catch (error) {
          if (!(error instanceof PreconditionFailedError)) throw error;
          lost = new PublicationTakenOverError(claim.week, claim.holder);
        }
      });
    return renewals;
  };
  const timer = setInterval(
    () => {
      renew().catch((error: unknown) => {
        // A failed renewal is retried at the next tick; the lease is several ticks long.
        logger.warn({ err: error, week: claim.week }, 'could not renew the claim on publishing the report');
      });
    },
    claim.options.renewEveryMs ?? claim.leaseMs / 4,
  );
  timer.unref();
  return {
    confirm: async () => {
      await renew();
      if (lost) throw lost;
    },
    release: async () => {
      clearInterval(timer);
      await renewals.catch(() => undefined);
      if (released) return;
      released = true;
      if (lost) return;
      const current = await store.get(claim.key);
      // Only our own claim is removed: a run that took it over keeps it.
      if (current?.etag === claim.etag) await store.delete(claim.key);
    },
  };
}
