/**
 * docker-compose.yml against the rest of the repository: its images are the ones versions.yaml names,
 * every file it mounts exists, its secrets are the ones scripts/compose-secrets.sh creates, and the
 * services start with what their configs expect (the local storage variants, Grafana's password file).
 */
import { parse as parseYaml } from 'yaml';
import { imageReference, type StackVersions } from '../shared/versions.js';
import { COMPOSE_KEYS } from './compose-keys.js';
import { GRAFANA_DASHBOARDS_PATH, GRAFANA_PROVISIONING_PATH } from './grafana-provisioning.js';
import { unknownKeys } from './key-reference.js';
import { LOKI_LOCAL_ENV, TEMPO_LOCAL_ENV } from './variants.js';
import { isMap, listAt, textAt, type YamlMap } from './yaml-tree.js';

/** What the compose checks need from the file system, so that tests can call them directly. */
export interface ComposeContext {
  readonly versions: StackVersions;
  /** Whether a path relative to the repository root exists. */
  readonly exists: (repoPath: string) => boolean;
  /** scripts/compose-secrets.sh, which creates the secret files. */
  readonly secretsScript: string;
}

/** A bind mount: a host path (relative to the repository, or absolute) mounted in a service. */
export interface BindMount {
  readonly service: string;
  readonly source: string;
  readonly target: string;
}

/** What is wrong with docker-compose.yml, one line each. */
export function composeProblems(text: string, context: ComposeContext): string[] {
  let compose: unknown;
  try {
    compose = parseYaml(text);
  } catch (error) {
    return [`not valid YAML: ${(error as Error).message.split('\n')[0]}`];
  }
  const services = isMap(compose) && isMap(compose['services']) ? compose['services'] : {};
  const problems = unknownKeys(compose, COMPOSE_KEYS).map((unknown) => unknown.message);

  const byImage = new Map(
    Object.entries(context.versions).map(([name, image]) => [image.image, { name, image }]),
  );
  for (const [name, service] of Object.entries(services)) {
    const image = textAt(service, 'image');
    if (image === undefined) {
      problems.push(
        `service ${name} has no image: every service runs a version from stack-config/versions.yaml`,
      );
      continue;
    }
    const repository = image.replace(/:[^:/]*$/, '');
    const pinned = byImage.get(repository);
    if (pinned === undefined) {
      problems.push(`service ${name} runs ${image}, which stack-config/versions.yaml does not name`);
    } else if (image !== imageReference(pinned.image)) {
      problems.push(
        `service ${name} runs ${image} but stack-config/versions.yaml pins ${pinned.name} at ${imageReference(pinned.image)}`,
      );
    }
  }

  for (const mount of bindMounts(compose)) {
    if (mount.source.startsWith('./') && !context.exists(mount.source.slice(2))) {
      problems.push(`service ${mount.service} mounts ${mount.source}, which does not exist`);
    }
  }

  const secrets = isMap(compose) && isMap(compose['secrets']) ? compose['secrets'] : {};
  for (const [name, secret] of Object.entries(secrets)) {
    const file = textAt(secret, 'file') ?? '';
    const created = new RegExp(`^create ${escapeRegExp(file.replace(/^\.\/\.secrets\//, ''))} `, 'm');
    if (!file.startsWith('./.secrets/') || !created.test(context.secretsScript)) {
      problems.push(
        `secret ${name} (${file || 'no file'}) must be a file under .secrets/ that scripts/compose-secrets.sh creates`,
      );
    }
  }

  problems.push(...serviceSetupProblems(services, bindMounts(compose)));
  return problems;
}

function serviceSetupProblems(services: YamlMap, mounts: readonly BindMount[]): string[] {
  const problems: string[] = [];
  const mountedAt = (service: string, target: string) =>
    mounts.find((mount) => mount.service === service && mount.target === target)?.source;

  const grafana = environment(services['grafana']);
  if (!grafana.has('GF_SECURITY_ADMIN_PASSWORD__FILE') && !grafana.has('GF_SECURITY_ADMIN_PASSWORD')) {
    problems.push(
      'service grafana must set GF_SECURITY_ADMIN_PASSWORD__FILE: without it Grafana starts with admin/admin',
    );
  }
  if (grafana.get('GF_AUTH_ANONYMOUS_ENABLED')?.toLowerCase() === 'true') {
    problems.push('service grafana must not enable anonymous access');
  }
  if (mountedAt('grafana', GRAFANA_DASHBOARDS_PATH) !== './stack-config/grafana/dashboards') {
    problems.push(
      `service grafana must mount ./stack-config/grafana/dashboards at ${GRAFANA_DASHBOARDS_PATH}, where the provider reads`,
    );
  }
  if (mountedAt('grafana', GRAFANA_PROVISIONING_PATH) !== './stack-config/grafana/provisioning') {
    problems.push(
      `service grafana must mount ./stack-config/grafana/provisioning at ${GRAFANA_PROVISIONING_PATH}`,
    );
  }

  for (const [service, local] of [
    ['loki', LOKI_LOCAL_ENV],
    ['tempo', TEMPO_LOCAL_ENV],
  ] as const) {
    const env = environment(services[service]);
    for (const [name, value] of Object.entries(local)) {
      if (env.get(name) !== value) {
        problems.push(`service ${service} must set ${name}=${value}: the local variant of its config`);
      }
    }
    if (!listAt(services[service], 'command').includes('-config.expand-env=true')) {
      problems.push(
        `service ${service} must start with -config.expand-env=true: its config reads the environment`,
      );
    }
  }

  const prometheus = listAt(services['prometheus'], 'command').map(String);
  for (const flag of ['--web.enable-remote-write-receiver', '--enable-feature=exemplar-storage']) {
    if (!prometheus.includes(flag)) {
      problems.push(
        `service prometheus must start with ${flag}: the collector, Tempo and the workers rely on it`,
      );
    }
  }
  return problems;
}

/** Every bind mount in the file, short (`./a:/b:ro`) and long (`type: bind`) syntax alike. */
export function bindMounts(compose: unknown): BindMount[] {
  const services = isMap(compose) && isMap(compose['services']) ? compose['services'] : {};
  return Object.entries(services).flatMap(([service, definition]) =>
    listAt(definition, 'volumes').flatMap((volume): BindMount[] => {
      if (typeof volume === 'string') {
        const [source = '', target = ''] = volume.split(':');
        return source.startsWith('.') || source.startsWith('/') ? [{ service, source, target }] : [];
      }
      if (isMap(volume) && volume['type'] === 'bind') {
        return [{ service, source: textAt(volume, 'source') ?? '', target: textAt(volume, 'target') ?? '' }];
      }
      return [];
    }),
  );
}

/** A service's environment, from either the map or the `NAME=value` list syntax. */
function environment(service: unknown): Map<string, string> {
  const env = isMap(service) ? service['environment'] : undefined;
  if (Array.isArray(env)) {
    return new Map(
      env.map((entry) => {
        const [name = '', ...value] = String(entry).split('=');
        return [name, value.join('=')] as const;
      }),
    );
  }
  return new Map(
    Object.entries(isMap(env) ? env : {}).map(([name, value]) => [name, String(value)] as const),
  );
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
