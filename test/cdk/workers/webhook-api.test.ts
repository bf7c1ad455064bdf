import { Duration } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebhookApi } from '../../../lib/workers/webhook-api.js';
import { ConstructTestStack } from '../app-fixture.js';

let fixture: ConstructTestStack;

beforeEach(() => {
  fixture = new ConstructTestStack();
});

afterEach(() => {
  fixture.dispose();
});

function receiver(id: string, timeout = Duration.seconds(10)): lambda.Function {
  return new lambda.Function(fixture.stack, id, {
    runtime: lambda.Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('export const handler = async () => ({ statusCode: 202 });'),
    timeout,
  });
}

describe('Webhook API', () => {
  it('routes POST /webhooks/<source> to the function and returns the URL under the default stage', () => {
    // Prepare
    const api = new WebhookApi(fixture.stack, 'Webhooks');

    // Act
    const url = api.addWebhook('pagerduty', receiver('Receiver'));

    // Assess
    const template = Template.fromStack(fixture.stack);
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: 'POST /webhooks/pagerduty' });
    template.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
      IntegrationType: 'AWS_PROXY',
      PayloadFormatVersion: '2.0',
    });
    const resolved = JSON.stringify(fixture.stack.resolve(url));
    expect(resolved).toContain('.execute-api.');
    expect(resolved).toMatch(/"\/webhooks\/pagerduty"\]\]\}$/);
    expect(api.webhookUrl('pagerduty')).toBe(url);
  });

  it('applies the throttling it is given to the default stage', () => {
    // Act
    new WebhookApi(fixture.stack, 'Webhooks', { throttlingRateLimit: 5, throttlingBurstLimit: 10 });

    // Assess
    Template.fromStack(fixture.stack).hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      DefaultRouteSettings: { ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 },
    });
  });

  it('refuses a function that may outlive API Gateway’s 30 s integration timeout', () => {
    // Prepare
    const api = new WebhookApi(fixture.stack, 'Webhooks');

    // Act
    const act = () => api.addWebhook('slow', receiver('Slow', Duration.seconds(60)));

    // Assess
    expect(act).toThrow(
      /timeout of 1 minute exceeds API Gateway's 30 s integration limit: set it to at most 29 seconds/,
    );
  });

  it('refuses a second function for the same source', () => {
    // Prepare
    const api = new WebhookApi(fixture.stack, 'Webhooks');
    api.addWebhook('github', receiver('First'));

    // Act
    const act = () => api.addWebhook('github', receiver('Second'));

    // Assess
    expect(act).toThrow(/POST \/webhooks\/github is already routed/);
  });

  it('refuses a source that is not a path segment', () => {
    // Prepare
    const api = new WebhookApi(fixture.stack, 'Webhooks');

    // Act
    const act = () => api.addWebhook('Git Hub', receiver('Receiver'));

    // Assess
    expect(act).toThrow(/"Git Hub" is not a path segment/);
  });

  it('says which call is missing when asked for the URL of an unknown source', () => {
    // Prepare
    const api = new WebhookApi(fixture.stack, 'Webhooks');

    // Act
    const act = () => api.webhookUrl('alertmanager');

    // Assess
    expect(act).toThrow(/call addWebhook\('alertmanager', fn\) first/);
  });

  it.each([
    [{ throttlingRateLimit: 0 }, /throttlingRateLimit 0 would refuse every delivery/],
    [{ throttlingBurstLimit: 0 }, /throttlingBurstLimit 0 would refuse every delivery/],
  ])('refuses throttling that lets nothing through (%o)', (props, message) => {
    // Act
    const act = () => new WebhookApi(fixture.stack, 'Webhooks', props);

    // Assess
    expect(act).toThrow(message);
  });
});
