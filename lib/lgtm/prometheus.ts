import { Construct } from 'constructs';
import { parseDurationMs } from '../../functions/shared/duration.js';
import { httpHealthCheck, LgtmService, type StackServiceProps, stackServiceBase } from './lgtm-service.js';
import type { StateFileSystem } from './state-file-system.js';

export const PROMETHEUS_PORT = 9090;

/** The user prom/prometheus runs as (nobody). */
const PROMETHEUS_UID = 65534;

export interface PrometheusProps extends StackServiceProps {
  /** The file system the TSDB lives on. */
  readonly state: StateFileSystem;
  /** How long samples are kept (toilless.yaml observability.prometheus.retention). @default "15d" */
  readonly retention?: string;
}

/** The container's arguments: the shipped config and rules, the remote-write receiver, the TSDB on EFS. */
export function prometheusArguments(retention: string): string[] {
  return [
    '--config.file=/etc/prometheus/prometheus.yml',
    '--storage.tsdb.path=/prometheus',
    `--storage.tsdb.retention.time=${retention}`,
    '--web.listen-address=0.0.0.0:9090',
    // The collector, Tempo's metrics generator and the DORA worker write here.
    '--web.enable-remote-write-receiver',
    '--enable-feature=exemplar-storage',
  ];
}

/**
 * Prometheus with stack-config/prometheus (prometheus.yml and rules/) and its TSDB on EFS. EFS (NFS) is
 * not a file system Prometheus supports; it works for one writer at this size, so there is exactly one
 * task and a deployment stops it before starting the next (the lock file stays in force).
 */
export class Prometheus extends Construct {
  /** The ECS service. */
  readonly service: LgtmService;

  constructor(scope: Construct, id: string, props: PrometheusProps) {
    super(scope, id);
    const retention = props.retention ?? '15d';
    let retentionMs: number;
    try {
      retentionMs = parseDurationMs(retention);
    } catch {
      throw new Error(`Prometheus: retention "${retention}" is not a duration: use one such as 15d or 6w.`);
    }
    if (retentionMs < 3_600_000) {
      throw new Error(
        `Prometheus: retention "${retention}" is under an hour: keep at least 1h, or the rules see no history.`,
      );
    }
    const accessPoint = props.state.accessPoint('PrometheusData', {
      path: '/prometheus',
      uid: PROMETHEUS_UID,
    });
    this.service = new LgtmService(this, 'Service', {
      ...stackServiceBase(props),
      name: 'prometheus',
      configFolder: 'prometheus',
      configMountPath: '/etc/prometheus',
      ports: [{ port: PROMETHEUS_PORT }],
      command: prometheusArguments(retention),
      cpu: props.cpu ?? 512,
      memoryLimitMiB: props.memoryLimitMiB ?? 1024,
      singleWriter: true,
      state: { fileSystem: props.state.fileSystem, accessPoint, containerPath: '/prometheus' },
      healthCheck: httpHealthCheck(PROMETHEUS_PORT, '/-/ready'),
    });
  }

  /** http://prometheus.<namespace>:9090 */
  get url(): string {
    return this.service.url(PROMETHEUS_PORT);
  }

  /** The remote-write receiver. */
  get remoteWriteUrl(): string {
    return `${this.url}/api/v1/write`;
  }
}
