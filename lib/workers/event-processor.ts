import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { EVENT_SOURCE, type EventType } from '../../functions/shared/events/types.js';
import { WorkerFunction, type WorkerFunctionProps } from './worker-function.js';

export interface EventProcessorProps extends Omit<WorkerFunctionProps, 'deadLetterQueue' | 'retryAttempts'> {
  /** The bus the processor subscribes to. */
  readonly eventBus: events.IEventBus;
  /**
   * The toilless event types (detail-types) delivered to the processor; none for a processor that only
   * runs on schedules (then there is no rule).
   */
  readonly detailTypes: readonly EventType[];
  /** Times EventBridge retries delivering an event to the function (0 to 185). @default 4 */
  readonly deliveryRetryAttempts?: number;
  /** How long EventBridge keeps retrying delivery of an event (1 min to 24 h). @default Duration.hours(2) */
  readonly maxEventAge?: Duration;
}

/**
 * A worker subscribed to toilless events on the bus. Events that cannot be delivered, and events the
 * function still fails on after Lambda's retries, land in one dead-letter queue to inspect and redrive.
 */
export class EventProcessor extends Construct {
  /** The worker function. */
  readonly worker: WorkerFunction;
  /** The rule matching the processor's detail-types from source "toilless"; none without detail-types. */
  readonly rule: events.Rule | undefined;
  /** Events the processor could not take: undeliverable, or failing after every retry. */
  readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: EventProcessorProps) {
    super(scope, id);
    const detailTypes = checkedDetailTypes(props);
    const deliveryRetryAttempts = props.deliveryRetryAttempts ?? 4;
    const maxEventAge = props.maxEventAge ?? Duration.hours(2);
    checkDelivery(props.worker, deliveryRetryAttempts, maxEventAge);

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetters', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // The longest SQS allows: failures found after a long weekend can still be redriven.
      retentionPeriod: Duration.days(14),
    });
    const {
      eventBus: _bus,
      detailTypes: _types,
      deliveryRetryAttempts: _retries,
      maxEventAge: _age,
      ...worker
    } = props;
    this.worker = new WorkerFunction(this, 'Worker', {
      ...worker,
      // EventBridge invokes asynchronously: its target DLQ only sees delivery failures, this one the function's.
      deadLetterQueue: this.deadLetterQueue,
      retryAttempts: 2,
    });
    if (detailTypes.length === 0) {
      this.rule = undefined;
      return;
    }
    this.rule = new events.Rule(this, 'Rule', {
      eventBus: props.eventBus,
      description: `toilless ${props.worker}: ${detailTypes.join(', ')}`,
      eventPattern: { source: [EVENT_SOURCE], detailType: [...detailTypes] },
      targets: [
        new targets.LambdaFunction(this.worker.function, {
          deadLetterQueue: this.deadLetterQueue,
          retryAttempts: deliveryRetryAttempts,
          maxEventAge,
        }),
      ],
    });
  }
}

function checkedDetailTypes(props: EventProcessorProps): readonly EventType[] {
  const repeated = props.detailTypes.find((type, index) => props.detailTypes.indexOf(type) !== index);
  if (repeated) {
    throw new Error(`EventProcessor ${props.worker}: detail-type ${repeated} is listed twice: list it once.`);
  }
  return props.detailTypes;
}

function checkDelivery(worker: string, retryAttempts: number, maxEventAge: Duration): void {
  if (!Number.isInteger(retryAttempts) || retryAttempts < 0 || retryAttempts > 185) {
    throw new Error(
      `EventProcessor ${worker}: deliveryRetryAttempts ${retryAttempts} is outside EventBridge's 0-185: pick a whole number in that range.`,
    );
  }
  const seconds = maxEventAge.toSeconds();
  if (seconds < 60 || seconds > 86_400) {
    throw new Error(
      `EventProcessor ${worker}: maxEventAge ${maxEventAge.toHumanString()} is outside EventBridge's 1 minute to 24 hours: pick a value in that range.`,
    );
  }
}
