import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../lib/app.js';
import { cdkContext } from './app-fixture.js';

let outdir: string;

let cdkValidation: string | undefined;

beforeEach(() => {
  outdir = mkdtempSync(join(tmpdir(), 'toilless-nag-'));
  // Only the cdk-nag plugin is under test here; CDK's own template validation costs ~10 s per synth.
  cdkValidation = process.env.CDK_VALIDATION;
  process.env.CDK_VALIDATION = 'false';
});

afterEach(() => {
  if (cdkValidation === undefined) delete process.env.CDK_VALIDATION;
  else process.env.CDK_VALIDATION = cdkValidation;
  rmSync(outdir, { recursive: true, force: true });
});

function synthError(act: () => void): string {
  try {
    act();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected synth to fail');
}

describe('AWS Solutions checks', () => {
  it('fail synth on a finding nobody acknowledged, next to the acknowledged ones', () => {
    // Prepare: the real app (bundling skipped), plus a bucket without TLS enforcement or access logs
    // and a wildcard action on a worker role that already carries the X-Ray acknowledgement.
    const { app, workers } = buildApp({
      outdir,
      context: { ...cdkContext(), 'aws:cdk:bundling-stacks': [] },
    });
    new s3.Bucket(workers, 'UncheckedBucket');
    workers.githubWebhook.role.addToPolicy(new iam.PolicyStatement({ actions: ['s3:*'], resources: ['*'] }));

    // Act
    const message = synthError(() => app.synth());

    // Assess
    expect(message).toMatch(/AwsSolutions-S1\b/);
    expect(message).toMatch(/AwsSolutions-S10\b/);
    expect(message).toContain('Toilless-Workers/UncheckedBucket/Resource');
    expect(message).toContain('AwsSolutions-IAM5[Action::s3:*]');
    expect(message).toContain('Toilless-Workers/GitHubWebhook/Role/DefaultPolicy/Resource');
    expect(message).not.toMatch(/AwsSolutions-(SMG4|APIG4|L1)\b/);
  });
});
