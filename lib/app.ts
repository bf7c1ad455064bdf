import { App, type Environment, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { loadToillessConfig, stackConfigDir } from '../functions/shared/stack-config.js';
import { ObservabilityStack, type ObservabilityStackProps } from './observability-stack.js';
import type { ObservabilityEndpoints } from './workers/observability-endpoints.js';
import { WorkersStack, type WorkersStackProps } from './workers-stack.js';

export interface ToillessAppProps {
  /** Where the cloud assembly is written. @default - the CDK CLI's output directory, or a temp directory */
  readonly outdir?: string;
  /** Context values, e.g. the feature flags from cdk.json when the app is built outside the CLI. @default - none */
  readonly context?: Readonly<Record<string, unknown>>;
  /** Account and region to deploy to. @default - environment-agnostic */
  readonly env?: Environment;
  /** Settings of the workers stack. @default - the stack's defaults */
  readonly workers?: Omit<WorkersStackProps, 'env'>;
  /** Settings of the observability stack (built unless toilless.yaml sets observability.enabled: false). @default - the stack's defaults */
  readonly observability?: Omit<ObservabilityStackProps, 'env'>;
}

export interface ToillessApp {
  readonly app: App;
  readonly workers: WorkersStack;
  /** The LGTM stack on ECS, unless toilless.yaml turns it off. */
  readonly observability?: ObservabilityStack;
}

/** Builds the toilless CDK app, with the AWS Solutions checks of cdk-nag running at synth. */
export function buildApp(props: ToillessAppProps = {}): ToillessApp {
  const app = new App({
    ...(props.outdir ? { outdir: props.outdir } : {}),
    ...(props.context ? { context: { ...props.context } } : {}),
  });
  const configDir = props.observability?.stackConfigDir ?? stackConfigDir();
  const settings = loadToillessConfig(configDir).observability;
  if (settings.enabled && settings.external) {
    throw new Error(
      'toilless.yaml observability.external names your own services: set observability.enabled: false with it, or remove it to use the stack this app deploys.',
    );
  }
  const external = settings.external ? externalEndpoints(settings.external) : undefined;
  const observability = settings.enabled
    ? new ObservabilityStack(app, 'Toilless-Observability', {
        stackConfigDir: configDir,
        ...props.observability,
        ...(props.env ? { env: props.env } : {}),
      })
    : undefined;
  const workers = new WorkersStack(app, 'Toilless-Workers', {
    // The workers reach the stack's services at their Cloud Map names, from its VPC; given endpoints win.
    ...(observability ? { lgtmStack: observability.access() } : {}),
    ...(external ? { observability: external } : {}),
    ...props.workers,
    ...(props.env ? { env: props.env } : {}),
  });
  // `cdk deploy --all` brings the stack up before the workers that query it.
  if (observability) workers.addStackDependency(observability);
  // A finding that is not acknowledged (with its reason) fails synth.
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, workers, ...(observability ? { observability } : {}) };
}

/** The endpoints toilless.yaml names, without the keys it leaves out. */
function externalEndpoints(
  external: NonNullable<ReturnType<typeof loadToillessConfig>['observability']['external']>,
): ObservabilityEndpoints {
  return Object.fromEntries(
    Object.entries(external).filter(([, value]) => value !== undefined),
  ) as ObservabilityEndpoints;
}

/**
 * The account and region the CLI resolved from the caller's credentials. Without an account (no
 * credentials) the stacks stay environment-agnostic, rather than pinned to the CLI's fallback region.
 */
export function deploymentEnvironment(env: NodeJS.ProcessEnv = process.env): Environment | undefined {
  const account = env.CDK_DEFAULT_ACCOUNT;
  const region = env.CDK_DEFAULT_REGION;
  return account && region ? { account, region } : undefined;
}
