import { Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { CfnResource } from 'aws-cdk-lib/core';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import type { AlertmanagerServiceReference } from './lgtm-stack-access.js';

export interface AlertmanagerReceiverProps {
  /** The URL of the workers' Alertmanager webhook. */
  readonly webhookUrl: string;
  /** The secret Alertmanager's toilless receiver reads its URL from (owned by the observability stack). */
  readonly receiverUrlSecret: secretsmanager.ISecret;
  /** Alertmanager's ECS service, restarted so that its init container reads the new URL. */
  readonly alertmanager: AlertmanagerServiceReference;
  /** How long the custom resource's logs are kept. @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * Points Alertmanager's toilless receiver at the workers' webhook. The observability stack is deployed
 * first and cannot know the API's URL, so this stack writes it into the receiver-URL secret and then
 * restarts Alertmanager, whose init container puts it into alertmanager.yml. Both calls run again when
 * the URL changes, and only then.
 */
export class AlertmanagerReceiver extends Construct {
  /** Writes the URL into the secret. */
  readonly writeUrl: cr.AwsCustomResource;
  /** Starts a new Alertmanager deployment once the URL is written. */
  readonly restartAlertmanager: cr.AwsCustomResource;

  constructor(scope: Construct, id: string, props: AlertmanagerReceiverProps) {
    super(scope, id);
    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
    });
    const common = { installLatestAwsSdk: false, logGroup } as const;
    this.writeUrl = new cr.AwsCustomResource(this, 'WriteUrl', {
      ...common,
      onUpdate: {
        service: 'SecretsManager',
        action: 'putSecretValue',
        parameters: { SecretId: props.receiverUrlSecret.secretArn, SecretString: props.webhookUrl },
        physicalResourceId: cr.PhysicalResourceId.of('alertmanager-receiver-url'),
      },
      policy: cr.AwsCustomResourcePolicy.fromStatements([
        new iam.PolicyStatement({
          actions: ['secretsmanager:PutSecretValue'],
          resources: [props.receiverUrlSecret.secretArn],
        }),
      ]),
    });
    this.restartAlertmanager = new cr.AwsCustomResource(this, 'RestartAlertmanager', {
      ...common,
      onUpdate: {
        service: 'ECS',
        action: 'updateService',
        parameters: {
          cluster: props.alertmanager.clusterName,
          service: props.alertmanager.serviceName,
          forceNewDeployment: true,
        },
        physicalResourceId: cr.PhysicalResourceId.of('alertmanager-receiver-restart'),
      },
      policy: cr.AwsCustomResourcePolicy.fromStatements([
        new iam.PolicyStatement({
          actions: ['ecs:UpdateService'],
          resources: [props.alertmanager.serviceArn],
        }),
      ]),
    });
    // The provider ignores this property; CloudFormation sees it change with the URL and runs the update.
    (
      this.restartAlertmanager.node.findChild('Resource').node.defaultChild as CfnResource
    ).addPropertyOverride('ReceiverUrl', props.webhookUrl);
    this.restartAlertmanager.node.addDependency(this.writeUrl);
    this.acknowledgeProviderFindings();
  }

  /** The findings of the provider function aws-cdk-lib brings (one per stack). */
  private acknowledgeProviderFindings(): void {
    const stack = Stack.of(this);
    const provider = stack.node.tryFindChild(PROVIDER_ID);
    if (!provider) return;
    Validations.of(provider).acknowledge(
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason:
          'The provider function of aws-cdk-lib custom resources writes its logs with the basic execution policy, as aws-cdk-lib defines it.',
      },
      {
        id: 'AwsSolutions-L1',
        reason: 'The custom-resource provider runtime is chosen by aws-cdk-lib and moves with it.',
      },
    );
  }
}

/** The construct id aws-cdk-lib gives its singleton custom-resource provider function. */
const PROVIDER_ID = 'AWS679f53fac002430cb0da5b7982bd2287';
