/**
 * Traces and logs of the sample app. The OpenTelemetry SDK always runs, so every request has a trace id
 * and every log line carries it; spans and log records leave the process (OTLP/HTTP, JSON) only when
 * OTEL_EXPORTER_OTLP_ENDPOINT is set. Metrics are not pushed: Prometheus scrapes GET /metrics.
 */
import { context, trace } from '@opentelemetry/api';
import { type AnyValueMap, logs, SeverityNumber } from '@opentelemetry/api-logs';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { BatchLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor, NoopSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { type Logger, pino } from 'pino';
import type { SampleAppConfig } from './config.js';

export interface Telemetry {
  readonly logger: Logger;
  /** Exports what is still buffered and stops the exporters; call once, before exit. */
  shutdown(): Promise<void>;
}

/** Starts the SDK and returns a logger whose lines carry the active span's trace_id and span_id. */
export function startTelemetry(
  config: SampleAppConfig,
  destination: NodeJS.WritableStream = process.stdout,
): Telemetry {
  const endpoint = config.otlpEndpoint;
  const sdk = new NodeSDK({
    serviceName: config.serviceName,
    // Without an endpoint a no-op processor still gives a real tracer provider: trace ids for the logs.
    spanProcessors:
      endpoint === undefined
        ? [new NoopSpanProcessor()]
        : [new BatchSpanProcessor(new OTLPTraceExporter({ url: `${endpoint}/v1/traces` }))],
    logRecordProcessors:
      endpoint === undefined
        ? []
        : [new BatchLogRecordProcessor({ exporter: new OTLPLogExporter({ url: `${endpoint}/v1/logs` }) })],
    // The SDK would otherwise push OTLP metrics by default; the scrape of /metrics is the one source.
    metricReaders: [],
  });
  sdk.start();
  return {
    logger: createLogger(config, destination, endpoint !== undefined),
    shutdown: () => sdk.shutdown(),
  };
}

/** pino's numeric levels as OpenTelemetry severities. */
const SEVERITY: Readonly<Record<number, SeverityNumber>> = {
  10: SeverityNumber.TRACE,
  20: SeverityNumber.DEBUG,
  30: SeverityNumber.INFO,
  40: SeverityNumber.WARN,
  50: SeverityNumber.ERROR,
  60: SeverityNumber.FATAL,
};

function createLogger(
  config: SampleAppConfig,
  destination: NodeJS.WritableStream,
  exportLogs: boolean,
): Logger {
  const otelLogger = logs.getLogger(config.serviceName);
  return pino(
    {
      level: config.logLevel,
      base: { service: config.serviceName },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      // Loki's derived field and Grafana's "logs for this span" both find the trace by these keys.
      mixin: () => {
        const span = trace.getSpan(context.active())?.spanContext();
        return span === undefined || span.traceId === '00000000000000000000000000000000'
          ? {}
          : { trace_id: span.traceId, span_id: span.spanId };
      },
      hooks: {
        // The same line as an OpenTelemetry log record, in the active context (so with its trace).
        logMethod(args, method, level) {
          if (exportLogs) {
            const [first, second] = args as unknown[];
            const fields =
              typeof first === 'object' && first !== null ? (first as Record<string, unknown>) : {};
            const message = typeof first === 'string' ? first : typeof second === 'string' ? second : '';
            otelLogger.emit({
              severityNumber: SEVERITY[level] ?? SeverityNumber.INFO,
              severityText: pino.levels.labels[level] ?? 'info',
              body: message,
              attributes: plainAttributes(fields),
              context: context.active(),
            });
          }
          method.apply(this, args);
        },
      },
    },
    destination,
  );
}

/** The primitive fields of a log call, as log record attributes (errors by their message). */
function plainAttributes(fields: Record<string, unknown>): AnyValueMap {
  const attributes: AnyValueMap = {};
  for (const [key, value] of Object.entries(fields)) {
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      attributes[key] = value;
    } else if (value instanceof Error) {
      attributes[key] = value.message;
    }
  }
  return attributes;
}
