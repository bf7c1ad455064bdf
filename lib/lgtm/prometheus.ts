import { readFileSync } from 'node:fs';
import { Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { parseDurationMs } from '../../functions/shared/duration.js';
import { httpHealthCheck, LgtmService, type StackServiceProps, stackServiceBase } from './lgtm-service.js';
import { type PrometheusAdditions, stackPrometheusConfig } from './prometheus-config.js';
import type { StateFileSystem } from './state-file-system.js';

export const PROMETHEUS_PORT = 9090;

/** The user prom/prometheus runs as (nobody). */
const PROMETHEUS_UID = 65534;

export interface PrometheusProps extends StackServiceProps {
  /** The file system the TSDB lives on. */
  readonly state: StateFileSystem;
  /** How long samples are kept (toilless.yaml observability.prometheus.retention). @default "15d" */
  readonly retention?: string;
  /**
   * Probe targets and EC2 node groups from toilless.yaml, added to the shipped prometheus.yml of the
   * task, and the shipped hosts this stack does not run (left out) or reaches at other names (Cloud
   * Map; see ecsTargetHosts). stack-config/prometheus/prometheus.yml itself stays as docker compose
   * uses it. @default - none
   */
  readonly additions?: PrometheusAdditions;
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
  /** The prometheus.yml the task gets: the shipped one, with the toilless.yaml additions when there are any. */
  readonly deliveredConfig: string;

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
    const shipped = readFileSync(props.configs.sourcePath('prometheus', 'prometheus.yml'), 'utf8');
    const generated = stackPrometheusConfig(shipped, props.additions ?? {});
    this.deliveredConfig = generated ?? shipped;
    this.service = new LgtmService(this, 'Service', {
      ...stackServiceBase(props),
      name: 'prometheus',
      configFolder: 'prometheus',
      ...(generated ? { generatedConfigFiles: { 'prometheus.yml': generated } } : {}),
      configMountPath: '/etc/prometheus',
      ports: [{ port: PROMETHEUS_PORT }],
      command: prometheusArguments(retention),
      cpu: props.cpu ?? 512,
      memoryLimitMiB: props.memoryLimitMiB ?? 1024,
      singleWriter: true,
      state: { fileSystem: props.state.fileSystem, accessPoint, containerPath: '/prometheus' },
      healthCheck: httpHealthCheck(PROMETHEUS_PORT, '/-/ready'),
    });
    if ((props.additions?.ec2Nodes ?? []).length > 0) this.allowEc2Discovery();
  }

  /** ec2_sd_configs lists instances and maps their zones; nothing else of EC2. */
  private allowEc2Discovery(): void {
    const role = this.service.taskDefinition.taskRole;
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['ec2:DescribeInstances', 'ec2:DescribeAvailabilityZones'],
        resources: ['*'],
      }),
    );
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'EC2 service discovery: ec2:DescribeInstances and ec2:DescribeAvailabilityZones support no resource-level permissions; both only read.',
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
