/**
 * Deployment evidence: the service's deployments from the index deploy-index.ts keeps, from
 * `incidents.deployLookback` before onset to the end of the window. The latest one before onset is the
 * first suspect; those after onset are listed too (a rollback or a fix), lower.
 */
import * as z from 'zod';
import { UpstreamError } from '../../shared/errors.js';
import type { DeploymentRecordedDetail } from '../../shared/events/types.js';
import type { ObjectStore } from '../../shared/ports/object-store.js';
import { deployIndexDayPrefix, finishedAtOfKey } from '../deploy-index.js';
import type { EvidenceRequest, Relevance, TimelineEvent } from '../model.js';
import type { SourceFindings } from './findings.js';

export interface DeploymentEvidenceOptions {
  readonly store: ObjectStore;
  /** How long before onset a deployment is still a suspect (toilless.yaml incidents.deployLookback). */
  readonly lookbackMs: number;
  /** Deployments read at most on each side of onset: the latest before it, the earliest after. @default 20 */
  readonly maxDeployments?: number;
}

export interface IndexedDeployment {
  readonly key: string;
  readonly detail: DeploymentRecordedDetail;
}

const DAY_MS = 86_400_000;
/** Days listed at most: an incident open for weeks does not list its whole history. */
const MAX_DAYS = 31;

const detailSchema = z.looseObject({
  repository: z.string(),
  environment: z.string(),
  deploymentId: z.union([z.string(), z.number()]).transform(String),
  sha: z.string(),
  status: z.enum(['success', 'failure']),
  production: z.boolean().default(false),
  finishedAt: z.string().refine((value) => Number.isFinite(Date.parse(value)), 'expected an ISO 8601 time'),
  services: z.array(z.string()).default([]),
});

export async function gatherDeploymentEvidence(
  request: EvidenceRequest,
  signal: AbortSignal,
  findings: SourceFindings,
  options: DeploymentEvidenceOptions,
): Promise<void> {
  const onset = request.onset.getTime();
  const start = onset - options.lookbackMs;
  const end = Math.max(onset, request.to.getTime());
  const max = options.maxDeployments ?? 20;

  const days: Date[] = [];
  for (let day = Math.floor(start / DAY_MS) * DAY_MS; day <= end && days.length < MAX_DAYS; day += DAY_MS) {
    days.push(new Date(day));
  }
  const listed = await Promise.all(
    days.map(async (day) => {
      const keys: string[] = [];
      for await (const key of options.store.list(deployIndexDayPrefix(request.service, day))) {
        if (signal.aborted) break;
        keys.push(key);
      }
      return keys;
    }),
  );
  const inWindow = listed.flat().filter((key) => {
    const at = finishedAtOfKey(key)?.getTime();
    return at !== undefined && at >= start && at <= end;
  });
  const before = inWindow.filter((key) => (finishedAtOfKey(key)?.getTime() ?? 0) <= onset).slice(-max);
  const after = inWindow.filter((key) => (finishedAtOfKey(key)?.getTime() ?? 0) > onset).slice(0, max);

  const deployments: IndexedDeployment[] = [];
  findings.summarise(() => deploymentEvents(request.service, deployments, request.onset));
  await Promise.all(
    [...before, ...after].map((key) =>
      findings.part(async () => {
        const object = await options.store.get(key);
        if (object === undefined) return [];
        deployments.push({ key, detail: parseDetail(key, object.body) });
        return [];
      }),
    ),
  );
}

function parseDetail(key: string, body: Buffer): DeploymentRecordedDetail {
  let raw: unknown;
  try {
    raw = JSON.parse(body.toString('utf8'));
  } catch {
    throw new UpstreamError('deployments', `${key} is not JSON: remove it or record the deployment again`);
  }
  const result = detailSchema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new UpstreamError(
      'deployments',
      `${key} is not a deployment record (${issue?.path.join('.') || '(root)'}: ${issue?.message})`,
    );
  }
  return result.data;
}

/**
 * One `deployment` event per deployment: the latest before onset (a production one when there is one)
 * is high, the others before onset normal, those after onset low.
 */
export function deploymentEvents(
  service: string,
  deployments: readonly IndexedDeployment[],
  onset: Date,
): TimelineEvent[] {
  const ordered = [...deployments].sort(
    (a, b) => Date.parse(a.detail.finishedAt) - Date.parse(b.detail.finishedAt) || compare(a.key, b.key),
  );
  const before = ordered.filter(({ detail }) => Date.parse(detail.finishedAt) <= onset.getTime());
  const suspect = before.filter(({ detail }) => detail.production).at(-1) ?? before.at(-1);
  return ordered.map((deployment) => {
    const { detail } = deployment;
    const finished = Date.parse(detail.finishedAt);
    const isBefore = finished <= onset.getTime();
    const relevance: Relevance = deployment === suspect ? 'high' : isBefore ? 'normal' : 'low';
    const minutes = Math.round(Math.abs(onset.getTime() - finished) / 60_000);
    const verb = detail.status === 'failure' ? 'failed to deploy' : 'deployed';
    return {
      at: new Date(finished).toISOString(),
      kind: 'deployment',
      source: 'deployments',
      summary: `${detail.repository} ${detail.sha.slice(0, 7)} ${verb} to ${detail.environment} ${relativeToOnset(minutes, isBefore)}`,
      relevance,
      links: commitLink(detail),
      details: {
        key: `deploy:${service}:${detail.repository}/${detail.environment}/${detail.deploymentId}/${detail.status}`,
        repository: detail.repository,
        environment: detail.environment,
        deploymentId: detail.deploymentId,
        sha: detail.sha,
        status: detail.status,
        production: detail.production,
        finishedAt: detail.finishedAt,
        minutesBeforeOnset: isBefore ? minutes : -minutes,
        suspect: deployment === suspect,
      },
    } satisfies TimelineEvent;
  });
}

/** "N minutes before onset", rounded to the nearest minute. */
export function relativeToOnset(minutes: number, before: boolean): string {
  const side = before ? 'before' : 'after';
  if (minutes === 0) return `less than a minute ${side} onset`;
  return `${minutes} minute${minutes === 1 ? '' : 's'} ${side} onset`;
}

function commitLink(detail: DeploymentRecordedDetail): TimelineEvent['links'] {
  if (!/^[\w.-]+\/[\w.-]+$/.test(detail.repository) || !/^[0-9a-f]{7,64}$/i.test(detail.sha)) return [];
  return [
    {
      title: `Commit ${detail.sha.slice(0, 7)}`,
      url: `https://github.com/${detail.repository}/commit/${detail.sha}`,
    },
  ];
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
