import { RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { asIVpc } from '../cdk-interfaces.js';

export interface ObservabilityNetworkProps {
  /** An existing VPC to run in (looked up at synth: the stack needs an account and region). @default - a new VPC */
  readonly vpcId?: string;
  /** Availability zones of a new VPC. @default 2 */
  readonly maxAzs?: number;
  /**
   * NAT gateways of a new VPC. The images come from Docker Hub and Alertmanager posts to Slack, so the
   * tasks need the internet; one NAT gateway costs less than the interface endpoints (ECR, Logs,
   * Secrets Manager) in two zones would, and those still would not reach Docker Hub. @default 1
   */
  readonly natGateways?: number;
  /** How long the flow logs are kept. @default logs.RetentionDays.ONE_MONTH */
  readonly flowLogRetention?: logs.RetentionDays;
}

/**
 * Where the stack runs: private subnets for every task, the internet through NAT, S3 through a gateway
 * endpoint (free, and chunks and blocks never cross the NAT gateway), VPC flow logs.
 */
export class ObservabilityNetwork extends Construct {
  /** The VPC. */
  readonly vpc: ec2.IVpc;

  constructor(scope: Construct, id: string, props: ObservabilityNetworkProps = {}) {
    super(scope, id);
    if (props.vpcId !== undefined && (props.maxAzs !== undefined || props.natGateways !== undefined)) {
      throw new Error(
        'ObservabilityNetwork: maxAzs and natGateways shape a new VPC: leave them out when vpcId names an existing one.',
      );
    }
    const natGateways = props.natGateways ?? 1;
    if (props.vpcId === undefined && (!Number.isInteger(natGateways) || natGateways < 1)) {
      throw new Error(
        `ObservabilityNetwork: natGateways must be at least 1 (got ${natGateways}): the tasks pull their images from Docker Hub.`,
      );
    }
    if (props.vpcId !== undefined) {
      this.vpc = ec2.Vpc.fromLookup(this, 'Vpc', { vpcId: props.vpcId });
    } else {
      const vpc = new ec2.Vpc(this, 'Vpc', {
        maxAzs: props.maxAzs ?? 2,
        natGateways,
        subnetConfiguration: [
          { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
          { name: 'private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 20 },
        ],
        restrictDefaultSecurityGroup: false,
      });
      const flowLogs = new logs.LogGroup(this, 'FlowLogs', {
        retention: props.flowLogRetention ?? logs.RetentionDays.ONE_MONTH,
        removalPolicy: RemovalPolicy.DESTROY,
      });
      vpc.addFlowLog('FlowLog', { destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogs) });
      this.vpc = asIVpc(vpc);
    }
    this.vpc.addGatewayEndpoint('S3', { service: ec2.GatewayVpcEndpointAwsService.S3 });
  }
}
