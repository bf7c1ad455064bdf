/**
 * The intake's corpus of hostile and oversized input: what an attacker who can post alerts to
 * Alertmanager, or replay a captured GitHub delivery, sends. The intake tests run each entry; the
 * corpus test runs all of them against both intakes (never a 5xx, never a crash). Add every hostile
 * payload a test uses here.
 */

/** Repository full names GitHub would never send, or that the store cannot hold. */
export const hostileRepositoryNames: readonly string[] = [
  '../..',
  'octo/..',
  'octo/.',
  'octo/.toilless-lock-x',
  'octo/.TOILLESS-tmp-1',
  '../octo',
  '-octo/app',
  'octo-/app',
  'oc--to/app',
  `${'o'.repeat(40)}/app`,
  `octo/${'r'.repeat(101)}`,
  'octo/a b',
  'octo/app/extra',
  'octo',
  'octo/app%2F..',
  'octo/app\u0000',
  '',
];

/** Environment names GitHub would never send, or that the store cannot hold. */
export const hostileEnvironmentNames: readonly string[] = [
  '..',
  '.',
  '',
  'prod\u0000uction',
  'prod\nuction',
  '.toilless-lock-production',
  'e'.repeat(256),
  // 28 characters, but 252 bytes once URL-encoded: over what one key segment and file name can hold.
  '€'.repeat(28),
  '\ud800',
];

/**
 * Two JSON bodies that differ only in one invalid UTF-8 byte (0xff and 0xfe): decoded as UTF-8 both
 * become the same text, so only a signature check over the bytes tells them apart.
 */
export function invalidUtf8Twins(): [Buffer, Buffer] {
  const body = (byte: number) =>
    Buffer.concat([Buffer.from('{"zen":"'), Buffer.from([byte]), Buffer.from('","hook_id":109948940}')]);
  return [body(0xff), body(0xfe)];
}

export interface LargeNotificationOptions {
  /** @default 400 */
  readonly alerts?: number;
  /** The size of the JSON body to reach, about. @default 530 KiB */
  readonly bytes?: number;
  /** @default 'firing' */
  readonly status?: 'firing' | 'resolved';
}

/**
 * An Alertmanager notification of a large outage: one group of many alerts (one per instance) with
 * long descriptions, about `bytes` of JSON: over the bus limit, under the intake's 1 MiB.
 */
export function largeAlertNotification(options: LargeNotificationOptions = {}): Record<string, unknown> {
  const count = options.alerts ?? 400;
  const bytes = options.bytes ?? 530 * 1024;
  const status = options.status ?? 'firing';
  const groupLabels = { alertname: 'NodeDown', service: 'fleet' };
  const alert = (index: number, description: string) => ({
    status,
    labels: { ...groupLabels, severity: 'critical', instance: `node-${String(index).padStart(4, '0')}:9100` },
    annotations: { summary: `node-${index} is down`, description },
    startsAt: '2026-11-28T08:39:53Z',
    endsAt: status === 'firing' ? '0001-01-01T00:00:00Z' : '2026-11-28T09:10:00Z',
    generatorURL: '',
    fingerprint: (0x1000000000000000n + BigInt(index)).toString(16),
  });
  const notification = (description: string) => ({
    receiver: 'toilless',
    status,
    alerts: Array.from({ length: count }, (_, index) => alert(index, description)),
    groupLabels,
    commonLabels: groupLabels,
    commonAnnotations: {},
    externalURL: 'http://alertmanager:9093',
    version: '4',
    groupKey: '{}:{alertname="NodeDown", service="fleet"}',
    truncatedAlerts: 0,
  });
  const bare = Buffer.byteLength(JSON.stringify(notification('')));
  const perAlert = Math.max(0, Math.floor((bytes - bare) / count));
  return notification(
    'The node stopped answering scrapes. '.repeat(Math.ceil(perAlert / 36)).slice(0, perAlert),
  );
}

/**
 * Valid Alertmanager notifications whose content is hostile to the workers behind the intake: the
 * intake must accept each (they are well-formed), and the timeline worker must neither stall nor
 * dead-letter on them (test/unit/incident-timeline/hostile-payloads.test.ts).
 */
export function hostileAlertNotifications(): {
  readonly name: string;
  readonly payload: Record<string, unknown>;
}[] {
  const notification = (name: string, alert: Record<string, unknown>) => {
    const labels = { alertname: name, service: 'checkout', severity: 'critical' };
    return {
      receiver: 'toilless',
      status: 'firing',
      alerts: [
        {
          status: 'firing',
          labels,
          annotations: { summary: 'hostile' },
          startsAt: '2026-11-28T08:39:53Z',
          endsAt: '0001-01-01T00:00:00Z',
          generatorURL: '',
          fingerprint: '5e11c0de5e11c0de',
          ...alert,
        },
      ],
      groupLabels: { alertname: name },
      commonLabels: labels,
      commonAnnotations: {},
      externalURL: 'http://alertmanager:9093',
      version: '4',
      groupKey: `{}:{alertname="${name}"}`,
      truncatedAlerts: 0,
    };
  };
  const nested = `${'('.repeat(24_000)}1${')'.repeat(24_000)}`;
  return [
    {
      name: 'generatorURL with 24,000 nested parentheses',
      payload: notification('NestedExpression', {
        generatorURL: `http://prometheus:9090/graph?g0.expr=${encodeURIComponent(`x > ${nested}`)}`,
      }),
    },
    {
      name: 'generatorURL asking Prometheus for every metric name',
      payload: notification('Exfiltrate', {
        generatorURL: `http://evil.example/graph?g0.expr=${encodeURIComponent('count({__name__=~".+"}) by (__name__)')}`,
      }),
    },
    {
      name: 'a `for` annotation of 99999999999y',
      payload: notification('PoisonedFor', { annotations: { summary: 'hostile', for: '99999999999y' } }),
    },
    {
      name: 'an alert name that pings a channel and disguises a link',
      payload: notification('Deploy <!channel> <https://evil.example|click here>', {
        annotations: { summary: '<!here>', runbook_url: 'https://evil.example/runbook' },
      }),
    },
    {
      name: 'a start time far in the future',
      payload: notification('FarFuture', { startsAt: '9999-12-31T23:59:59Z' }),
    },
  ];
}
