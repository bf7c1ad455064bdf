import { App, type Environment, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
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
}

export interface ToillessApp {
  readonly app: App;
  readonly workers: WorkersStack;
}

/** Builds the toilless CDK app, with the AWS Solutions checks of cdk-nag running at synth. */
export function buildApp(props: ToillessAppProps = {}): ToillessApp {
  const app = new App({
    ...(props.outdir ? { outdir: props.outdir } : {}),
    ...(props.context ? { context: { ...props.context } } : {}),
  });
  const workers = new WorkersStack(app, 'Toilless-Workers', {
    ...props.workers,
    ...(props.env ? { env: props.env } : {}),
  });
  // A finding that is not acknowledged (with its reason) fails synth.
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, workers };
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
