/**
 * GitHub webhook deliveries for DORA scenarios: GitHub's documented payloads (@octokit/webhooks-examples)
 * with the repository, ids, shas and times of a scenario, signed and POSTed the way GitHub's hookshot does.
 */
import { randomUUID } from 'node:crypto';
import { type GitHubPayload, githubExample, signGitHubBody } from './github-examples.js';

/** One delivery: the X-GitHub-Event, the X-GitHub-Delivery GUID and the raw body that is signed. */
export interface GitHubDelivery {
  readonly event: 'deployment' | 'deployment_status' | 'push';
  readonly id: string;
  readonly body: string;
}

export interface DeploymentFacts {
  /** owner/name */
  readonly repository: string;
  readonly id: number;
  readonly sha: string;
  /** @default 'main' */
  readonly ref?: string;
  readonly environment: string;
  readonly createdAt: Date;
}

export interface StatusFacts {
  readonly id: number;
  readonly state: 'success' | 'failure' | 'error' | 'inactive' | 'pending' | 'in_progress' | 'queued';
  readonly at: Date;
}

export interface PushFacts {
  /** owner/name */
  readonly repository: string;
  /** @default 'refs/heads/main' */
  readonly ref?: string;
  readonly before: string;
  readonly after: string;
  /** Oldest first, as GitHub lists them; the last is the head commit. */
  readonly commits: readonly { readonly sha: string; readonly authoredAt: Date }[];
}

/** A `deployment` webhook (action created). */
export function deploymentDelivery(facts: DeploymentFacts, id: string = randomUUID()): GitHubDelivery {
  const payload = githubExample('deployment', (p) => p.deployment.task === 'deploy');
  setRepository(payload, facts.repository);
  setDeployment(payload, facts, facts.createdAt);
  return { event: 'deployment', id, body: JSON.stringify(payload) };
}

/** A `deployment_status` webhook (action created) of the deployment. */
export function deploymentStatusDelivery(
  deployment: DeploymentFacts,
  status: StatusFacts,
  id: string = randomUUID(),
): GitHubDelivery {
  const payload = githubExample('deployment_status', (p) => p.deployment_status.state === 'success');
  setRepository(payload, deployment.repository);
  setDeployment(payload, deployment, status.at);
  const statusUrl = `${payload.deployment.url}/statuses/${status.id}`;
  Object.assign(payload.deployment_status, {
    url: statusUrl,
    id: status.id,
    state: status.state,
    environment: deployment.environment,
    created_at: githubTime(status.at),
    updated_at: githubTime(status.at),
    deployment_url: payload.deployment.url,
    repository_url: payload.deployment.repository_url,
  });
  return { event: 'deployment_status', id, body: JSON.stringify(payload) };
}

/** A `push` webhook of commits onto a branch. */
export function pushDelivery(facts: PushFacts, id: string = randomUUID()): GitHubDelivery {
  const payload = githubExample('push', (p) => p.ref === 'refs/heads/master' && p.commits.length > 0);
  setRepository(payload, facts.repository);
  const template = payload.commits[0];
  payload.ref = facts.ref ?? 'refs/heads/main';
  payload.before = facts.before;
  payload.after = facts.after;
  payload.created = false;
  payload.compare = `https://github.com/${facts.repository}/compare/${facts.before.slice(0, 12)}...${facts.after.slice(0, 12)}`;
  payload.commits = facts.commits.map((commit) => ({
    ...template,
    id: commit.sha,
    message: `change ${commit.sha.slice(0, 7)}`,
    timestamp: githubTime(commit.authoredAt),
    url: `https://github.com/${facts.repository}/commit/${commit.sha}`,
  }));
  payload.head_commit = payload.commits.at(-1) ?? null;
  return { event: 'push', id, body: JSON.stringify(payload) };
}

/** What the intake answered. */
export interface DeliveryAnswer {
  readonly status: number;
  readonly body: { readonly ok?: boolean; readonly duplicate?: boolean; readonly eventId?: string };
}

/** POSTs a delivery to `<serverUrl>/webhooks/github` with the headers GitHub sends, signed with `secret`. */
export async function deliver(
  serverUrl: string,
  secret: string,
  delivery: GitHubDelivery,
  hookId = '471147114',
): Promise<DeliveryAnswer> {
  const response = await fetch(`${serverUrl}/webhooks/github`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'user-agent': 'GitHub-Hookshot/f6c3b5e',
      'x-github-event': delivery.event,
      'x-github-delivery': delivery.id,
      'x-github-hook-id': hookId,
      'x-github-hook-installation-target-type': 'repository',
      'x-hub-signature-256': signGitHubBody(secret, delivery.body),
    },
    body: delivery.body,
  });
  return { status: response.status, body: (await response.json()) as DeliveryAnswer['body'] };
}

/** GitHub writes times in whole seconds, UTC: 2019-05-15T15:20:55Z. */
export function githubTime(at: Date): string {
  return new Date(Math.floor(at.getTime() / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

function setRepository(payload: GitHubPayload, fullName: string): void {
  const [owner = '', name = ''] = fullName.split('/');
  payload.repository.full_name = fullName;
  payload.repository.name = name;
  payload.repository.owner.login = owner;
  payload.repository.html_url = `https://github.com/${fullName}`;
  payload.repository.url = `https://api.github.com/repos/${fullName}`;
}

function setDeployment(payload: GitHubPayload, facts: DeploymentFacts, updatedAt: Date): void {
  const url = `https://api.github.com/repos/${facts.repository}/deployments/${facts.id}`;
  Object.assign(payload.deployment, {
    url,
    id: facts.id,
    sha: facts.sha,
    ref: facts.ref ?? 'main',
    original_environment: facts.environment,
    environment: facts.environment,
    created_at: githubTime(facts.createdAt),
    updated_at: githubTime(updatedAt),
    statuses_url: `${url}/statuses`,
    repository_url: `https://api.github.com/repos/${facts.repository}`,
  });
}
