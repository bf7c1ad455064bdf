import { Duration } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ToillessEventBus } from '../../../lib/workers/toilless-event-bus.js';
import { ConstructTestStack } from '../app-fixture.js';

let fixture: ConstructTestStack;

beforeEach(() => {
  fixture = new ConstructTestStack();
});

afterEach(() => {
  fixture.dispose();
});

describe('Toilless event bus', () => {
  it('archives every event of the account on the named bus for the retention it is given', () => {
    // Act
    const events = new ToillessEventBus(fixture.stack, 'Events', {
      eventBusName: 'toilless-staging',
      archiveRetention: Duration.days(90),
    });

    // Assess
    const template = Template.fromStack(fixture.stack);
    template.hasResourceProperties('AWS::Events::EventBus', { Name: 'toilless-staging' });
    template.hasResourceProperties('AWS::Events::Archive', {
      SourceArn: { 'Fn::GetAtt': [fixture.stack.getLogicalId(events.bus.node.defaultChild as never), 'Arn'] },
      EventPattern: { account: [{ Ref: 'AWS::AccountId' }] },
      RetentionDays: 90,
    });
  });

  it.each([
    [
      { archiveRetention: Duration.hours(36) },
      /archiveRetention 1 day 12 hours is not a whole number of days/,
    ],
    [{ archiveRetention: Duration.hours(1) }, /archiveRetention 1 hour is not a whole number of days/],
    [{ eventBusName: 'default' }, /"default" is not a custom bus name/],
    [{ eventBusName: 'toilless bus' }, /"toilless bus" is not a custom bus name/],
  ])('refuses %o with a sentence saying what to change', (props, message) => {
    // Act
    const act = () => new ToillessEventBus(fixture.stack, 'Events', props);

    // Assess
    expect(act).toThrow(message);
  });
});
