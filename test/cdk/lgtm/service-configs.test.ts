import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stackConfigDir } from '../../../functions/shared/stack-config.js';
import { asIBucket } from '../../../lib/cdk-interfaces.js';
import { configFiles, configHash, ServiceConfigs } from '../../../lib/lgtm/service-configs.js';
import { ConstructTestStack } from '../app-fixture.js';
import { resourcesOf } from './lgtm-fixture.js';

let copy: string;
let fixture: ConstructTestStack | undefined;

beforeEach(() => {
  copy = mkdtempSync(join(tmpdir(), 'toilless-configs-'));
  cpSync(stackConfigDir(), copy, { recursive: true });
});

afterEach(() => {
  rmSync(copy, { recursive: true, force: true });
  fixture?.dispose();
  fixture = undefined;
});

describe('Service config hash', () => {
  it("changes when one of the service's files changes, and only that service's", () => {
    // Prepare
    const before = { prometheus: configHash(join(copy, 'prometheus')), loki: configHash(join(copy, 'loki')) };

    // Act
    writeFileSync(join(copy, 'prometheus', 'rules', 'meta.yml'), '\n# changed\n', { flag: 'a' });

    // Assess
    expect(configHash(join(copy, 'prometheus'))).not.toBe(before.prometheus);
    expect(configHash(join(copy, 'loki'))).toBe(before.loki);
  });

  it('changes when a file is added or renamed, not when nothing changes', () => {
    // Prepare
    const dir = join(copy, 'blackbox');
    const before = configHash(dir);

    // Act and Assess
    expect(configHash(dir)).toBe(before);
    writeFileSync(join(dir, 'extra.yml'), '');
    expect(configHash(dir)).not.toBe(before);
  });

  it('lists nested files with forward slashes, sorted', () => {
    // Act
    const files = configFiles(join(copy, 'alertmanager'));

    // Assess
    expect(files).toEqual(['alertmanager.yml', 'templates/links.tmpl', 'templates/slack.tmpl']);
  });
});

describe('Service configs', () => {
  it("lets a task read its own folder's prefix only", () => {
    // Prepare
    fixture = new ConstructTestStack();
    const configs = new ServiceConfigs(fixture.stack, 'Configs', {
      stackConfigDir: copy,
      accessLogsBucket: asIBucket(new s3.Bucket(fixture.stack, 'Logs')),
    });
    const role = new iam.Role(fixture.stack, 'Role', {
      assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
    });

    // Act
    configs.deploy('loki');
    configs.grantRead(role, 'loki');

    // Assess
    const policy = Object.values(resourcesOf(fixture.stack)).find(
      (resource) =>
        resource.Type === 'AWS::IAM::Policy' &&
        JSON.stringify(resource.Properties.Roles).includes(
          fixture!.stack.getLogicalId(role.node.defaultChild as never),
        ),
    );
    const statements = policy.Properties.PolicyDocument.Statement;
    expect(statements).toHaveLength(2);
    expect(statements[0].Action).toBe('s3:GetObject');
    expect(JSON.stringify(statements[0].Resource)).toContain('/loki/*');
    expect(statements[1]).toMatchObject({
      Action: 's3:ListBucket',
      Condition: { StringLike: { 's3:prefix': ['loki/', 'loki/*'] } },
    });
  });

  it('deploys each folder once, to its own prefix, with pruning', () => {
    // Prepare
    fixture = new ConstructTestStack();
    const configs = new ServiceConfigs(fixture.stack, 'Configs', {
      stackConfigDir: copy,
      accessLogsBucket: asIBucket(new s3.Bucket(fixture.stack, 'Logs')),
    });

    // Act
    const first = configs.deploy('tempo');
    const second = configs.deploy('tempo');

    // Assess
    expect(second).toBe(first);
    const deployments = Object.values(resourcesOf(fixture.stack)).filter(
      (r) => r.Type === 'Custom::CDKBucketDeployment',
    );
    expect(deployments).toHaveLength(1);
    expect(deployments[0].Properties).toMatchObject({ DestinationBucketKeyPrefix: 'tempo/', Prune: true });
  });

  it('refuses a folder that is not under stack-config, saying which', () => {
    // Prepare
    fixture = new ConstructTestStack();
    const configs = new ServiceConfigs(fixture.stack, 'Configs', {
      stackConfigDir: copy,
      accessLogsBucket: asIBucket(new s3.Bucket(fixture.stack, 'Logs')),
    });

    // Act and Assess
    expect(() => configs.deploy('mimir')).toThrow(
      /cannot read .*mimir.*Every service needs its folder under stack-config/,
    );
    expect(() => configs.deploy('../loki')).toThrow(/"\.\.\/loki" is not a stack-config folder name/);
  });

  it('adds generated files to a folder, refusing a CloudFormation token in their contents', () => {
    // Prepare
    fixture = new ConstructTestStack();
    const configs = new ServiceConfigs(fixture.stack, 'Configs', {
      stackConfigDir: copy,
      accessLogsBucket: asIBucket(new s3.Bucket(fixture.stack, 'Logs')),
    });

    // Act
    const act = () => configs.deploy('loki', { 'loki.yaml': `bucket: ${configs.bucket.bucketName}\n` });
    const deployed = configs.deploy('tempo', { 'extra.yaml': 'a: 1\n' });

    // Assess
    expect(act).toThrow(/generated file loki\/loki.yaml holds a CloudFormation token/);
    expect(deployed.hash).not.toBe(configHash(join(copy, 'tempo')));
    expect(deployed.hash).toBe(configHash(join(copy, 'tempo'), { 'extra.yaml': 'a: 1\n' }));
  });
});
