/**
 * The two deployments every service config serves: ECS with S3, and docker compose on one machine with
 * local volumes. Loki and Tempo read one file each with -config.expand-env=true; these environments
 * are what tells the variants apart, so the checks expand the file once per variant.
 */
import { parse as parseYaml } from 'yaml';
import { expandEnv } from './env-expansion.js';
import { type KeyReference, unknownKeys } from './key-reference.js';

export interface ConfigVariant {
  /** How the docs and messages name it. */
  readonly name: 's3' | 'local';
  /** The environment the service starts with (values here are stand-ins for the deployment's). */
  readonly env: Readonly<Record<string, string>>;
}

/** What docker-compose.yml sets for Loki: chunks and index on the /loki volume. */
export const LOKI_LOCAL_ENV = { LOKI_STORAGE: 'filesystem' } as const;
/** What docker-compose.yml sets for Tempo: blocks on the /var/tempo volume. */
export const TEMPO_LOCAL_ENV = { TEMPO_STORAGE: 'local' } as const;

/** On ECS the stack sets the bucket and region (the storage variables keep their S3 default). */
export const LOKI_VARIANTS: readonly ConfigVariant[] = [
  { name: 's3', env: { LOKI_S3_BUCKET: 'toilless-loki-chunks', AWS_REGION: 'eu-west-1' } },
  { name: 'local', env: LOKI_LOCAL_ENV },
];

export const TEMPO_VARIANTS: readonly ConfigVariant[] = [
  { name: 's3', env: { TEMPO_S3_BUCKET: 'toilless-tempo-blocks', AWS_REGION: 'eu-west-1' } },
  { name: 'local', env: TEMPO_LOCAL_ENV },
];

/** The namespace the large-profile files find their peers in (toilless.yaml observability.namespace on ECS). */
export const NAMESPACE_ENV = { TOILLESS_NAMESPACE: 'toilless.local' } as const;

/** loki-large.yaml runs on ECS only: S3, plus the namespace its memberlist and gRPC peers are in. */
export const LOKI_LARGE_VARIANTS: readonly ConfigVariant[] = [
  { name: 's3', env: { ...LOKI_VARIANTS[0]?.env, ...NAMESPACE_ENV } },
];

/** tempo-large.yaml runs on ECS only: S3, plus the namespace its memberlist and gRPC peers are in. */
export const TEMPO_LARGE_VARIANTS: readonly ConfigVariant[] = [
  { name: 's3', env: { ...TEMPO_VARIANTS[0]?.env, ...NAMESPACE_ENV } },
];

/** A config as the service sees it in one variant: expanded, then parsed. */
export type ParsedVariant =
  | { readonly variant: ConfigVariant; readonly config: unknown; readonly error?: undefined }
  | { readonly variant: ConfigVariant; readonly config?: undefined; readonly error: string };

export function parseVariants(text: string, variants: readonly ConfigVariant[]): ParsedVariant[] {
  return variants.map((variant) => {
    try {
      return { variant, config: parseYaml(expandEnv(text, variant.env)) as unknown };
    } catch (error) {
      return { variant, error: `not valid YAML: ${(error as Error).message.split('\n')[0]}` };
    }
  });
}

/** `A=1 B=2`, for messages. */
export function envText(env: Readonly<Record<string, string>>): string {
  return Object.entries(env)
    .map(([name, value]) => `${name}=${value}`)
    .join(' ');
}

/**
 * Problems found per variant, as lines: a problem of every variant once, the others prefixed with the
 * variant and its environment, so that the message says where it breaks.
 */
export function variantProblemLines(
  found: readonly { variant: ConfigVariant; problems: readonly string[] }[],
): string[] {
  const everywhere =
    found.length === 0
      ? []
      : found
          .slice(1)
          .reduce<readonly string[]>(
            (common, { problems }) => common.filter((problem) => problems.includes(problem)),
            found[0]?.problems ?? [],
          );
  const lines = [...everywhere];
  for (const { variant, problems } of found) {
    for (const problem of problems) {
      if (!everywhere.includes(problem))
        lines.push(`with the ${variant.name} variant (${envText(variant.env)}): ${problem}`);
    }
  }
  return [...new Set(lines)];
}

/**
 * What is wrong with a config file of Loki or Tempo, one line each: keys its service does not know (in
 * the s3 variant, the one ECS runs; the local variant only switches the storage), then what `needs`
 * finds in each variant, said once when every variant has it.
 */
export function variantConfigProblems(
  text: string,
  variants: readonly ConfigVariant[],
  keys: KeyReference,
  needs: (config: unknown, variant: ConfigVariant['name']) => string[],
): string[] {
  const keyProblems: string[] = [];
  const found = parseVariants(text, variants).map((parsed) => {
    if (parsed.error !== undefined) return { variant: parsed.variant, problems: [parsed.error] };
    if (parsed.variant.name === 's3') {
      keyProblems.push(...unknownKeys(parsed.config, keys).map((unknown) => unknown.message));
    }
    return { variant: parsed.variant, problems: needs(parsed.config, parsed.variant.name) };
  });
  return [...keyProblems, ...variantProblemLines(found)];
}
