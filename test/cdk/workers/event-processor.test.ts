import { Duration } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import { afterEach, describe, expect, it } from 'vitest';
import { asIEventBus } from '../../../lib/cdk-interfaces.js';
import { EventProcessor, type EventProcessorProps } from '../../../lib/workers/event-processor.js';
import { ConstructTestStack } from '../app-fixture.js';

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation JSON is walked structurally
type Json = any;

let fixture: ConstructTestStack | undefined;

afterEach(() => {
  fixture?.dispose();
  fixture = undefined;
});

function logicalIdOf(construct: { node: { defaultChild?: unknown } } | undefined): string {
  if (!construct) throw new Error('the construct is missing');
  return fixture!.stack.getLogicalId(construct.node.defaultChild as never);
}

function processorOn(
  stack: ConstructTestStack,
  props: Partial<EventProcessorProps> = {},
): { processor: EventProcessor; bus: events.EventBus } {
  const bus = new events.EventBus(stack.stack, 'Bus', { eventBusName: 'toilless-test' });
  const processor = new EventProcessor(stack.stack, 'Processor', {
    worker: 'github-webhook',
    eventBus: asIEventBus(bus),
    detailTypes: ['IncidentOpened', 'IncidentResolved'],
    ...props,
  });
  return { processor, bus };
}

describe('Event processor', () => {
  it('subscribes to exactly its detail-types from source toilless on the bus it is given', () => {
    // Prepare
    fixture = new ConstructTestStack();

    // Act
    const { processor, bus } = processorOn(fixture);

    // Assess
    const rule = Template.fromStack(fixture.stack).toJSON().Resources[logicalIdOf(processor.rule)].Properties;
    expect(rule.EventBusName).toEqual({ Ref: logicalIdOf(bus) });
    expect(rule.EventPattern).toEqual({
      source: ['toilless'],
      'detail-type': ['IncidentOpened', 'IncidentResolved'],
    });
    expect(rule.Targets).toHaveLength(1);
    expect(rule.Targets[0].Arn).toEqual({ 'Fn::GetAtt': [logicalIdOf(processor.worker.function), 'Arn'] });
  });

  it('retries delivery 4 times for up to 2 hours, then sends the event to its dead-letter queue', () => {
    // Prepare
    fixture = new ConstructTestStack();

    // Act
    const { processor } = processorOn(fixture);

    // Assess
    const target = Template.fromStack(fixture.stack).toJSON().Resources[logicalIdOf(processor.rule)]
      .Properties.Targets[0];
    expect(target.RetryPolicy).toEqual({ MaximumRetryAttempts: 4, MaximumEventAgeInSeconds: 7200 });
    expect(target.DeadLetterConfig).toEqual({
      Arn: { 'Fn::GetAtt': [logicalIdOf(processor.deadLetterQueue), 'Arn'] },
    });
  });

  it('sends events the function still fails on after 2 Lambda retries to the same queue', () => {
    // Prepare
    fixture = new ConstructTestStack();

    // Act
    const { processor } = processorOn(fixture);

    // Assess
    const template = Template.fromStack(fixture.stack);
    const queueArn = { 'Fn::GetAtt': [logicalIdOf(processor.deadLetterQueue), 'Arn'] };
    template.hasResourceProperties('AWS::Lambda::Function', { DeadLetterConfig: { TargetArn: queueArn } });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: logicalIdOf(processor.worker.function) },
      MaximumRetryAttempts: 2,
    });
  });

  it('keeps dead letters encrypted for 14 days, accepts them over TLS only and from its own rule only', () => {
    // Prepare
    fixture = new ConstructTestStack();

    // Act
    const { processor } = processorOn(fixture);

    // Assess
    const template = Template.fromStack(fixture.stack);
    const queueId = logicalIdOf(processor.deadLetterQueue);
    expect(template.toJSON().Resources[queueId].Properties).toEqual({
      MessageRetentionPeriod: 1_209_600,
      SqsManagedSseEnabled: true,
    });
    const policy = Object.values<Json>(template.findResources('AWS::SQS::QueuePolicy')).find(
      (candidate) => candidate.Properties.Queues[0].Ref === queueId,
    );
    expect(policy.Properties.PolicyDocument.Statement).toEqual([
      expect.objectContaining({
        Effect: 'Deny',
        Action: 'sqs:*',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      }),
      expect.objectContaining({
        Effect: 'Allow',
        Action: 'sqs:SendMessage',
        Principal: { Service: 'events.amazonaws.com' },
        Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [logicalIdOf(processor.rule), 'Arn'] } } },
      }),
    ]);
  });

  it('passes the AWS Solutions checks on its own', () => {
    // Prepare
    fixture = new ConstructTestStack({ awsSolutionsChecks: true });
    processorOn(fixture);

    // Act
    const act = () => Template.fromStack(fixture!.stack);

    // Assess
    expect(act).not.toThrow();
  });

  it('applies the delivery retries and event age it is given', () => {
    // Prepare
    fixture = new ConstructTestStack();

    // Act
    const { processor } = processorOn(fixture, {
      deliveryRetryAttempts: 10,
      maxEventAge: Duration.hours(6),
    });

    // Assess
    const target = Template.fromStack(fixture.stack).toJSON().Resources[logicalIdOf(processor.rule)]
      .Properties.Targets[0];
    expect(target.RetryPolicy).toEqual({ MaximumRetryAttempts: 10, MaximumEventAgeInSeconds: 21_600 });
  });

  it('creates no rule for a processor that only runs on schedules', () => {
    // Prepare
    fixture = new ConstructTestStack();

    // Act
    const { processor } = processorOn(fixture, { detailTypes: [] });

    // Assess
    expect(processor.rule).toBeUndefined();
    Template.fromStack(fixture.stack).resourceCountIs('AWS::Events::Rule', 0);
  });

  it.each([
    [{ detailTypes: ['GitHubPush', 'GitHubPush'] }, /detail-type GitHubPush is listed twice: list it once/],
    [{ deliveryRetryAttempts: 200 }, /deliveryRetryAttempts 200 is outside EventBridge's 0-185/],
    [
      { maxEventAge: Duration.seconds(30) },
      /maxEventAge 30 seconds is outside EventBridge's 1 minute to 24 hours/,
    ],
    [{ maxEventAge: Duration.days(2) }, /maxEventAge 2 days is outside EventBridge's 1 minute to 24 hours/],
  ] as const)('refuses %o with a sentence saying what to change', (props, message) => {
    // Prepare
    fixture = new ConstructTestStack();

    // Act
    const act = () => processorOn(fixture!, props as Partial<EventProcessorProps>);

    // Assess
    expect(act).toThrow(message);
  });
});
