import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { asIBucket } from '../cdk-interfaces.js';

export interface StoreBucketProps {
  /** What happens to the buckets when the stack is deleted or they are replaced. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
  /** Days before an overwritten or deleted object version is removed. @default 30 */
  readonly noncurrentVersionExpirationDays?: number;
  /** Days the webhook delivery dedupe records under `webhooks/` and the claim-checked payloads under `claim-check/` are kept. @default 30 */
  readonly deliveryRecordExpirationDays?: number;
  /** An existing bucket that receives the server access logs. @default - a logs bucket is created */
  readonly accessLogsBucket?: s3.IBucket;
  /** Days the created access logs bucket keeps logs; only when accessLogsBucket is not given. @default 90 */
  readonly accessLogsExpirationDays?: number;
  /**
   * Days each kind of record is kept, counted from its last write (toilless.yaml `retention`); a kind
   * left out is kept forever. @default - everything is kept
   */
  readonly retentionDays?: StoreRetentionDays;
}

/** Days after their last write that records expire, by kind; undefined keeps them. */
export interface StoreRetentionDays {
  /** Timelines, group pointers and the deploy index under incidents/. @default - kept */
  readonly incidents?: number | undefined;
  /** DORA deployment records under deployments/. @default - kept */
  readonly deployments?: number | undefined;
  /** Weekly reports under reports/. @default - kept */
  readonly reports?: number | undefined;
}

/** The store prefix of each kind of record with a retention. */
const RETAINED_PREFIXES: Readonly<Record<keyof StoreRetentionDays, string>> = {
  incidents: 'incidents/',
  deployments: 'deployments/',
  reports: 'reports/',
};

/**
 * The store behind the ObjectStore port on AWS: incidents/, deployments/, reports/ and the webhook
 * delivery records under webhooks/. Private, TLS-only, versioned, with server access logs.
 */
export class StoreBucket extends Construct {
  /** The store bucket; its name is TOILLESS_BUCKET. */
  readonly bucket: s3.Bucket;
  /** Where the store's server access logs go. */
  readonly accessLogsBucket: s3.IBucket;

  constructor(scope: Construct, id: string, props: StoreBucketProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const noncurrentDays = days('noncurrentVersionExpirationDays', props.noncurrentVersionExpirationDays, 30);
    const deliveryDays = days('deliveryRecordExpirationDays', props.deliveryRecordExpirationDays, 30);
    const retentionRules = Object.entries(RETAINED_PREFIXES).flatMap(([kind, prefix]) => {
      const value = props.retentionDays?.[kind as keyof StoreRetentionDays];
      if (value === undefined) return [];
      const kept = days(`retentionDays.${kind}`, value, value);
      const id = `Expire${kind[0]?.toUpperCase()}${kind.slice(1)}`;
      return [{ id, prefix, expiration: Duration.days(kept) }];
    });
    if (props.accessLogsBucket && props.accessLogsExpirationDays !== undefined) {
      throw new Error(
        'StoreBucket: accessLogsExpirationDays only applies to the logs bucket this construct creates: set the expiration on the accessLogsBucket you pass instead.',
      );
    }

    this.accessLogsBucket =
      props.accessLogsBucket ?? asIBucket(this.createAccessLogsBucket(removalPolicy, props));
    this.bucket = new s3.Bucket(this, 'Bucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      versioned: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: 'store/',
      removalPolicy,
      lifecycleRules: [
        { id: 'ExpireNoncurrentVersions', noncurrentVersionExpiration: Duration.days(noncurrentDays) },
        { id: 'ExpireDeliveryRecords', prefix: 'webhooks/', expiration: Duration.days(deliveryDays) },
        // Payloads too large for the bus, stored by the intakes; consumers read them within the retry window.
        { id: 'ExpireClaimChecks', prefix: 'claim-check/', expiration: Duration.days(deliveryDays) },
        ...retentionRules,
        // Expired records leave delete markers behind in a versioned bucket; drop the lone ones.
        { id: 'RemoveExpiredDeleteMarkers', expiredObjectDeleteMarker: true },
        { id: 'AbortIncompleteUploads', abortIncompleteMultipartUploadAfter: Duration.days(7) },
      ],
    });
  }

  /**
   * Lets the grantee get, put (conditional puts included) and delete the objects whose keys match the
   * patterns (such as `incidents/*`), and list the bucket under those patterns only (an s3:prefix
   * condition), so that a worker cannot enumerate keys another worker owns.
   */
  grantObjectReadWrite(grantee: iam.IGrantable, keyPatterns: readonly string[]): void {
    this.grantObjects(
      grantee,
      keyPatterns,
      ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
      'grantObjectReadWrite',
    );
  }

  private grantObjects(
    grantee: iam.IGrantable,
    keyPatterns: readonly string[],
    actions: readonly string[],
    grant: string,
  ): void {
    for (const pattern of keyPatterns) assertScopedKeyPattern(pattern, grant);
    if (keyPatterns.length === 0) {
      throw new Error(
        `StoreBucket.${grant}: no key patterns given: name the prefixes the worker owns, such as "incidents/*".`,
      );
    }
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: [...actions],
        resources: keyPatterns.map((pattern) => this.bucket.arnForObjects(pattern)),
      }),
    );
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [this.bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [...keyPatterns] } },
      }),
    );
    if (grantee.grantPrincipal instanceof Construct) {
      const logicalId = Stack.of(this).getLogicalId(this.bucket.node.defaultChild as s3.CfnBucket);
      for (const pattern of keyPatterns) {
        Validations.of(grantee.grantPrincipal).acknowledge({
          id: `AwsSolutions-IAM5[Resource::<${logicalId}.Arn>/${pattern}]`,
          reason: `Store objects are addressed by key at run time (${pattern} in the toilless store bucket); actions are limited to ${actions
            .map((action) => action.replace('s3:', ''))
            .join(', ')
            .replace(/, ([^,]*)$/, ' and $1')}.`,
        });
      }
    }
  }

  private createAccessLogsBucket(removalPolicy: RemovalPolicy, props: StoreBucketProps): s3.Bucket {
    const expirationDays = days('accessLogsExpirationDays', props.accessLogsExpirationDays, 90);
    const logs = new s3.Bucket(this, 'AccessLogs', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      // Server access logging delivers only to buckets encrypted with S3-managed keys.
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy,
      lifecycleRules: [{ id: 'ExpireAccessLogs', expiration: Duration.days(expirationDays) }],
    });
    Validations.of(logs).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'This bucket is the server access log destination; logging its own access would log the log writes.',
    });
    return logs;
  }

  /**
   * Lets the grantee create objects under the patterns and read them back, but not delete them, and list
   * the bucket under those patterns only (so that a read of a missing key is told from a refusal).
   */
  grantObjectCreate(grantee: iam.IGrantable, keyPatterns: readonly string[]): void {
    this.grantObjects(grantee, keyPatterns, ['s3:GetObject', 's3:PutObject'], 'grantObjectCreate');
  }

  /** Lets the grantee get (only) the objects whose keys match the pattern, e.g. `claim-check/*`. */
  grantObjectRead(grantee: iam.IGrantable, keyPattern: string): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject'],
        resources: [this.bucket.arnForObjects(keyPattern)],
      }),
    );
    if (grantee.grantPrincipal instanceof Construct) {
      const logicalId = Stack.of(this).getLogicalId(this.bucket.node.defaultChild as s3.CfnBucket);
      Validations.of(grantee.grantPrincipal).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${logicalId}.Arn>/${keyPattern}]`,
        reason: `Store objects are read by key at run time (${keyPattern} in the toilless store bucket); the only action is GetObject.`,
      });
    }
  }
}

/** A grant names the prefix it owns: `incidents/*`, never `*` or a pattern that starts with one. */
function assertScopedKeyPattern(pattern: string, grant: string): void {
  if (!/^[A-Za-z0-9_.-]+\/([A-Za-z0-9_.-]+\/)*\*$/.test(pattern)) {
    throw new Error(
      `StoreBucket.${grant}: key pattern "${pattern}" does not name a prefix: use "<prefix>/*", such as "incidents/*", so that the grant covers only the keys the worker owns.`,
    );
  }
}

function days(name: string, value: number | undefined, fallback: number): number {
  const result = value ?? fallback;
  if (!Number.isInteger(result) || result < 1) {
    throw new Error(
      `StoreBucket: ${name} ${result} is not a whole number of days: use an integer of at least 1.`,
    );
  }
  return result;
}
