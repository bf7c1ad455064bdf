/**
 * The deploy-failure scenario's GitHub deliveries: `deployment` and `deployment_status` events shaped
 * like GitHub's own (the fields of the documented payloads), signed with the webhook secret exactly as
 * GitHub signs them (HMAC-SHA256 of the raw body, hex, in X-Hub-Signature-256) and POSTed with
 * GitHub's headers to toilless's /webhooks/github.
 */
import { createHmac, randomUUID } from 'node:crypto';

export interface GameDeployment {
  /** owner/name */
  readonly repository: string;
  readonly id: number;
  readonly sha: string;
  readonly environment: string;
  readonly createdAt: Date;
  readonly status: 'success' | 'failure';
  readonly statusId: number;
  readonly finishedAt: Date;
}

export interface GitHubDelivery {
  readonly event: 'deployment' | 'deployment_status';
  /** X-GitHub-Delivery: a GUID, as GitHub sends. */
  readonly id: string;
  readonly body: string;
}

/** The hook id sent in X-GitHub-Hook-ID: a fixed number, as one configured webhook has. */
export const GAMEDAY_HOOK_ID = '40501';

/** `sha256=<hex HMAC-SHA256 of the body>`: GitHub's X-Hub-Signature-256. */
export function signGitHubBody(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}

function githubTime(at: Date): string {
  return at.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function repositoryObject(fullName: string) {
  const [owner = 'toilless-gameday', name = 'sample-app'] = fullName.split('/');
  const api = `https://api.github.com/repos/${fullName}`;
  return {
    id: 118_000_001,
    node_id: 'R_kgDOGameDay',
    name,
    full_name: fullName,
    private: true,
    owner: {
      login: owner,
      id: 118_000_000,
      type: 'Organization',
      url: `https://api.github.com/users/${owner}`,
    },
    html_url: `https://github.com/${fullName}`,
    url: api,
    deployments_url: `${api}/deployments`,
    default_branch: 'main',
  };
}

const SENDER = { login: 'toilless-gameday', id: 118_000_002, type: 'Bot' };

function deploymentObject(deployment: GameDeployment) {
  const url = `https://api.github.com/repos/${deployment.repository}/deployments/${deployment.id}`;
  return {
    url,
    id: deployment.id,
    node_id: `DE_gameday${deployment.id}`,
    task: 'deploy',
    original_environment: deployment.environment,
    environment: deployment.environment,
    description: 'game day: toilless deploy-failure scenario',
    created_at: githubTime(deployment.createdAt),
    updated_at: githubTime(deployment.createdAt),
    statuses_url: `${url}/statuses`,
    repository_url: `https://api.github.com/repos/${deployment.repository}`,
    creator: SENDER,
    sha: deployment.sha,
    ref: 'main',
    payload: {},
    transient_environment: false,
    production_environment: true,
    performed_via_github_app: null,
  };
}

/** The two deliveries GitHub sends for one deployment: `deployment` created, then its final status. */
export function deploymentDeliveries(deployment: GameDeployment): [GitHubDelivery, GitHubDelivery] {
  const repository = repositoryObject(deployment.repository);
  const created = {
    action: 'created',
    deployment: deploymentObject(deployment),
    repository,
    sender: SENDER,
  };
  const statusDeployment = { ...deploymentObject(deployment), updated_at: githubTime(deployment.finishedAt) };
  const status = {
    action: 'created',
    deployment_status: {
      url: `${statusDeployment.url}/statuses/${deployment.statusId}`,
      id: deployment.statusId,
      node_id: `DES_gameday${deployment.statusId}`,
      state: deployment.status,
      creator: SENDER,
      description:
        deployment.status === 'success' ? 'deployed' : 'game day: the deployment failed on purpose',
      environment: deployment.environment,
      target_url: '',
      log_url: '',
      environment_url: '',
      created_at: githubTime(deployment.finishedAt),
      updated_at: githubTime(deployment.finishedAt),
      deployment_url: statusDeployment.url,
      repository_url: statusDeployment.repository_url,
      performed_via_github_app: null,
    },
    deployment: statusDeployment,
    repository,
    sender: SENDER,
  };
  return [
    { event: 'deployment', id: randomUUID(), body: JSON.stringify(created) },
    { event: 'deployment_status', id: randomUUID(), body: JSON.stringify(status) },
  ];
}

/** The headers GitHub's hookshot sends with a delivery. */
export function deliveryHeaders(secret: string, delivery: GitHubDelivery): Record<string, string> {
  return {
    'content-type': 'application/json',
    'user-agent': 'GitHub-Hookshot/toilless-gameday',
    'x-github-event': delivery.event,
    'x-github-delivery': delivery.id,
    'x-github-hook-id': GAMEDAY_HOOK_ID,
    'x-github-hook-installation-target-type': 'repository',
    'x-hub-signature-256': signGitHubBody(secret, delivery.body),
  };
}

/** POSTs one delivery; a non-2xx answer is an error that says what toilless answered (never the secret). */
export async function sendDelivery(
  toillessUrl: string,
  secret: string,
  delivery: GitHubDelivery,
  options: { readonly signal?: AbortSignal | undefined; readonly fetch?: typeof fetch | undefined } = {},
): Promise<void> {
  const doFetch = options.fetch ?? globalThis.fetch;
  const timeout = AbortSignal.timeout(10_000);
  const url = `${toillessUrl.replace(/\/+$/, '')}/webhooks/github`;
  let response: Response;
  try {
    response = await doFetch(url, {
      method: 'POST',
      headers: deliveryHeaders(secret, delivery),
      body: delivery.body,
      redirect: 'error',
      signal: options.signal ? AbortSignal.any([options.signal, timeout]) : timeout,
    });
  } catch (error) {
    // fetch says only "fetch failed"; the cause names the refusal, the timeout or the bad address.
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new Error(
      `cannot deliver to ${url}: ${cause?.code ?? cause?.message ?? (error as Error).message}; is toilless running there (TOILLESS_URL)?`,
    );
  }
  const text = (await response.text()).slice(0, 300);
  if (!response.ok) {
    throw new Error(
      `toilless answered the ${delivery.event} delivery with HTTP ${response.status}: ${text}${response.status === 401 ? ' (the GitHub webhook secret differs from the one toilless checks)' : ''}`,
    );
  }
}

/**
 * The scenario's deployments to one repository: `successes` successful ones then one failure, a few
 * minutes apart and all finished by `now`, so that the change failure rate is 1 / (successes + 1).
 */
export function deploymentSeries(
  repository: string,
  environment: string,
  now: Date,
  successes: number,
  idBase: number,
): GameDeployment[] {
  const stepMs = 120_000;
  const count = successes + 1;
  return Array.from({ length: count }, (_, index) => {
    const finishedAt = new Date(now.getTime() - (count - 1 - index) * stepMs);
    return {
      repository,
      environment,
      id: idBase + index,
      statusId: idBase + 1000 + index,
      sha: createHmac('sha1', 'gameday')
        .update(`${repository}:${idBase + index}`)
        .digest('hex'),
      createdAt: new Date(finishedAt.getTime() - 60_000),
      finishedAt,
      status: index === count - 1 ? 'failure' : 'success',
    };
  });
}
