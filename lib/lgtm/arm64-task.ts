/**
 * The task definition every ECS service of the stack runs on: Fargate on ARM64 (Graviton, priced below
 * x86 for the same size), with its log group. The construct ids ('Logs', 'Task') are the
 * caller's, so moving a service onto this helper keeps its CloudFormation logical ids.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';

export interface Arm64TaskProps {
  readonly cpu: number;
  readonly memoryLimitMiB: number;
  /** @default one month */
  readonly logRetention?: logs.RetentionDays | undefined;
}

export function arm64FargateTask(
  scope: Construct,
  props: Arm64TaskProps,
): { readonly logGroup: logs.LogGroup; readonly taskDefinition: ecs.FargateTaskDefinition } {
  const logGroup = new logs.LogGroup(scope, 'Logs', {
    retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  const taskDefinition = new ecs.FargateTaskDefinition(scope, 'Task', {
    cpu: props.cpu,
    memoryLimitMiB: props.memoryLimitMiB,
    runtimePlatform: {
      cpuArchitecture: ecs.CpuArchitecture.ARM64,
      operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
    },
  });
  return { logGroup, taskDefinition };
}
