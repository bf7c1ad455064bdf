/**
 * The keys the OpenTelemetry Collector (contrib 0.123.0) accepts in the components
 * stack-config/otel-collector/config.yaml uses. The collector has no single reference page: each
 * component's options are its config struct's `mapstructure` tags, read at the release tag v0.123.0
 * of open-telemetry/opentelemetry-collector: receiver/otlpreceiver/config.go, config/configgrpc,
 * config/confighttp, config/configtls, config/confignet, internal/memorylimiter/config.go,
 * processor/batchprocessor/config.go, exporter/otlpexporter/config.go,
 * exporter/otlphttpexporter/config.go, exporter/exporterhelper (sending_queue, retry_on_failure,
 * timeout), service/telemetry (readers follow go.opentelemetry.io/contrib/otelconf v0.3.0, as in
 * service/config_test.go). The contrib components (prometheusremotewrite, health_check) follow their
 * READMEs and config.go in opentelemetry-collector-contrib; only their long-standing options are listed.
 * Moving the collector up means re-reading these files.
 */
import { GRPC_SERVER_KEYS as GRPC_SERVER, HTTP_SERVER_KEYS as HTTP_SERVER } from './collector-server-keys.js';
import { FREE_FORM, type KeyReference } from './key-reference.js';

const TLS_CLIENT = [
  'ca_file',
  'ca_pem',
  'include_system_ca_certs_pool',
  'cert_file',
  'cert_pem',
  'key_file',
  'key_pem',
  'min_version',
  'max_version',
  'cipher_suites',
  'reload_interval',
  'curve_preferences',
  'insecure',
  'insecure_skip_verify',
  'server_name_override',
];

const HTTP_CLIENT = [
  'endpoint',
  'proxy_url',
  'tls',
  'read_buffer_size',
  'write_buffer_size',
  'timeout',
  'headers',
  'auth',
  'compression',
  'compression_params',
  'max_idle_conns',
  'max_idle_conns_per_host',
  'max_conns_per_host',
  'idle_conn_timeout',
  'disable_keep_alives',
  'http2_read_idle_timeout',
  'http2_ping_timeout',
  'cookies',
];

const GRPC_CLIENT = [
  'endpoint',
  'compression',
  'tls',
  'keepalive',
  'read_buffer_size',
  'write_buffer_size',
  'wait_for_ready',
  'headers',
  'balancer_name',
  'authority',
  'auth',
];

/** exporterhelper: the queue, retries and timeout every core exporter embeds. */
const EXPORTER_HELPER = ['timeout', 'sending_queue', 'retry_on_failure'];

const PIPELINE = ['receivers', 'processors', 'exporters'];

export const OTEL_COLLECTOR_KEYS: KeyReference = {
  service: 'OpenTelemetry Collector contrib 0.123.0',
  source:
    'the component config structs at v0.123.0 of open-telemetry/opentelemetry-collector and -contrib (docs/configs.md)',
  namedComponents: ['receivers', 'processors', 'exporters', 'extensions', 'service.pipelines'],
  blocks: {
    '': ['receivers', 'processors', 'exporters', 'extensions', 'connectors', 'service'],

    receivers: ['otlp'],
    'receivers.otlp': ['protocols'],
    'receivers.otlp.protocols': ['grpc', 'http'],
    'receivers.otlp.protocols.grpc': GRPC_SERVER,
    'receivers.otlp.protocols.http': [...HTTP_SERVER, 'traces_url_path', 'metrics_url_path', 'logs_url_path'],

    processors: ['memory_limiter', 'batch'],
    'processors.memory_limiter': [
      'check_interval',
      'min_gc_interval_when_soft_limited',
      'min_gc_interval_when_hard_limited',
      'limit_mib',
      'spike_limit_mib',
      'limit_percentage',
      'spike_limit_percentage',
    ],
    'processors.batch': [
      'timeout',
      'send_batch_size',
      'send_batch_max_size',
      'metadata_keys',
      'metadata_cardinality_limit',
    ],

    exporters: ['otlp', 'otlphttp', 'prometheusremotewrite', 'debug'],
    'exporters.otlp': [...GRPC_CLIENT, ...EXPORTER_HELPER, 'batcher'],
    'exporters.otlp.tls': TLS_CLIENT,
    'exporters.otlp.headers': FREE_FORM,
    'exporters.otlphttp': [
      ...HTTP_CLIENT,
      ...EXPORTER_HELPER,
      'traces_endpoint',
      'metrics_endpoint',
      'logs_endpoint',
      'encoding',
    ],
    'exporters.otlphttp.tls': TLS_CLIENT,
    'exporters.otlphttp.headers': FREE_FORM,
    'exporters.prometheusremotewrite': [
      ...HTTP_CLIENT,
      'retry_on_failure',
      'namespace',
      'remote_write_queue',
      'external_labels',
      'resource_to_telemetry_conversion',
      'wal',
      'target_info',
      'export_created_metric',
      'add_metric_suffixes',
    ],
    'exporters.prometheusremotewrite.tls': TLS_CLIENT,
    'exporters.prometheusremotewrite.headers': FREE_FORM,
    'exporters.prometheusremotewrite.external_labels': FREE_FORM,
    'exporters.prometheusremotewrite.resource_to_telemetry_conversion': ['enabled'],
    'exporters.prometheusremotewrite.target_info': ['enabled'],
    'exporters.prometheusremotewrite.remote_write_queue': ['enabled', 'queue_size', 'num_consumers'],
    'exporters.debug': ['verbosity', 'sampling_initial', 'sampling_thereafter', 'use_internal_logger'],

    extensions: ['health_check'],
    'extensions.health_check': [...HTTP_SERVER, 'path', 'response_body', 'check_collector_pipeline'],

    service: ['extensions', 'pipelines', 'telemetry'],
    'service.pipelines': ['logs', 'traces', 'metrics'],
    'service.pipelines.logs': PIPELINE,
    'service.pipelines.traces': PIPELINE,
    'service.pipelines.metrics': PIPELINE,
    'service.telemetry': ['logs', 'metrics', 'traces', 'resource'],
    'service.telemetry.logs': [
      'level',
      'development',
      'encoding',
      'disable_caller',
      'disable_stacktrace',
      'sampling',
      'output_paths',
      'error_output_paths',
      'initial_fields',
      'processors',
    ],
    'service.telemetry.metrics': ['level', 'address', 'readers', 'views'],
    'service.telemetry.metrics.readers[]': ['pull', 'periodic'],
    'service.telemetry.metrics.readers[].pull': ['exporter'],
    'service.telemetry.metrics.readers[].pull.exporter': ['prometheus'],
    'service.telemetry.metrics.readers[].pull.exporter.prometheus': [
      'host',
      'port',
      'without_scope_info',
      'without_type_suffix',
      'without_units',
      'with_resource_constant_labels',
    ],
  },
};
