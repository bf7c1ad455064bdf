import { Duration, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import { Construct } from 'constructs';

export interface ToillessEventBusProps {
  /** Name of the custom event bus; unique per account and region. @default "toilless" */
  readonly eventBusName?: string;
  /** How long the archive keeps events for replay, in whole days. @default Duration.days(30) */
  readonly archiveRetention?: Duration;
}

/** The custom EventBridge bus every toilless event travels on, archived so that events can be replayed. */
export class ToillessEventBus extends Construct {
  /** The bus: producers get events:PutEvents on it, processors subscribe with rules. */
  readonly bus: events.EventBus;
  /** The archive of everything put on the bus. */
  readonly archive: events.Archive;

  constructor(scope: Construct, id: string, props: ToillessEventBusProps = {}) {
    super(scope, id);
    const eventBusName = props.eventBusName ?? 'toilless';
    if (!/^[A-Za-z0-9._-]{1,256}$/.test(eventBusName) || eventBusName === 'default') {
      throw new Error(
        `ToillessEventBus: "${eventBusName}" is not a custom bus name: use 1-256 letters, digits, dots, dashes or underscores, and not "default".`,
      );
    }
    const retention = props.archiveRetention ?? Duration.days(30);
    const days = retention.toHours() / 24;
    if (!Number.isInteger(days) || days < 1) {
      throw new Error(
        `ToillessEventBus: archiveRetention ${retention.toHumanString()} is not a whole number of days: use Duration.days(n) with n >= 1.`,
      );
    }

    this.bus = new events.EventBus(this, 'Bus', {
      eventBusName,
      description: 'toilless events: alerts, GitHub deliveries, incidents, deployments, reports',
    });
    this.archive = this.bus.archive('Archive', {
      description: `Every event on the ${eventBusName} bus, for replay after a processor fix`,
      // Every event on this bus comes from this account's producers: archive them all.
      eventPattern: { account: [Stack.of(this).account] },
      retention,
    });
  }
}
