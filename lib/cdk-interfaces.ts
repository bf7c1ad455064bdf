import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import type * as events from 'aws-cdk-lib/aws-events';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';

/*
 * aws-cdk-lib types some getters of its L2 classes `T | undefined` where the interface the class implements
 * says `x?: T` (aws/aws-cdk#37996), so under exactOptionalPropertyTypes a Bucket does not type-check as an
 * IBucket. It is the same object at runtime: these views say so in one place. Drop them once aws-cdk-lib is fixed.
 */

export const asIBucket = (bucket: s3.Bucket): s3.IBucket => bucket as s3.IBucket;
export const asISecret = (secret: secretsmanager.Secret | secretsmanager.ISecret): secretsmanager.ISecret =>
  secret as secretsmanager.ISecret;
export const asIVpc = (vpc: ec2.Vpc): ec2.IVpc => vpc as ec2.IVpc;
export const asICluster = (cluster: ecs.Cluster): ecs.ICluster => cluster as ecs.ICluster;
export const asIEventBus = (bus: events.EventBus): events.IEventBus => bus as events.IEventBus;
