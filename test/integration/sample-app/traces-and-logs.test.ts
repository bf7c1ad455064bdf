import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attribute, type OtlpReceiver, startOtlpReceiver } from '../../support/otlp-receiver.js';
import { getJson, type RunningSampleApp, startSampleApp } from '../../support/sample-app.js';
import { waitFor } from '../../support/wait.js';

describe('sample app traces and logs', () => {
  let receiver: OtlpReceiver;
  let app: RunningSampleApp;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    app = await startSampleApp({
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      // Export within a fraction of a second, so the test does not wait out the 5 s default.
      OTEL_BSP_SCHEDULE_DELAY: '200',
    });
  });

  afterAll(async () => {
    await app?.stop();
    await receiver?.stop();
  });

  it('logs the trace id and span id of the server span it exports, and exports the same line as a log record', async () => {
    // Act
    const { status } = await getJson(app, '/checkout?delay_ms=20&failure_ratio=0');

    // Assess
    expect(status).toBe(200);
    const line = await waitFor(async () => app.logLines().find((entry) => entry['route'] === '/checkout'), {
      timeoutMs: 30_000,
      description: 'the log line of GET /checkout',
    });
    expect(line).toMatchObject({ level: 'info', status_code: 200, service: 'sample-app' });
    expect(line['trace_id']).toMatch(/^[0-9a-f]{32}$/);
    const server = await waitFor(async () => receiver.spans.find((span) => span.name === 'GET /checkout'), {
      timeoutMs: 60_000,
      description: 'the exported span of GET /checkout',
    });
    expect(receiver.rejected).toEqual([]);
    expect(server.traceId).toBe(line['trace_id']);
    expect(server.spanId).toBe(line['span_id']);
    expect(server.kind).toBe(2); // SPAN_KIND_SERVER
    expect(attribute(server.resource, 'service.name')).toBe('sample-app');
    expect(attribute(server.attributes, 'http.route')).toBe('/checkout');

    const downstream = await waitFor(
      async () =>
        receiver.spans.find((span) => span.name === 'payment.authorize' && span.traceId === server.traceId),
      { timeoutMs: 30_000, description: 'the downstream span of the checkout' },
    );
    expect(downstream.parentSpanId).toBe(server.spanId);

    const record = await waitFor(
      async () => receiver.logRecords.find((entry) => entry.traceId === server.traceId),
      { timeoutMs: 60_000, description: 'the exported log record of the checkout' },
    );
    expect(record.spanId).toBe(server.spanId);
    expect(record.body?.stringValue).toBe('request served');
    expect(attribute(record.resource, 'service.name')).toBe('sample-app');
  });

  it('continues the trace of a caller that sends a traceparent header', async () => {
    // Prepare
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';

    // Act
    await getJson(app, '/products', { traceparent: `00-${traceId}-00f067aa0ba902b7-01` });

    // Assess
    const span = await waitFor(async () => receiver.spans.find((entry) => entry.traceId === traceId), {
      timeoutMs: 60_000,
      description: 'the exported span of the traced GET /products',
    });
    expect(span.parentSpanId).toBe('00f067aa0ba902b7');
    expect(app.logLines().find((entry) => entry['trace_id'] === traceId)).toMatchObject({
      route: '/products',
      span_id: span.spanId,
    });
  });
});

describe('sample app shutdown', () => {
  it('exports the spans still buffered when it receives SIGTERM', async () => {
    // Prepare: a batch delay far longer than the test, so only the shutdown flush can export the span.
    const receiver = await startOtlpReceiver();
    const app = await startSampleApp({
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_BSP_SCHEDULE_DELAY: '600000',
    });
    try {
      await getJson(app, '/products');
      const line = await waitFor(async () => app.logLines().find((entry) => entry['route'] === '/products'), {
        timeoutMs: 30_000,
        description: 'the log line of GET /products',
      });
      expect(receiver.spans).toEqual([]);

      // Act
      await app.stop();

      // Assess
      expect(receiver.spans.map((span) => span.traceId)).toContain(line['trace_id']);
      expect(app.logLines().at(-1)).toMatchObject({ msg: 'sample-app stopped' });
    } finally {
      await app.stop();
      await receiver.stop();
    }
  });
});
