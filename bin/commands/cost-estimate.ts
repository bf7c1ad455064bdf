/**
 * The monthly cost of the synthesized stacks: the CloudFormation resources that cost by the hour or by
 * the count, multiplied by stack-config/prices.yaml, plus storage and requests from an ingest rate and
 * the assumptions that file states. Pure: templates and prices in, itemised estimate out.
 */
import { parse as parseYaml } from 'yaml';
import * as z from 'zod';
import { ConfigurationError } from '../../functions/shared/errors.js';
import { parseWith } from '../../functions/shared/validation.js';

/** Hours in the month the estimate uses (AWS's own calculators use 730). */
export const HOURS_PER_MONTH = 730;
/** Days in that month. */
const DAYS_PER_MONTH = HOURS_PER_MONTH / 24;

const price = z.number().nonnegative();
const priceTableSchema = z.strictObject({
  region: z.string().min(1),
  takenOn: z
    .union([z.string(), z.date()])
    .transform((value) => (value instanceof Date ? value.toISOString().slice(0, 10) : value)),
  prices: z.strictObject({
    fargateArm64VcpuHour: price,
    fargateArm64GbHour: price,
    natGatewayHour: price,
    natGatewayGbProcessed: price,
    interfaceEndpointHour: price,
    loadBalancerHour: price,
    loadBalancerLcuHour: price,
    efsGbMonth: price,
    s3GbMonth: price,
    logsGbIngested: price,
    secretMonth: price,
    lambdaArm64GbSecond: price,
    lambdaMillionRequests: price,
    eventBridgeMillionEvents: price,
    httpApiMillionRequests: price,
    cloudWatchMetricMonth: price,
  }),
  assumptions: z.strictObject({
    lokiStoredRatio: price,
    tempoStoredRatio: price,
    efsGb: price,
    serviceLogsGbPerMonth: price,
    natGbPerMonth: price,
    lambdaInvocationsPerMonth: price,
    lambdaSecondsPerInvocation: price,
    eventsPerMonth: price,
    webhookRequestsPerDay: price,
    containerInsightsMetricsPerCluster: price,
    containerInsightsMetricsPerService: price,
    containerInsightsMetricsPerTaskFamily: price,
    containerInsightsLogGbPerTaskMonth: price,
  }),
});

export type PriceTable = z.output<typeof priceTableSchema>;

export function parsePriceTable(text: string, source = 'stack-config/prices.yaml'): PriceTable {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (error) {
    throw new ConfigurationError(`${source}: not valid YAML: ${(error as Error).message}`, { cause: error });
  }
  return parseWith(priceTableSchema, raw, source);
}

/** What the user says about the load. */
export interface Load {
  readonly logsGbPerDay: number;
  readonly tracesGbPerDay: number;
  /** Webhook deliveries a day (API Gateway requests). @default prices.yaml `assumptions.webhookRequestsPerDay` */
  readonly webhookRequestsPerDay?: number;
}

export interface CostItem {
  readonly item: string;
  /** How the figure was reached, e.g. "2.5 vCPU × 730 h × $0.03238". */
  readonly basis: string;
  readonly monthly: number;
}

export interface CostEstimate {
  readonly items: readonly CostItem[];
  readonly total: number;
  readonly region: string;
  readonly takenOn: string;
}

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation JSON is walked structurally
type Resource = { Type: string; Properties?: any };
// biome-ignore lint/suspicious/noExplicitAny: CloudFormation JSON is walked structurally
export type Template = { Resources?: Record<string, Resource>; Outputs?: Record<string, any> };

const usd = (value: number) => `$${value.toFixed(2)}`;
const round2 = (value: number) => Math.round(value * 100) / 100;

/** The itemised monthly estimate of `templates` (by stack name) at `load`. */
export function estimateMonthlyCost(
  templates: Readonly<Record<string, Template>>,
  table: PriceTable,
  load: Load,
): CostEstimate {
  const { prices: p, assumptions: a } = table;
  const all = Object.values(templates).flatMap((template) => Object.entries(template.Resources ?? {}));
  const ofType = (type: string) => all.filter(([, resource]) => resource.Type === type);
  const byId = new Map(all);
  const items: CostItem[] = [];
  const add = (item: string, basis: string, monthly: number) => {
    if (monthly > 0) items.push({ item, basis, monthly: round2(monthly) });
  };

  // Fargate: every service's task size times its desired count, all month.
  let vcpu = 0;
  let memoryGb = 0;
  let tasks = 0;
  const taskFamilies = new Set<string>();
  for (const [, service] of ofType('AWS::ECS::Service')) {
    const taskId = service.Properties?.TaskDefinition?.Ref;
    const task = byId.get(taskId);
    if (!task) continue;
    const count = Number(service.Properties?.DesiredCount ?? 1);
    vcpu += (Number(task.Properties.Cpu) / 1024) * count;
    memoryGb += (Number(task.Properties.Memory) / 1024) * count;
    tasks += count;
    taskFamilies.add(taskId);
  }
  add(
    'Fargate ARM64 vCPU',
    `${vcpu} vCPU × ${HOURS_PER_MONTH} h × $${p.fargateArm64VcpuHour}`,
    vcpu * HOURS_PER_MONTH * p.fargateArm64VcpuHour,
  );
  add(
    'Fargate ARM64 memory',
    `${memoryGb} GB × ${HOURS_PER_MONTH} h × $${p.fargateArm64GbHour}`,
    memoryGb * HOURS_PER_MONTH * p.fargateArm64GbHour,
  );

  const nats = ofType('AWS::EC2::NatGateway').length;
  add(
    'NAT gateway',
    `${nats} × ${HOURS_PER_MONTH} h × $${p.natGatewayHour}, plus ${a.natGbPerMonth} GB × $${p.natGatewayGbProcessed}`,
    nats * (HOURS_PER_MONTH * p.natGatewayHour) + (nats > 0 ? a.natGbPerMonth * p.natGatewayGbProcessed : 0),
  );
  const endpointZones = ofType('AWS::EC2::VPCEndpoint')
    .filter(([, endpoint]) => endpoint.Properties?.VpcEndpointType === 'Interface')
    .reduce((sum, [, endpoint]) => sum + (endpoint.Properties?.SubnetIds?.length ?? 1), 0);
  add(
    'Interface endpoints',
    `${endpointZones} endpoint-zones × ${HOURS_PER_MONTH} h × $${p.interfaceEndpointHour}`,
    endpointZones * HOURS_PER_MONTH * p.interfaceEndpointHour,
  );
  const loadBalancers = ofType('AWS::ElasticLoadBalancingV2::LoadBalancer').length;
  add(
    'Load balancer',
    `${loadBalancers} × ${HOURS_PER_MONTH} h × ($${p.loadBalancerHour} + 1 LCU × $${p.loadBalancerLcuHour})`,
    loadBalancers * HOURS_PER_MONTH * (p.loadBalancerHour + p.loadBalancerLcuHour),
  );
  const fileSystems = ofType('AWS::EFS::FileSystem').length;
  add('EFS', `${a.efsGb} GB × $${p.efsGbMonth}`, fileSystems > 0 ? a.efsGb * p.efsGbMonth : 0);

  // S3: what the buckets keep at most, at the ingest rate: their expiration is the retention plus a margin.
  for (const [name, output, perDay, ratio] of [
    ['Loki', 'LokiBucket', load.logsGbPerDay, a.lokiStoredRatio],
    ['Tempo', 'TempoBucket', load.tracesGbPerDay, a.tempoStoredRatio],
  ] as const) {
    const days = bucketExpirationDays(templates, output);
    if (days === undefined) continue;
    const storedGb = perDay * ratio * days;
    add(
      `S3 ${name} storage`,
      `${perDay} GB/day × ${ratio} stored × ${days} days = ${round2(storedGb)} GB × $${p.s3GbMonth}`,
      storedGb * p.s3GbMonth,
    );
  }
  add(
    'CloudWatch Logs',
    `${a.serviceLogsGbPerMonth} GB of the services' logs × $${p.logsGbIngested}`,
    ofType('AWS::ECS::Service').length > 0 ? a.serviceLogsGbPerMonth * p.logsGbIngested : 0,
  );

  // Container Insights, on the clusters that turn it on: its metrics are custom metrics, its performance
  // log events CloudWatch Logs. Enhanced observability adds task and container metrics not counted here.
  const insightClusters = ofType('AWS::ECS::Cluster').filter(([, cluster]) =>
    (cluster.Properties?.ClusterSettings ?? []).some(
      (setting: { Name?: string; Value?: string }) =>
        setting.Name === 'containerInsights' && setting.Value !== 'disabled',
    ),
  ).length;
  if (insightClusters > 0) {
    const services = ofType('AWS::ECS::Service').length;
    const metrics =
      insightClusters * a.containerInsightsMetricsPerCluster +
      services * a.containerInsightsMetricsPerService +
      taskFamilies.size * a.containerInsightsMetricsPerTaskFamily;
    const logsGb = tasks * a.containerInsightsLogGbPerTaskMonth;
    add(
      'Container Insights',
      `${insightClusters} × ${a.containerInsightsMetricsPerCluster} + ${services} services × ${a.containerInsightsMetricsPerService} + ${taskFamilies.size} task families × ${a.containerInsightsMetricsPerTaskFamily} = ${metrics} metrics × $${p.cloudWatchMetricMonth}, plus ${tasks} tasks × ${a.containerInsightsLogGbPerTaskMonth} GB × $${p.logsGbIngested}`,
      metrics * p.cloudWatchMetricMonth + logsGb * p.logsGbIngested,
    );
  }

  const secrets = ofType('AWS::SecretsManager::Secret').length;
  add('Secrets Manager', `${secrets} secrets × $${p.secretMonth}`, secrets * p.secretMonth);

  const functions = ofType('AWS::Lambda::Function');
  if (functions.length > 0) {
    const meanGb =
      functions.reduce((sum, [, fn]) => sum + Number(fn.Properties?.MemorySize ?? 128) / 1024, 0) /
      functions.length;
    const gbSeconds = a.lambdaInvocationsPerMonth * a.lambdaSecondsPerInvocation * meanGb;
    add(
      'Lambda',
      `${a.lambdaInvocationsPerMonth} invocations × ${a.lambdaSecondsPerInvocation} s × ${round2(meanGb)} GB × $${p.lambdaArm64GbSecond}, plus requests`,
      gbSeconds * p.lambdaArm64GbSecond + (a.lambdaInvocationsPerMonth / 1e6) * p.lambdaMillionRequests,
    );
  }
  if (ofType('AWS::ApiGatewayV2::Api').length > 0) {
    const perDay = load.webhookRequestsPerDay ?? a.webhookRequestsPerDay;
    const requests = perDay * DAYS_PER_MONTH;
    add(
      'API Gateway',
      `${perDay} requests/day × ${DAYS_PER_MONTH.toFixed(2)} days = ${Math.round(requests)} × $${p.httpApiMillionRequests} per million`,
      (requests / 1e6) * p.httpApiMillionRequests,
    );
  }
  if (ofType('AWS::Events::EventBus').length > 0) {
    add(
      'EventBridge',
      `${a.eventsPerMonth} events × $${p.eventBridgeMillionEvents} per million`,
      (a.eventsPerMonth / 1e6) * p.eventBridgeMillionEvents,
    );
  }
  const total = round2(items.reduce((sum, item) => sum + item.monthly, 0));
  return { items, total, region: table.region, takenOn: table.takenOn };
}

function bucketExpirationDays(
  templates: Readonly<Record<string, Template>>,
  output: string,
): number | undefined {
  for (const template of Object.values(templates)) {
    const id = template.Outputs?.[output]?.Value?.Ref;
    const rules = id ? template.Resources?.[id]?.Properties?.LifecycleConfiguration?.Rules : undefined;
    const days = (rules ?? [])
      .map((rule: { ExpirationInDays?: number }) => rule.ExpirationInDays)
      .find(Boolean);
    if (days !== undefined) return Number(days);
  }
  return undefined;
}

/** The estimate as a table for the terminal. */
export function formatEstimate(estimate: CostEstimate, load: Load): string {
  const width = Math.max(...estimate.items.map((item) => item.item.length), 5);
  const lines = estimate.items.map(
    (item) => `${item.item.padEnd(width)}  ${usd(item.monthly).padStart(9)}  ${item.basis}`,
  );
  return [
    `Monthly estimate at ${estimate.region} list prices of ${estimate.takenOn} (stack-config/prices.yaml), ${load.logsGbPerDay} GB of logs and ${load.tracesGbPerDay} GB of traces a day${load.webhookRequestsPerDay === undefined ? '' : `, ${load.webhookRequestsPerDay} webhook requests a day`}, ${DAYS_PER_MONTH.toFixed(1)} days:`,
    '',
    ...lines,
    '',
    `${'total'.padEnd(width)}  ${usd(estimate.total).padStart(9)}`,
  ].join('\n');
}
