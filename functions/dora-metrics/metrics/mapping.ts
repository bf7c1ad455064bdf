/**
 * How toilless.yaml maps GitHub onto DORA: which environments are production, which workflow runs are
 * deployments and to where, and which services a repository deploys.
 */
import type { ToillessConfig } from '../../shared/stack-config.js';

// GitHub treats environment names case-insensitively, and workflow names are written by hand.
const caseInsensitive = (pattern: string) => new RegExp(pattern, 'i');

export function isProductionEnvironment(config: ToillessConfig, environment: string): boolean {
  return caseInsensitive(config.dora.productionEnvironments).test(environment);
}

/** What workflowRunEnvironment reads of a run. */
export interface WorkflowRunIdentity {
  readonly name: string;
  readonly headBranch: string | null;
  readonly defaultBranch?: string;
}

/** What counts as the default branch when a payload does not name it. */
const USUAL_DEFAULT_BRANCH = /^(main|master)$/;

/**
 * The environment a workflow run deployed to, or undefined when it is no deployment: its name must match
 * dora.deployWorkflows, then the first dora.workflowEnvironments rule matching its name and head branch
 * decides (default: the repository's default branch deploys to production).
 */
export function workflowRunEnvironment(config: ToillessConfig, run: WorkflowRunIdentity): string | undefined {
  if (!caseInsensitive(config.dora.deployWorkflows).test(run.name)) return undefined;
  const branch = run.headBranch ?? '';
  const rule = config.dora.workflowEnvironments.find(
    (candidate) =>
      (candidate.workflow === undefined || caseInsensitive(candidate.workflow).test(run.name)) &&
      (candidate.branch === undefined || new RegExp(candidate.branch).test(branch)) &&
      (candidate.defaultBranch !== true || isDefaultBranch(run, branch)),
  );
  return rule?.environment;
}

function isDefaultBranch(run: WorkflowRunIdentity, branch: string): boolean {
  return run.defaultBranch === undefined ? USUAL_DEFAULT_BRANCH.test(branch) : branch === run.defaultBranch;
}

/** The services whose `repositories` list the repository, sorted. */
export function servicesOfRepository(config: ToillessConfig, repository: string): string[] {
  const wanted = repository.toLowerCase();
  return Object.entries(config.services)
    .filter(([, service]) => service.repositories.some((name) => name.toLowerCase() === wanted))
    .map(([name]) => name)
    .sort();
}

/** The repositories that deploy any of the services, sorted, without duplicates. */
export function repositoriesOfServices(config: ToillessConfig, services: readonly string[]): string[] {
  const found = new Set<string>();
  for (const service of services) {
    for (const repository of config.services[service]?.repositories ?? []) found.add(repository);
  }
  return [...found].sort();
}

/**
 * The production targets among `targets` that belong to the given repositories, case aside: the ledgers
 * a change to those repositories' incidents or production deployments can move.
 */
export function productionTargetsOf<T extends { readonly repository: string; readonly environment: string }>(
  config: ToillessConfig,
  targets: readonly T[],
  repositories: Iterable<string>,
): T[] {
  const wanted = new Set([...repositories].map((name) => name.toLowerCase()));
  return targets.filter(
    (target) =>
      wanted.has(target.repository.toLowerCase()) && isProductionEnvironment(config, target.environment),
  );
}

/** The repository and every repository that deploys a service it deploys. */
export function repositoriesSharingServices(config: ToillessConfig, repository: string): string[] {
  const repositories = repositoriesOfServices(config, servicesOfRepository(config, repository));
  const known = repositories.some((name) => name.toLowerCase() === repository.toLowerCase());
  return known ? repositories : [...repositories, repository].sort();
}
