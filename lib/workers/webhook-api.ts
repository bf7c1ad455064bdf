import { Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/** API Gateway gives up on an integration after 30 s; a slower function would keep running unheard. */
const MAX_INTEGRATION_SECONDS = 29;

export interface WebhookApiProps {
  /** Name of the HTTP API. @default "toilless-webhooks" */
  readonly apiName?: string;
  /** Steady-state requests per second the stage accepts. @default 50 */
  readonly throttlingRateLimit?: number;
  /** Requests the stage accepts in a burst above the rate. @default 100 */
  readonly throttlingBurstLimit?: number;
  /** How long the access log group keeps logs. @default logs.RetentionDays.ONE_MONTH */
  readonly accessLogRetention?: logs.RetentionDays;
}

/**
 * The public HTTP API the outside world delivers webhooks to: `POST /webhooks/<source>`, one Lambda
 * function per source, payload format 2.0, JSON access logs, stage-wide throttling.
 * Authentication happens in the functions (bearer token, HMAC signature over the body).
 */
export class WebhookApi extends Construct {
  /** The HTTP API. */
  readonly httpApi: apigwv2.HttpApi;
  /** The `$default` stage, auto-deployed. */
  readonly stage: apigwv2.HttpStage;
  /** The access log group of the stage. */
  readonly accessLogGroup: logs.LogGroup;
  private readonly urls = new Map<string, string>();

  constructor(scope: Construct, id: string, props: WebhookApiProps = {}) {
    super(scope, id);
    const rateLimit = props.throttlingRateLimit ?? 50;
    const burstLimit = props.throttlingBurstLimit ?? 100;
    if (!(rateLimit > 0)) {
      throw new Error(
        `WebhookApi: throttlingRateLimit ${rateLimit} would refuse every delivery: use a positive rate.`,
      );
    }
    if (!Number.isInteger(burstLimit) || burstLimit < 1) {
      throw new Error(
        `WebhookApi: throttlingBurstLimit ${burstLimit} would refuse every delivery: use a whole number of at least 1.`,
      );
    }

    this.httpApi = new apigwv2.HttpApi(this, 'Api', {
      apiName: props.apiName ?? 'toilless-webhooks',
      description: 'Webhook intake for toilless: Alertmanager and GitHub deliveries',
      createDefaultStage: false,
    });
    this.accessLogGroup = new logs.LogGroup(this, 'AccessLogs', {
      retention: props.accessLogRetention ?? logs.RetentionDays.ONE_MONTH,
    });
    this.stage = this.httpApi.addStage('DefaultStage', {
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit, burstLimit },
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(this.accessLogGroup),
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            time: '$context.requestTime',
            sourceIp: '$context.identity.sourceIp',
            userAgent: '$context.identity.userAgent',
            routeKey: '$context.routeKey',
            status: '$context.status',
            responseLength: '$context.responseLength',
            latencyMs: '$context.responseLatency',
            integrationStatus: '$context.integrationStatus',
            integrationLatencyMs: '$context.integrationLatency',
            integrationError: '$context.integrationErrorMessage',
            error: '$context.error.message',
          }),
        ),
      },
    });
    Validations.of(this.httpApi).acknowledge({
      id: 'AwsSolutions-APIG4',
      reason:
        'Webhook senders cannot use IAM or JWT: the functions check the Alertmanager bearer token and the GitHub HMAC signature, which is computed over the body an authorizer never sees.',
    });
  }

  /**
   * Routes `POST /webhooks/<source>` to the function and returns the URL to configure at the sender.
   * The function must answer within 29 s, API Gateway's integration limit.
   */
  addWebhook(source: string, handler: lambda.IFunction): string {
    if (!/^[a-z][a-z0-9-]*$/.test(source)) {
      throw new Error(
        `WebhookApi: webhook source "${source}" is not a path segment: use lower-case letters, digits and dashes.`,
      );
    }
    if (this.urls.has(source)) {
      throw new Error(
        `WebhookApi: POST /webhooks/${source} is already routed: give each webhook source one function.`,
      );
    }
    const timeout = handler instanceof lambda.Function ? handler.timeout : undefined;
    if (timeout && timeout.toSeconds() > MAX_INTEGRATION_SECONDS) {
      throw new Error(
        `WebhookApi: the ${source} function's timeout of ${timeout.toHumanString()} exceeds API Gateway's 30 s integration limit: set it to at most ${MAX_INTEGRATION_SECONDS} seconds.`,
      );
    }
    const integrationId = `${source.replace(/(^|-)([a-z0-9])/g, (_match, _dash, char: string) => char.toUpperCase())}Integration`;
    this.httpApi.addRoutes({
      path: `/webhooks/${source}`,
      methods: [apigwv2.HttpMethod.POST],
      integration: new HttpLambdaIntegration(integrationId, handler, {
        payloadFormatVersion: apigwv2.PayloadFormatVersion.VERSION_2_0,
      }),
    });
    const url = `${this.stage.url}webhooks/${source}`;
    this.urls.set(source, url);
    return url;
  }

  /** The URL of a webhook added with addWebhook. */
  webhookUrl(source: string): string {
    const url = this.urls.get(source);
    if (url === undefined) {
      throw new Error(`WebhookApi: no webhook "${source}": call addWebhook('${source}', fn) first.`);
    }
    return url;
  }
}
