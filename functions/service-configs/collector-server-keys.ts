/**
 * The server settings of OpenTelemetry Collector receivers: configgrpc.ServerConfig and
 * confighttp.ServerConfig (`mapstructure` tags), the same in v0.116.0, which Tempo 2.7.2 embeds for its
 * OTLP receiver, and v0.123.0, the collector this stack runs (see tempo-keys.ts and
 * otel-collector-keys.ts). When one of them moves to a version with other keys, give it its own list.
 */
export const GRPC_SERVER_KEYS: readonly string[] = [
  'endpoint',
  'transport',
  'dialer',
  'tls',
  'max_recv_msg_size_mib',
  'max_concurrent_streams',
  'read_buffer_size',
  'write_buffer_size',
  'keepalive',
  'auth',
  'include_metadata',
];

export const HTTP_SERVER_KEYS: readonly string[] = [
  'endpoint',
  'tls',
  'cors',
  'auth',
  'max_request_body_size',
  'include_metadata',
  'response_headers',
  'compression_algorithms',
  'read_timeout',
  'read_header_timeout',
  'write_timeout',
  'idle_timeout',
];
