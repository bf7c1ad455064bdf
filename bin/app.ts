// The CDK app that `npx cdk synth|deploy` runs (cdk.json "app"); lib/app.ts builds it.
import { buildApp, deploymentEnvironment } from '../lib/app.js';

const env = deploymentEnvironment();
buildApp(env ? { env } : {});
