import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

/** The object actions Loki and Tempo need on their chunks and blocks. */
export const TELEMETRY_OBJECT_ACTIONS = ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'] as const;

export interface TelemetryBucketProps {
  /** Days the service itself keeps data (Loki's retention_period, Tempo's block_retention). */
  readonly retentionDays: number;
  /** Days the lifecycle rule waits beyond the retention before it expires objects. @default 7 */
  readonly expirationMarginDays?: number;
  /** Where the server access logs go. */
  readonly accessLogsBucket: s3.IBucket;
  /** Prefix of this bucket's access logs in accessLogsBucket. */
  readonly accessLogsPrefix: string;
  /** What happens to the bucket when the stack is deleted. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The bucket Loki's chunks and index or Tempo's blocks live in: private, encrypted, TLS only, and a
 * lifecycle expiry later than the service's own retention (expiring first would leave it reading
 * deleted objects), with incomplete multipart uploads aborted after a day.
 */
export class TelemetryBucket extends Construct {
  /** The bucket. */
  readonly bucket: s3.Bucket;
  /** Days after which the lifecycle rule expires objects. */
  readonly expirationDays: number;

  constructor(scope: Construct, id: string, props: TelemetryBucketProps) {
    super(scope, id);
    if (!Number.isInteger(props.retentionDays) || props.retentionDays < 1) {
      throw new Error(
        `TelemetryBucket: retentionDays must be a whole number of days of at least 1 (got ${props.retentionDays}).`,
      );
    }
    const margin = props.expirationMarginDays ?? 7;
    if (!Number.isInteger(margin) || margin < 1) {
      throw new Error(
        `TelemetryBucket: expirationMarginDays must be at least 1: the bucket must keep objects longer than the service does (got ${margin}).`,
      );
    }
    this.expirationDays = props.retentionDays + margin;
    this.bucket = new s3.Bucket(this, 'Bucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: props.accessLogsBucket,
      serverAccessLogsPrefix: props.accessLogsPrefix,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      lifecycleRules: [
        { id: 'ExpireAfterRetention', expiration: Duration.days(this.expirationDays) },
        { id: 'AbortIncompleteUploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
    });
  }

  /** Grants exactly what the service needs: list the bucket, get/put/delete its objects, plus `extraObjectActions`. */
  grantStorage(grantee: iam.IGrantable, extraObjectActions: readonly string[] = []): void {
    this.grantObjectActions(grantee, [...TELEMETRY_OBJECT_ACTIONS, ...extraObjectActions]);
  }

  /**
   * Grants listing the bucket and exactly `objectActions` on its objects: the parts of a scaled-out
   * service need less than the whole (Loki's read path only lists and gets).
   */
  grantObjectActions(grantee: iam.IGrantable, objectActions: readonly string[]): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [this.bucket.bucketArn] }),
    );
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: [...objectActions],
        resources: [this.bucket.arnForObjects('*')],
      }),
    );
    if (grantee.grantPrincipal instanceof Construct) {
      const logicalId = Stack.of(this).getLogicalId(this.bucket.node.defaultChild as s3.CfnBucket);
      Validations.of(grantee.grantPrincipal).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${logicalId}.Arn>/*]`,
        reason:
          'The service owns every object of its own bucket: its chunks, index or blocks are written under keys it chooses.',
      });
    }
  }
}
