import { Construct } from 'constructs';
import { httpHealthCheck, LgtmService, type StackServiceProps, stackServiceBase } from './lgtm-service.js';

export const BLACKBOX_PORT = 9115;

/** The blackbox exporter (stack-config/blackbox/blackbox.yml): Prometheus's probe jobs go through it. */
export class BlackboxExporter extends Construct {
  /** The ECS service. */
  readonly service: LgtmService;

  constructor(scope: Construct, id: string, props: StackServiceProps) {
    super(scope, id);
    this.service = new LgtmService(this, 'Service', {
      ...stackServiceBase(props),
      name: 'blackbox-exporter',
      configFolder: 'blackbox',
      configMountPath: '/etc/blackbox_exporter',
      ports: [{ port: BLACKBOX_PORT }],
      command: ['--config.file=/etc/blackbox_exporter/blackbox.yml', '--web.listen-address=0.0.0.0:9115'],
      healthCheck: httpHealthCheck(BLACKBOX_PORT, '/-/healthy'),
    });
  }
}
