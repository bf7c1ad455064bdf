/**
 * stack-config/otel-collector/config.yaml: the keys the collector knows, and the pipelines the design
 * needs (logs to Loki's OTLP endpoint, traces to Tempo, metrics to Prometheus remote-write).
 */
import { parse as parseYaml } from 'yaml';
import { componentType, unknownKeys } from './key-reference.js';
import { OTEL_COLLECTOR_KEYS } from './otel-collector-keys.js';
import { isMap, listAt, textAt, valueAt } from './yaml-tree.js';

/** Where Prometheus scrapes the collector's own metrics (job otel-collector). */
export const COLLECTOR_METRICS_PORT = 8888;

/** Each signal's pipeline and the exporter type and endpoint it must reach. */
const DESTINATIONS = [
  {
    signal: 'logs',
    exporter: 'otlphttp',
    endpoint: /\/otlp\/?$/,
    what: "Loki's OTLP endpoint (http://loki:3100/otlp)",
  },
  { signal: 'traces', exporter: 'otlp', endpoint: /:4317$/, what: "Tempo's OTLP gRPC receiver (tempo:4317)" },
  {
    signal: 'metrics',
    exporter: 'prometheusremotewrite',
    endpoint: /\/api\/v1\/write$/,
    what: "Prometheus's remote-write receiver (http://prometheus:9090/api/v1/write)",
  },
] as const;

const COMPONENT_KINDS = ['receivers', 'processors', 'exporters'] as const;

/** What is wrong with the collector config, one line each; empty when it starts and routes as designed. */
export function collectorConfigProblems(text: string): string[] {
  let config: unknown;
  try {
    config = parseYaml(text);
  } catch (error) {
    return [`not valid YAML: ${(error as Error).message.split('\n')[0]}`];
  }
  if (!isMap(config)) return ['the file is empty or not a mapping'];
  const problems = unknownKeys(config, OTEL_COLLECTOR_KEYS).map((unknown) => unknown.message);

  for (const protocol of ['grpc', 'http'] as const) {
    const endpoint = textAt(config, `receivers.otlp.protocols.${protocol}.endpoint`) ?? '';
    if (!endpoint.startsWith('0.0.0.0:')) {
      problems.push(
        `receivers.otlp.protocols.${protocol}.endpoint is "${endpoint}": listen on 0.0.0.0 (the default is localhost, unreachable from other containers)`,
      );
    }
  }

  const pipelines = valueAt(config, 'service.pipelines');
  for (const [name, pipeline] of Object.entries(isMap(pipelines) ? pipelines : {})) {
    for (const kind of COMPONENT_KINDS) {
      for (const id of listAt(pipeline, kind)) {
        if (!defines(config, kind, String(id))) {
          problems.push(
            `pipeline ${name} uses ${kind.slice(0, -1)} "${String(id)}", which ${kind} does not define`,
          );
        }
      }
    }
    const processors = listAt(pipeline, 'processors').map((id) => componentType(String(id)));
    if (processors[0] !== 'memory_limiter') {
      problems.push(
        `pipeline ${name}: memory_limiter must be the first processor, so that it refuses data before memory runs out`,
      );
    }
    if (!processors.includes('batch')) problems.push(`pipeline ${name}: add the batch processor`);
  }
  for (const extension of listAt(config, 'service.extensions')) {
    if (!defines(config, 'extensions', String(extension))) {
      problems.push(`service.extensions names "${String(extension)}", which extensions does not define`);
    }
  }

  for (const destination of DESTINATIONS) {
    const pipeline = valueAt(config, `service.pipelines.${destination.signal}`);
    const exporters = listAt(pipeline, 'exporters').map(String);
    const reaches = exporters.some(
      (id) => componentType(id) === destination.exporter && destination.endpoint.test(endpointOf(config, id)),
    );
    if (!reaches) {
      problems.push(
        `the ${destination.signal} pipeline must export with ${destination.exporter} to ${destination.what}`,
      );
    }
  }

  const readers = listAt(config, 'service.telemetry.metrics.readers');
  const exposesMetrics = readers.some(
    (reader) =>
      textAt(reader, 'pull.exporter.prometheus.host') === '0.0.0.0' &&
      Number(textAt(reader, 'pull.exporter.prometheus.port')) === COLLECTOR_METRICS_PORT,
  );
  if (!exposesMetrics) {
    problems.push(
      `service.telemetry.metrics.readers needs a pull reader with prometheus host 0.0.0.0 and port ${COLLECTOR_METRICS_PORT}: Prometheus scrapes the collector there (the default listens on localhost only)`,
    );
  }
  return problems;
}

function defines(config: unknown, kind: string, id: string): boolean {
  const components = valueAt(config, kind);
  return isMap(components) && Object.hasOwn(components, id);
}

/** An exporter's endpoint; ids contain `/`, never `.`, so they are looked up directly. */
function endpointOf(config: unknown, id: string): string {
  const exporters = valueAt(config, 'exporters');
  return isMap(exporters) ? (textAt(exporters[id], 'endpoint') ?? '') : '';
}
