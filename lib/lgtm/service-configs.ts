import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import { asIBucket } from '../cdk-interfaces.js';

/** The files under a service's stack-config folder, as paths relative to it, sorted. */
export function configFiles(dir: string): string[] {
  const files: string[] = [];
  const walk = (current: string): void => {
    for (const name of readdirSync(current).sort()) {
      const path = join(current, name);
      if (statSync(path).isDirectory()) walk(path);
      else files.push(relative(dir, path).split(sep).join('/'));
    }
  };
  walk(dir);
  return files;
}

/**
 * SHA-256 over the names and contents of a service's config files. It goes into the task definition,
 * so a changed file makes a new revision and rolls that service, and only that one.
 */
export function configHash(dir: string, generated: Readonly<Record<string, string>> = {}): string {
  const hash = createHash('sha256');
  const files = [...new Set([...configFiles(dir), ...Object.keys(generated)])].sort();
  for (const file of files) {
    const content = generated[file];
    hash
      .update(file)
      .update('\0')
      .update(content === undefined ? readFileSync(join(dir, file)) : Buffer.from(content, 'utf8'))
      .update('\0');
  }
  return hash.digest('hex');
}

const GENERATED_FILE = /^[a-z0-9][a-z0-9._-]*(\/[a-z0-9][a-z0-9._-]*)*$/;

const FOLDER = /^[a-z][a-z0-9-]*$/;

export interface ServiceConfigsProps {
  /** The stack-config directory whose service folders are deployed. */
  readonly stackConfigDir: string;
  /** Where the config bucket's server access logs go. */
  readonly accessLogsBucket: s3.IBucket;
  /** What happens to the config bucket when the stack is deleted; it holds only copies of stack-config. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/** One service's config in the bucket. */
export interface DeployedServiceConfig {
  /** The folder under stack-config, also the key prefix in the bucket (`<folder>/`). */
  readonly folder: string;
  /** configHash of the folder at synth. */
  readonly hash: string;
  /** The deployment that copies the folder; tasks start after it. */
  readonly deployment: s3deploy.BucketDeployment;
}

/**
 * stack-config/ in S3: each service folder is copied to its own prefix of a private bucket, and a
 * task's init container syncs that prefix into the task before the service starts. File contents are
 * copied as they are: no CloudFormation token is ever substituted into them.
 */
export class ServiceConfigs extends Construct {
  /** The bucket holding one prefix per service folder. */
  readonly bucket: s3.Bucket;
  private readonly props: ServiceConfigsProps;
  private readonly deployed = new Map<string, DeployedServiceConfig>();

  constructor(scope: Construct, id: string, props: ServiceConfigsProps) {
    super(scope, id);
    this.props = props;
    this.bucket = new s3.Bucket(this, 'Bucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: props.accessLogsBucket,
      serverAccessLogsPrefix: 'service-configs/',
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
  }

  /** The stack-config directory the folders come from. */
  get stackConfigDir(): string {
    return this.props.stackConfigDir;
  }

  /** The path of a file of a service folder, to read at synth. */
  sourcePath(folder: string, file: string): string {
    return join(this.props.stackConfigDir, folder, file);
  }

  /**
   * Deploys stack-config/<folder> to the prefix <folder>/ (once per folder) and returns it. `generated`
   * files (relative path to text, built at synth from toilless.yaml) are added, or replace the folder's
   * file of the same name; they count in the hash like the others. They must be plain text: a
   * CloudFormation token in a file is refused.
   */
  deploy(folder: string, generated: Readonly<Record<string, string>> = {}): DeployedServiceConfig {
    if (!FOLDER.test(folder)) {
      throw new Error(
        `ServiceConfigs: "${folder}" is not a stack-config folder name: use a lower-case name such as "loki".`,
      );
    }
    for (const [file, content] of Object.entries(generated)) {
      if (!GENERATED_FILE.test(file)) {
        throw new Error(
          `ServiceConfigs: generated file "${file}" of ${folder} must be a relative path such as "prometheus.yml".`,
        );
      }
      if (Token.isUnresolved(content)) {
        throw new Error(
          `ServiceConfigs: generated file ${folder}/${file} holds a CloudFormation token: file contents must be known at synth (pass deploy-time values as environment variables).`,
        );
      }
    }
    const existing = this.deployed.get(folder);
    if (existing) {
      if (Object.keys(generated).length > 0) {
        throw new Error(
          `ServiceConfigs: ${folder} is already deployed: give its generated files on the first deploy().`,
        );
      }
      return existing;
    }
    const dir = join(this.props.stackConfigDir, folder);
    let hash: string;
    try {
      hash = configHash(dir, generated);
    } catch (error) {
      throw new Error(
        `ServiceConfigs: cannot read ${dir}: ${(error as Error).message}. Every service needs its folder under stack-config.`,
      );
    }
    const deployment = new s3deploy.BucketDeployment(this, `Deploy-${folder}`, {
      // Later sources win: a generated file replaces the folder's file of the same name.
      sources: [
        s3deploy.Source.asset(dir),
        ...Object.entries(generated).map(([file, content]) => s3deploy.Source.data(file, content)),
      ],
      destinationBucket: asIBucket(this.bucket),
      destinationKeyPrefix: `${folder}/`,
      // A file removed from the folder disappears from the task at its next start.
      prune: true,
      memoryLimit: 256,
    });
    const deployed = { folder, hash, deployment };
    this.deployed.set(folder, deployed);
    return deployed;
  }

  /**
   * Acknowledges the findings of the CDK's bucket-deployment handler (one per stack and memory size):
   * its code and role come with aws-cdk-lib and are not ours to change. Call once all folders are deployed.
   */
  acknowledgeDeploymentHandler(): void {
    const stack = Stack.of(this);
    const bucketId = stack.getLogicalId(this.bucket.node.defaultChild as s3.CfnBucket);
    const wildcards = ['s3:GetBucket*', 's3:GetObject*', 's3:List*', 's3:Abort*', 's3:DeleteObject*'];
    for (const child of stack.node.children) {
      if (!child.node.id.startsWith('Custom::CDKBucketDeployment')) continue;
      Validations.of(child).acknowledge(
        {
          id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
          reason:
            'The CDK bucket-deployment handler writes its logs with the basic execution policy, as aws-cdk-lib defines it.',
        },
        ...wildcards.map((action) => ({
          id: `AwsSolutions-IAM5[Action::${action}]`,
          reason:
            'aws-cdk-lib grants the bucket-deployment handler these actions on the CDK asset bucket and on the config bucket it copies into, nothing else.',
        })),
        {
          id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*]',
          reason: 'The handler reads the zipped stack-config folders from the CDK asset bucket.',
        },
        {
          id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/*]`,
          reason:
            'The handler writes (and prunes) every prefix of the config bucket, which holds only copies of stack-config.',
        },
        {
          id: 'AwsSolutions-L1',
          reason: 'The bucket-deployment handler runtime is chosen by aws-cdk-lib and moves with it.',
        },
      );
    }
  }

  /** Lets an init container list and read one folder's prefix, nothing else. */
  grantRead(grantee: iam.IGrantable, folder: string): void {
    const pattern = `${folder}/*`;
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [this.bucket.arnForObjects(pattern)] }),
    );
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [this.bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${folder}/`, pattern] } },
      }),
    );
    if (grantee.grantPrincipal instanceof Construct) {
      const logicalId = Stack.of(this).getLogicalId(this.bucket.node.defaultChild as s3.CfnBucket);
      Validations.of(grantee.grantPrincipal).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${logicalId}.Arn>/${pattern}]`,
        reason: `The init container reads every file of the service's own folder (${folder}/) and nothing else in the config bucket.`,
      });
    }
  }
}
