import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';

/** The context of cdk.json, which the CLI passes to the app and an in-process App must be given. */
export function cdkContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8'));
  return cdkJson.context;
}

export interface NagFinding {
  readonly rule: string;
  readonly severity: string;
  readonly constructs: readonly string[];
}

interface ValidationReport {
  readonly pluginReports: ReadonlyArray<{
    readonly pluginName: string;
    readonly violations: ReadonlyArray<{
      readonly ruleName: string;
      readonly severity?: string;
      readonly violatingConstructs?: ReadonlyArray<{ readonly constructPath: string }>;
    }>;
  }>;
}

/** The AWS Solutions findings left in validation-report.json once acknowledgements are applied. */
export function unacknowledgedFindings(report: ValidationReport): NagFinding[] {
  return report.pluginReports
    .filter((plugin) => plugin.pluginName === 'AwsSolutions')
    .flatMap((plugin) => plugin.violations)
    .map((violation) => ({
      rule: violation.ruleName,
      severity: violation.severity ?? 'unknown',
      constructs: (violation.violatingConstructs ?? []).map((construct) => construct.constructPath),
    }));
}

const ASSET_HASH = /[0-9a-f]{64}/g;

/** The template without what changes on every dependency or code change: asset hashes and CDK metadata. */
export function withoutAssetHashes(template: Record<string, unknown>): unknown {
  const copy = JSON.parse(JSON.stringify(template).replace(ASSET_HASH, '[ASSET HASH]'));
  delete copy.Resources?.CDKMetadata;
  delete copy.Conditions?.CDKMetadataAvailable;
  if (copy.Conditions && Object.keys(copy.Conditions).length === 0) delete copy.Conditions;
  return copy;
}

export interface ConstructTestStackOptions {
  /** Run the cdk-nag AWS Solutions checks at synth. @default false */
  readonly awsSolutionsChecks?: boolean;
  /** Bundle assets (functions) at synth, as `cdk synth` does. @default false */
  readonly bundling?: boolean;
}

/** A bare stack for construct tests: no bundling unless asked, no built-in template validation, its own temp outdir. */
export class ConstructTestStack {
  readonly stack: Stack;
  private readonly app: App;
  private readonly outdir: string;

  constructor(options: ConstructTestStackOptions = {}) {
    this.outdir = mkdtempSync(join(tmpdir(), 'toilless-construct-'));
    this.app = new App({
      outdir: this.outdir,
      builtinCloudFormationValidation: false,
      context: {
        ...cdkContext(),
        // The CLI sets asset metadata, which says where each function's bundle is.
        ...(options.bundling ? { 'aws:cdk:enable-asset-metadata': true } : { 'aws:cdk:bundling-stacks': [] }),
      },
    });
    if (options.awsSolutionsChecks) Validations.of(this.app).addPlugins(new AwsSolutionsChecks(this.app));
    this.stack = new Stack(this.app, 'Test');
  }

  /** Synthesizes the app and returns the directory of the asset of the resource with this logical id. */
  assetDirectoryOf(logicalId: string): string {
    this.app.synth();
    const template = JSON.parse(readFileSync(join(this.outdir, this.stack.templateFile), 'utf8'));
    const assetPath = template.Resources?.[logicalId]?.Metadata?.['aws:asset:path'];
    if (typeof assetPath !== 'string')
      throw new Error(`${logicalId} has no asset in the synthesized template`);
    return join(this.outdir, assetPath);
  }

  /** Removes the temp outdir. */
  dispose(): void {
    rmSync(this.outdir, { recursive: true, force: true });
  }
}
