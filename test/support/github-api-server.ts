/**
 * A local GitHub REST API for tests, reached through Octokit's `baseUrl`, answering the way
 * docs.github.com documents it.
 *
 *   const github = await startGitHubApiServer({ repositories: [{ full_name: 'octo/app', commits, deployments }] });
 *   createGitHubClient({ baseUrl: github.url, token: github.token, logger })
 *   github.exhaustRateLimit({ resetInSeconds: 1 })   // primary limit until the reset time
 *   github.secondaryRateLimit({ times: 1 })          // the next request hits a secondary limit
 *   github.requests                                  // what was asked, in order (never the token)
 *   await github.close();
 *
 * Protocol, as GitHub has it:
 * - Routes: `GET /repos/{owner}/{repo}/deployments` (filters sha, ref, task, environment; newest first),
 *   `.../deployments/{id}`, `.../deployments/{id}/statuses` (newest first), `.../compare/{base}...{head}`,
 *   `.../pulls` (state open|closed|all, sort created|updated, direction; the default direction is desc for
 *   `created` and asc otherwise), `.../pulls/{n}` (with `merged`, `commits`...), `.../pulls/{n}/commits`
 *   (oldest first, at most 250). The same routes answer under `/repositories/{id}/...`, which is where
 *   GitHub's Link headers point: a client must follow them rather than rebuild page URLs.
 * - Paging: `per_page` (default 30, values above 100 are cut to 100) and `page`; a Link header with
 *   rel="next"/"last" (and "prev"/"first" after page 1) whenever there is more than one page.
 *   Compare: without `per_page`/`page` the commit list is cut to the newest 250 (`total_commits` still
 *   counts all); with them it is paged oldest first, up to 250 commits per page.
 * - Errors are JSON `{ message, documentation_url, status }`: 404 `Not Found` for unknown repositories,
 *   objects, SHAs and routes (also for a private repository without a token), 401 `Bad credentials` for a
 *   token other than the server's (`Authorization: token|Bearer <token>`; no header is anonymous access).
 * - Rate limits: every answer carries X-RateLimit-Limit/Remaining/Used/Reset/Resource (5000 an hour with a
 *   token, 60 without). `exhaustRateLimit` answers 403 (or 429) with X-RateLimit-Remaining: 0 until
 *   X-RateLimit-Reset has passed; `secondaryRateLimit` answers the next requests 403 with Retry-After and
 *   the secondary-rate-limit message.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface GitHubCommitSeed {
  readonly sha: string;
  /** Parent SHAs: none for a root commit, two for a merge commit. */
  readonly parents: readonly string[];
  /** commit.author.date (ISO 8601). */
  readonly author_date: string;
  /** commit.committer.date. @default author_date */
  readonly committer_date?: string;
  /** @default `commit <sha>` */
  readonly message?: string;
}

export interface GitHubDeploymentStatusSeed {
  readonly id: number;
  readonly state: 'error' | 'failure' | 'inactive' | 'in_progress' | 'queued' | 'pending' | 'success';
  readonly created_at: string;
  /** @default created_at */
  readonly updated_at?: string;
  /** @default the deployment's environment */
  readonly environment?: string;
  /** @default '' */
  readonly description?: string;
  /** @default '' */
  readonly target_url?: string;
  readonly log_url?: string;
  readonly environment_url?: string;
}

/** A deployment with GitHub's field names; the webhook payload's `deployment` object fits as it is. */
export interface GitHubDeploymentSeed {
  readonly id: number;
  readonly sha: string;
  readonly ref: string;
  readonly environment: string;
  readonly created_at: string;
  /** @default created_at */
  readonly updated_at?: string;
  /** @default 'deploy' */
  readonly task?: string;
  readonly description?: string | null;
  readonly payload?: unknown;
  /** Present in answers only when seeded, as in older deployments. */
  readonly production_environment?: boolean;
  readonly transient_environment?: boolean;
  /** Newest last or in any order: answers sort them newest first. */
  readonly statuses?: readonly GitHubDeploymentStatusSeed[];
}

export interface GitHubPullRequestSeed {
  readonly id: number;
  readonly number: number;
  readonly title: string;
  readonly created_at: string;
  readonly updated_at: string;
  readonly closed_at: string | null;
  readonly merged_at: string | null;
  readonly merge_commit_sha: string | null;
  readonly head: { readonly ref: string; readonly sha: string };
  readonly base: { readonly ref: string; readonly sha?: string };
  /** SHAs of the branch's commits (each one of the repository's commits), listed by the commits endpoint. */
  readonly commits: readonly string[];
  readonly draft?: boolean;
  readonly body?: string | null;
}

export interface GitHubRepositorySeed {
  /** owner/name */
  readonly full_name: string;
  /** The numeric id used by Link headers. @default derived from the name */
  readonly id?: number;
  /** Private repositories answer 404 to anonymous requests. @default false */
  readonly private?: boolean;
  readonly commits?: readonly GitHubCommitSeed[];
  /** Branch name -> head SHA, for compare by branch name. */
  readonly branches?: Readonly<Record<string, string>>;
  readonly deployments?: readonly GitHubDeploymentSeed[];
  readonly pull_requests?: readonly GitHubPullRequestSeed[];
}

export interface GitHubApiServerOptions {
  /** The token requests must carry to be authenticated. @default a random `ghp_` token */
  readonly token?: string;
  readonly repositories?: readonly GitHubRepositorySeed[];
}

export interface GitHubApiRequest {
  readonly method: string;
  /** Path and query string as received. */
  readonly url: string;
  readonly status: number;
  readonly at: Date;
  /** Whether the right token came with it. */
  readonly authenticated: boolean;
  /** Set when the answer was a rate limit. */
  readonly rateLimit?: 'primary' | 'secondary';
}

export interface ExhaustRateLimitOptions {
  /** Seconds until X-RateLimit-Reset. @default 1 */
  readonly resetInSeconds?: number;
  /** GitHub answers a spent quota with 403 or 429. @default 403 */
  readonly status?: 403 | 429;
}

export interface SecondaryRateLimitOptions {
  /** How many requests are refused. @default 1 */
  readonly times?: number;
  /** The Retry-After header. @default 1 */
  readonly retryAfterSeconds?: number;
}

export interface GitHubApiServer {
  /** The API root to pass as Octokit's baseUrl (no trailing slash). */
  readonly url: string;
  readonly token: string;
  /** Every request, in arrival order. */
  readonly requests: readonly GitHubApiRequest[];
  /** Adds or replaces a repository. */
  seed(repository: GitHubRepositorySeed): void;
  /** Spends the quota: every request is refused until the reset time has passed. */
  exhaustRateLimit(options?: ExhaustRateLimitOptions): void;
  /** The next requests hit a secondary rate limit. */
  secondaryRateLimit(options?: SecondaryRateLimitOptions): void;
  close(): Promise<void>;
}

const DOCS = 'https://docs.github.com/rest';
const DEFAULT_PER_PAGE = 30;
const MAX_PER_PAGE = 100;
const COMPARE_MAX_COMMITS = 250;
const PULL_COMMITS_MAX = 250;
const AUTHENTICATED_QUOTA = 5000;
const ANONYMOUS_QUOTA = 60;

class ErrorAnswer extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly documentationUrl = DOCS,
  ) {
    super(message);
  }
}

const notFound = (documentationUrl = DOCS) => new ErrorAnswer(404, 'Not Found', documentationUrl);

interface Repository {
  readonly id: number;
  readonly fullName: string;
  readonly private: boolean;
  readonly commits: Map<string, GitHubCommitSeed>;
  readonly branches: Readonly<Record<string, string>>;
  readonly deployments: readonly GitHubDeploymentSeed[];
  readonly pulls: readonly GitHubPullRequestSeed[];
}

interface Quota {
  used: number;
  resetAt: number;
  exhausted?: { status: 403 | 429 };
}

interface Answer {
  readonly body: unknown;
  readonly link?: string;
}

type Query = URLSearchParams;

export async function startGitHubApiServer(options: GitHubApiServerOptions = {}): Promise<GitHubApiServer> {
  const token = options.token ?? `ghp_${randomBytes(18).toString('hex')}`;
  const repositories = new Map<string, Repository>();
  const requests: GitHubApiRequest[] = [];
  const quotas = new Map<'token' | 'anonymous', Quota>();
  let secondary: { remaining: number; retryAfterSeconds: number } | undefined;
  let origin = '';

  const seed = (input: GitHubRepositorySeed): void => {
    const id = input.id ?? repositoryIdFor(input.full_name);
    repositories.set(input.full_name.toLowerCase(), {
      id,
      fullName: input.full_name,
      private: input.private ?? false,
      commits: new Map((input.commits ?? []).map((c) => [c.sha, c])),
      branches: input.branches ?? {},
      deployments: input.deployments ?? [],
      pulls: input.pull_requests ?? [],
    });
  };
  for (const repository of options.repositories ?? []) seed(repository);

  const quotaFor = (key: 'token' | 'anonymous'): Quota => {
    const now = Date.now();
    let quota = quotas.get(key);
    if (!quota || now >= quota.resetAt) {
      quota = { used: 0, resetAt: Math.ceil(now / 1000) * 1000 + 3_600_000 };
      quotas.set(key, quota);
    }
    return quota;
  };

  const findRepository = (segments: readonly string[]): { repository: Repository; rest: string[] } => {
    if (segments[0] === 'repos' && segments.length >= 3) {
      const repository = repositories.get(`${segments[1]}/${segments[2]}`.toLowerCase());
      if (repository) return { repository, rest: segments.slice(3) };
    } else if (segments[0] === 'repositories' && segments.length >= 2) {
      const repository = [...repositories.values()].find((r) => String(r.id) === segments[1]);
      if (repository) return { repository, rest: segments.slice(2) };
    }
    throw notFound();
  };

  const apiBase = (repository: Repository) => `${origin}/repos/${repository.fullName}`;

  const route = (segments: string[], query: Query, authenticated: boolean): Answer => {
    const { repository, rest } = findRepository(segments);
    if (repository.private && !authenticated) throw notFound();
    const linkBase = `${origin}/repositories/${repository.id}/${rest.join('/')}`;
    const [resource, id, sub, ...more] = rest;

    if (resource === 'deployments') {
      if (id === undefined) {
        const filtered = repository.deployments
          .filter((d) => matches(query, 'sha', d.sha) && matches(query, 'ref', d.ref))
          .filter((d) => matches(query, 'task', d.task ?? 'deploy'))
          .filter((d) => matches(query, 'environment', d.environment))
          .sort((a, b) => Date.parse(b.created_at) - Date.parse(a.created_at) || b.id - a.id);
        return paged(filtered, query, linkBase, (d) => deploymentJson(origin, repository, d));
      }
      const deployment = repository.deployments.find((d) => String(d.id) === id);
      if (!deployment) throw notFound(`${DOCS}/deployments/deployments`);
      if (sub === undefined) return { body: deploymentJson(origin, repository, deployment) };
      if (sub === 'statuses' && more.length === 0) {
        const statuses = [...(deployment.statuses ?? [])].sort(
          (a, b) => Date.parse(b.created_at) - Date.parse(a.created_at) || b.id - a.id,
        );
        return paged(statuses, query, linkBase, (s) => statusJson(origin, repository, deployment, s));
      }
      throw notFound();
    }

    if (resource === 'compare' && id !== undefined && sub === undefined) {
      return compare(repository, decodeURIComponent(id), query, linkBase);
    }

    if (resource === 'pulls') {
      if (id === undefined) {
        const state = query.get('state') ?? 'open';
        if (!['open', 'closed', 'all'].includes(state)) {
          throw new ErrorAnswer(422, 'Validation Failed', `${DOCS}/pulls/pulls#list-pull-requests`);
        }
        const sort = query.get('sort') ?? 'created';
        const direction = query.get('direction') ?? (sort === 'created' ? 'desc' : 'asc');
        const key = sort === 'updated' ? 'updated_at' : 'created_at';
        const sign = direction === 'asc' ? 1 : -1;
        const filtered = repository.pulls
          .filter((p) => state === 'all' || (state === 'closed') === (p.closed_at !== null))
          .filter((p) => matches(query, 'base', p.base.ref))
          .sort((a, b) => sign * (Date.parse(a[key]) - Date.parse(b[key]) || a.number - b.number));
        return paged(filtered, query, linkBase, (p) => pullJson(origin, repository, p, false));
      }
      const pull = repository.pulls.find((p) => String(p.number) === id);
      if (!pull) throw notFound(`${DOCS}/pulls/pulls`);
      if (sub === undefined) return { body: pullJson(origin, repository, pull, true) };
      if (sub === 'commits' && more.length === 0) {
        const commits = pull.commits.slice(0, PULL_COMMITS_MAX).map((sha) => commitOf(repository, sha));
        return paged(commits, query, linkBase, (c) => commitJson(origin, repository, c));
      }
    }
    throw notFound();
  };

  const compare = (repository: Repository, basehead: string, query: Query, linkBase: string): Answer => {
    const match = /^(.+?)\.\.\.(.+)$/.exec(basehead);
    if (!match) throw notFound(`${DOCS}/commits/commits#compare-two-commits`);
    const base = resolveRef(repository, match[1] ?? '');
    const head = resolveRef(repository, match[2] ?? '');
    const fromHead = ancestors(repository, head);
    const fromBase = ancestors(repository, base);
    const ahead = chronological(
      repository,
      [...fromHead].filter((sha) => !fromBase.has(sha)),
    );
    const behindBy = [...fromBase].filter((sha) => !fromHead.has(sha)).length;
    const common = [...fromHead].filter((sha) => fromBase.has(sha));
    const mergeBase = chronological(repository, common).at(-1);
    const status =
      base === head ? 'identical' : behindBy === 0 ? 'ahead' : ahead.length === 0 ? 'behind' : 'diverged';
    const pagedRequest = query.has('per_page') || query.has('page');
    let commits = ahead;
    let link: string | undefined;
    if (pagedRequest) {
      const page = pageOf(ahead, query, COMPARE_MAX_COMMITS, linkBase);
      commits = page.items;
      link = page.link;
    } else if (ahead.length > COMPARE_MAX_COMMITS) {
      commits = ahead.slice(-COMPARE_MAX_COMMITS);
    }
    const body = {
      url: `${apiBase(repository)}/compare/${basehead}`,
      html_url: `https://github.com/${repository.fullName}/compare/${basehead}`,
      permalink_url: `https://github.com/${repository.fullName}/compare/${base}...${head}`,
      diff_url: `https://github.com/${repository.fullName}/compare/${basehead}.diff`,
      patch_url: `https://github.com/${repository.fullName}/compare/${basehead}.patch`,
      base_commit: commitJson(origin, repository, commitOf(repository, base)),
      merge_base_commit: mergeBase ? commitJson(origin, repository, commitOf(repository, mergeBase)) : null,
      status,
      ahead_by: ahead.length,
      behind_by: behindBy,
      total_commits: ahead.length,
      commits: commits.map((sha) => commitJson(origin, repository, commitOf(repository, sha))),
      files: [],
    };
    return link === undefined ? { body } : { body, link };
  };

  const server = createServer((req, res) => {
    void handle(req, res);
  });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    // The body is not used by any GET route; reading it keeps the connection reusable.
    for await (const _chunk of req) {
      // drain
    }
    const url = new URL(req.url ?? '/', origin);
    const record: { -readonly [K in keyof GitHubApiRequest]: GitHubApiRequest[K] } = {
      method: req.method ?? 'GET',
      url: `${url.pathname}${url.search}`,
      status: 0,
      at: new Date(),
      authenticated: false,
    };
    requests.push(record);

    const credential = /^(?:token|bearer)\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    if (req.headers.authorization !== undefined && credential !== token) {
      record.status = 401;
      sendJson(res, 401, errorBody(401, 'Bad credentials', DOCS));
      return;
    }
    record.authenticated = credential === token;

    const current = quotaFor(record.authenticated ? 'token' : 'anonymous');
    const limit = record.authenticated ? AUTHENTICATED_QUOTA : ANONYMOUS_QUOTA;
    const rateHeaders = (remaining: number) => ({
      'x-ratelimit-limit': String(limit),
      'x-ratelimit-remaining': String(remaining),
      'x-ratelimit-used': String(current.used),
      'x-ratelimit-reset': String(Math.floor(current.resetAt / 1000)),
      'x-ratelimit-resource': 'core',
    });

    if (current.exhausted || current.used >= limit) {
      const status = current.exhausted?.status ?? 403;
      record.status = status;
      record.rateLimit = 'primary';
      const who = record.authenticated ? 'for user ID 1' : 'for 127.0.0.1';
      const message = `API rate limit exceeded ${who}. If you reach out to GitHub Support for help, please include the request ID ${requestId()}.`;
      sendJson(
        res,
        status,
        errorBody(status, message, `${DOCS}/using-the-rest-api/rate-limits-for-the-rest-api`),
        rateHeaders(0),
      );
      return;
    }
    if (secondary && secondary.remaining > 0) {
      secondary.remaining -= 1;
      const retryAfter = secondary.retryAfterSeconds;
      if (secondary.remaining === 0) secondary = undefined;
      record.status = 403;
      record.rateLimit = 'secondary';
      const message = `You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID ${requestId()}.`;
      sendJson(
        res,
        403,
        errorBody(
          403,
          message,
          `${DOCS}/using-the-rest-api/rate-limits-for-the-rest-api#about-secondary-rate-limits`,
        ),
        { ...rateHeaders(limit - current.used), 'retry-after': String(retryAfter) },
      );
      return;
    }

    current.used += 1;
    const headers = rateHeaders(limit - current.used);
    try {
      if (record.method !== 'GET' && record.method !== 'HEAD') throw notFound();
      const segments = url.pathname.split('/').filter((s) => s !== '');
      const answer = route(segments, url.searchParams, record.authenticated);
      record.status = 200;
      sendJson(res, 200, answer.body, answer.link ? { ...headers, link: answer.link } : headers);
    } catch (error) {
      if (!(error instanceof ErrorAnswer)) {
        record.status = 500;
        sendJson(res, 500, { message: error instanceof Error ? error.message : String(error) });
        return;
      }
      record.status = error.status;
      sendJson(res, error.status, errorBody(error.status, error.message, error.documentationUrl), headers);
    }
  };

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: origin,
    token,
    requests,
    seed,
    exhaustRateLimit: ({ resetInSeconds = 1, status = 403 } = {}) => {
      for (const key of ['token', 'anonymous'] as const) {
        const quota = quotaFor(key);
        quota.resetAt = Math.ceil((Date.now() + resetInSeconds * 1000) / 1000) * 1000;
        quota.exhausted = { status };
      }
    },
    secondaryRateLimit: ({ times = 1, retryAfterSeconds = 1 } = {}) => {
      secondary = { remaining: times, retryAfterSeconds };
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/** A stable numeric repository id for a name, as GitHub's /repositories/{id} paths need one. */
export function repositoryIdFor(fullName: string): number {
  return Number.parseInt(createHash('sha256').update(fullName.toLowerCase()).digest('hex').slice(0, 8), 16);
}

function matches(query: Query, name: string, value: string): boolean {
  const wanted = query.get(name);
  return wanted === null || wanted === value;
}

function errorBody(status: number, message: string, documentationUrl: string) {
  return { message, documentation_url: documentationUrl, status: String(status) };
}

function requestId(): string {
  return randomBytes(8)
    .toString('hex')
    .toUpperCase()
    .replace(/(.{4})(?=.)/g, '$1:');
}

function paged<T>(items: readonly T[], query: Query, linkBase: string, toJson: (item: T) => unknown): Answer {
  const page = pageOf(items, query, MAX_PER_PAGE, linkBase);
  const body = page.items.map(toJson);
  return page.link === undefined ? { body } : { body, link: page.link };
}

function pageOf<T>(
  items: readonly T[],
  query: Query,
  maxPerPage: number,
  linkBase: string,
): { items: T[]; link?: string } {
  const requested = Number.parseInt(query.get('per_page') ?? '', 10);
  const perPage =
    Number.isFinite(requested) && requested > 0 ? Math.min(requested, maxPerPage) : DEFAULT_PER_PAGE;
  const requestedPage = Number.parseInt(query.get('page') ?? '', 10);
  const page = Number.isFinite(requestedPage) && requestedPage > 0 ? requestedPage : 1;
  const lastPage = Math.max(1, Math.ceil(items.length / perPage));
  const slice = items.slice((page - 1) * perPage, page * perPage);
  if (lastPage === 1) return { items: slice };
  const pageUrl = (n: number) => {
    const params = new URLSearchParams(query);
    params.set('page', String(n));
    return `<${linkBase}?${params.toString()}>`;
  };
  const rels: string[] = [];
  if (page > 1) rels.push(`${pageUrl(Math.min(page - 1, lastPage))}; rel="prev"`);
  if (page < lastPage) rels.push(`${pageUrl(page + 1)}; rel="next"`, `${pageUrl(lastPage)}; rel="last"`);
  if (page > 1) rels.push(`${pageUrl(1)}; rel="first"`);
  return { items: slice, link: rels.join(', ') };
}

function resolveRef(repository: Repository, ref: string): string {
  const branch = repository.branches[ref];
  if (branch !== undefined) return branch;
  if (repository.commits.has(ref)) return ref;
  if (/^[0-9a-f]{7,39}$/.test(ref)) {
    const found = [...repository.commits.keys()].filter((sha) => sha.startsWith(ref));
    if (found.length === 1 && found[0] !== undefined) return found[0];
  }
  throw notFound(`${DOCS}/commits/commits#compare-two-commits`);
}

function commitOf(repository: Repository, sha: string): GitHubCommitSeed {
  const commit = repository.commits.get(sha);
  if (!commit) throw new Error(`seed error: commit ${sha} is not among ${repository.fullName}'s commits`);
  return commit;
}

function ancestors(repository: Repository, sha: string): Set<string> {
  const seen = new Set<string>();
  const stack = [sha];
  while (stack.length > 0) {
    const next = stack.pop() as string;
    if (seen.has(next)) continue;
    seen.add(next);
    stack.push(...commitOf(repository, next).parents);
  }
  return seen;
}

/** Parents before children, then by committer date: the order compare lists commits in. */
function chronological(repository: Repository, shas: readonly string[]): string[] {
  const wanted = new Set(shas);
  const done = new Set<string>();
  const ordered: string[] = [];
  const byDate = [...shas].sort(
    (a, b) => committerTime(repository, a) - committerTime(repository, b) || a.localeCompare(b),
  );
  const visit = (sha: string) => {
    if (done.has(sha) || !wanted.has(sha)) return;
    done.add(sha);
    for (const parent of commitOf(repository, sha).parents) visit(parent);
    ordered.push(sha);
  };
  for (const sha of byDate) visit(sha);
  return ordered;
}

function committerTime(repository: Repository, sha: string): number {
  const commit = commitOf(repository, sha);
  return Date.parse(commit.committer_date ?? commit.author_date);
}

const octocat = (origin: string) => ({
  login: 'octocat',
  id: 1,
  node_id: 'MDQ6VXNlcjE=',
  avatar_url: 'https://github.com/images/error/octocat_happy.gif',
  gravatar_id: '',
  url: `${origin}/users/octocat`,
  html_url: 'https://github.com/octocat',
  type: 'User',
  site_admin: false,
});

function deploymentJson(origin: string, repository: Repository, d: GitHubDeploymentSeed) {
  const base = `${origin}/repos/${repository.fullName}`;
  return {
    url: `${base}/deployments/${d.id}`,
    id: d.id,
    node_id: nodeId('Deployment', d.id),
    sha: d.sha,
    ref: d.ref,
    task: d.task ?? 'deploy',
    payload: d.payload ?? {},
    original_environment: d.environment,
    environment: d.environment,
    description: d.description ?? null,
    creator: octocat(origin),
    created_at: d.created_at,
    updated_at: d.updated_at ?? d.created_at,
    statuses_url: `${base}/deployments/${d.id}/statuses`,
    repository_url: base,
    ...(d.transient_environment === undefined ? {} : { transient_environment: d.transient_environment }),
    ...(d.production_environment === undefined ? {} : { production_environment: d.production_environment }),
  };
}

function statusJson(
  origin: string,
  repository: Repository,
  d: GitHubDeploymentSeed,
  s: GitHubDeploymentStatusSeed,
) {
  const base = `${origin}/repos/${repository.fullName}`;
  return {
    url: `${base}/deployments/${d.id}/statuses/${s.id}`,
    id: s.id,
    node_id: nodeId('DeploymentStatus', s.id),
    state: s.state,
    creator: octocat(origin),
    description: s.description ?? '',
    environment: s.environment ?? d.environment,
    target_url: s.target_url ?? '',
    created_at: s.created_at,
    updated_at: s.updated_at ?? s.created_at,
    deployment_url: `${base}/deployments/${d.id}`,
    repository_url: base,
    environment_url: s.environment_url ?? '',
    log_url: s.log_url ?? '',
  };
}

function commitJson(origin: string, repository: Repository, c: GitHubCommitSeed) {
  const base = `${origin}/repos/${repository.fullName}`;
  const person = (date: string) => ({ name: 'Mona Octocat', email: 'octocat@github.com', date });
  return {
    sha: c.sha,
    node_id: nodeId('Commit', c.sha),
    commit: {
      author: person(c.author_date),
      committer: person(c.committer_date ?? c.author_date),
      message: c.message ?? `commit ${c.sha}`,
      tree: { sha: createHash('sha1').update(`tree:${c.sha}`).digest('hex'), url: `${base}/git/trees/x` },
      url: `${base}/git/commits/${c.sha}`,
      comment_count: 0,
      verification: {
        verified: false,
        reason: 'unsigned',
        signature: null,
        payload: null,
        verified_at: null,
      },
    },
    url: `${base}/commits/${c.sha}`,
    html_url: `https://github.com/${repository.fullName}/commit/${c.sha}`,
    comments_url: `${base}/commits/${c.sha}/comments`,
    author: octocat(origin),
    committer: octocat(origin),
    parents: c.parents.map((sha) => ({
      sha,
      url: `${base}/commits/${sha}`,
      html_url: `https://github.com/${repository.fullName}/commit/${sha}`,
    })),
  };
}

function pullJson(origin: string, repository: Repository, p: GitHubPullRequestSeed, full: boolean) {
  const base = `${origin}/repos/${repository.fullName}`;
  const [owner] = repository.fullName.split('/');
  const branch = (ref: string, sha: string) => ({
    label: `${owner}:${ref}`,
    ref,
    sha,
    user: octocat(origin),
    repo: { id: repository.id, name: repository.fullName.split('/')[1], full_name: repository.fullName },
  });
  const summary = {
    url: `${base}/pulls/${p.number}`,
    id: p.id,
    node_id: nodeId('PullRequest', p.id),
    html_url: `https://github.com/${repository.fullName}/pull/${p.number}`,
    number: p.number,
    state: p.closed_at === null ? 'open' : 'closed',
    locked: false,
    title: p.title,
    user: octocat(origin),
    body: p.body ?? null,
    labels: [],
    milestone: null,
    active_lock_reason: null,
    created_at: p.created_at,
    updated_at: p.updated_at,
    closed_at: p.closed_at,
    merged_at: p.merged_at,
    merge_commit_sha: p.merge_commit_sha,
    assignee: null,
    assignees: [],
    requested_reviewers: [],
    requested_teams: [],
    head: branch(p.head.ref, p.head.sha),
    base: branch(p.base.ref, p.base.sha ?? repository.branches[p.base.ref] ?? p.head.sha),
    author_association: 'OWNER',
    auto_merge: null,
    draft: p.draft ?? false,
  };
  if (!full) return summary;
  return {
    ...summary,
    merged: p.merged_at !== null,
    mergeable: null,
    rebaseable: null,
    mergeable_state: 'unknown',
    merged_by: p.merged_at === null ? null : octocat(origin),
    comments: 0,
    review_comments: 0,
    maintainer_can_modify: false,
    commits: p.commits.length,
    additions: 0,
    deletions: 0,
    changed_files: 0,
  };
}

function nodeId(kind: string, id: number | string): string {
  return Buffer.from(`${kind}${id}`).toString('base64').replace(/=+$/, '');
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'x-github-api-version-selected': '2022-11-28',
    'x-github-media-type': 'github.v3; format=json',
  });
  res.end(text);
}

/** A 40-hex SHA derived from a label, so tests can name commits. */
export function shaOf(label: string): string {
  return createHash('sha1').update(label).digest('hex');
}

export interface LinearHistoryOptions {
  /** Author time of the first commit. */
  readonly start: Date;
  /** Minutes between consecutive commits. @default 10 */
  readonly stepMinutes?: number;
  /** The commit the first one builds on. @default none: the first is a root commit */
  readonly parent?: string;
  /** Label prefix of the SHAs (`shaOf(<prefix><index>)`). @default 'commit-' */
  readonly prefix?: string;
}

/** `count` commits, each the parent of the next, oldest first. */
export function linearHistory(count: number, options: LinearHistoryOptions): GitHubCommitSeed[] {
  const step = (options.stepMinutes ?? 10) * 60_000;
  const commits: GitHubCommitSeed[] = [];
  let parent = options.parent;
  for (let index = 0; index < count; index++) {
    const sha = shaOf(`${options.prefix ?? 'commit-'}${index}`);
    commits.push({
      sha,
      parents: parent === undefined ? [] : [parent],
      author_date: new Date(options.start.getTime() + index * step).toISOString().replace('.000Z', 'Z'),
      message: `change ${index}`,
    });
    parent = sha;
  }
  return commits;
}
