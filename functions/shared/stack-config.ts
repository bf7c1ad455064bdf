/**
 * stack-config/toilless.yaml: the one file of values an operator sets. The CDK app and the workers
 * both read it from here, so a value is never copied between them.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import * as z from 'zod';
import { assertTimeZone, parseCron } from './cron.js';
import { parseDurationMs } from './duration.js';
import { ConfigurationError } from './errors.js';
import { parseWith } from './validation.js';

const duration = z.string().refine(
  (value) => {
    try {
      parseDurationMs(value);
      return true;
    } catch {
      return false;
    }
  },
  { message: 'expected a duration such as 30s, 5m, 2h or 7d' },
);

const regex = z.string().refine(
  (value) => {
    try {
      new RegExp(value);
      return true;
    } catch {
      return false;
    }
  },
  { message: 'expected a valid regular expression' },
);

const concurrencyBound = z.number().int().min(1).max(1000);

/** How long a kind of record is kept: "forever", or a duration of at least a day (S3 expires by the day). */
const retentionPeriod = z
  .string()
  .refine(
    (value) => {
      if (value === 'forever') return true;
      try {
        return parseDurationMs(value) >= 86_400_000;
      } catch {
        return false;
      }
    },
    { message: 'expected "forever" or a duration of at least 1d, such as 90d, 26w or 1y' },
  )
  .default('forever');

/** A DORA level boundary: the comparison a value must pass to reach the level, in the metric's unit. */
export interface LevelBoundary {
  readonly comparison: '<' | '<=' | '>' | '>=';
  /** Deployments per day, seconds, or a fraction (0-1), by metric. */
  readonly value: number;
}

/** The boundaries of elite, high and medium; a value that passes none is low. */
export interface LevelBoundaries {
  readonly elite: LevelBoundary;
  readonly high: LevelBoundary;
  readonly medium: LevelBoundary;
}

const BOUNDARY = /^(<=|<|>=|>)\s*(\S+)$/;
const RATE = /^(\d+(?:\.\d+)?)\/(\S+)$/;
const PERCENT = /^(\d+(?:\.\d+)?)%$/;
const DAY_MS = 86_400_000;

type BoundaryUnit = 'rate' | 'duration' | 'ratio';

const UNIT_EXAMPLES: Record<BoundaryUnit, string> = {
  rate: 'deployments per period, e.g. "> 1/1d" or ">= 1/30d"',
  duration: 'a duration, e.g. "< 1h" or "<= 7d"',
  ratio: 'a percentage or fraction, e.g. "<= 15%" or "<= 0.15"',
};

function boundaryValue(unit: BoundaryUnit, text: string): number | undefined {
  try {
    if (unit === 'duration') return parseDurationMs(text) / 1000;
    if (unit === 'rate') {
      const match = RATE.exec(text);
      if (!match) return undefined;
      const periodMs = parseDurationMs(match[2] as string);
      return periodMs === 0 ? undefined : Number(match[1]) / (periodMs / DAY_MS);
    }
    const percent = PERCENT.exec(text);
    const value = percent ? Number(percent[1]) / 100 : Number(text);
    return Number.isFinite(value) && value >= 0 && value <= 1 ? value : undefined;
  } catch {
    return undefined;
  }
}

/** One boundary written as `<op> <value>`; lower-is-better metrics take < and <=, the others > and >=. */
function levelBoundary(unit: BoundaryUnit, better: 'lower' | 'higher') {
  const allowed = better === 'lower' ? ['<', '<='] : ['>', '>='];
  return z.string().transform((text, context): LevelBoundary => {
    const match = BOUNDARY.exec(text.trim());
    const value = match ? boundaryValue(unit, match[2] as string) : undefined;
    if (!match || value === undefined || !allowed.includes(match[1] as string)) {
      context.addIssue({
        code: 'custom',
        message: `expected ${allowed.join(' or ')} followed by ${UNIT_EXAMPLES[unit]}, got ${JSON.stringify(text)}`,
      });
      return z.NEVER;
    }
    return { comparison: match[1] as LevelBoundary['comparison'], value };
  });
}

/** elite, high, medium in order: each at least as demanding as the next, so every value has one level. */
function levelBoundaries(
  unit: BoundaryUnit,
  better: 'lower' | 'higher',
  defaults: { elite: string; high: string; medium: string },
) {
  const boundary = levelBoundary(unit, better);
  return z
    .strictObject({
      elite: boundary.prefault(defaults.elite),
      high: boundary.prefault(defaults.high),
      medium: boundary.prefault(defaults.medium),
    })
    .refine(
      ({ elite, high, medium }) =>
        better === 'lower'
          ? elite.value <= high.value && high.value <= medium.value
          : elite.value >= high.value && high.value >= medium.value,
      {
        message: `levels must be ordered: elite ${better === 'lower' ? '<=' : '>='} high ${better === 'lower' ? '<=' : '>='} medium`,
      },
    )
    .prefault({});
}

const serviceSchema = z.strictObject({
  /** LogQL stream selector for the service's logs. @default {service_name="<service>"} */
  logSelector: z.string().min(3).optional(),
  /** GitHub repositories (owner/name) whose deployments change this service. */
  repositories: z.array(z.string().regex(/^[\w.-]+\/[\w.-]+$/, 'expected owner/name')).default([]),
});

const ec2NodesSchema = z.strictObject({
  /** Names the scrape job: node-ec2-<name>. */
  name: z.string().regex(/^[a-z][a-z0-9-]{0,30}$/, 'expected a short lower-case name such as web'),
  /** Tag name to accepted values; an instance is scraped when it has every tag with one of its values. */
  tags: z
    .record(z.string().min(1), z.array(z.string().min(1)).min(1))
    .refine(
      (tags) => Object.keys(tags).length > 0,
      'name at least one tag, or every instance of the region is scraped',
    ),
  /** node_exporter's port on the instances. */
  port: z.number().int().min(1).max(65535).default(9100),
  /** The instances' region. @default the stack's region (which then must be known at synth) */
  region: z
    .string()
    .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'expected a region such as eu-west-1')
    .optional(),
});

const probeSchema = (protocol: RegExp, example: string) =>
  z.strictObject({
    /** What is probed. */
    url: z.url({ protocol, error: `expected a URL such as ${example}` }),
    /** The service label of the probe's series (alerts and dashboards group by it). */
    service: z.string().regex(/^[a-z][a-z0-9_-]*$/, 'expected a service name such as checkout'),
  });

/**
 * toilless.yaml `observability`: the LGTM stack on ECS Fargate (lib/observability-stack.ts). Kept in
 * one block so that it reads as one thing: where the stack runs and what an operator sizes.
 */
const observabilitySchema = z
  .strictObject({
    /** Build the observability stack with `cdk deploy`. @default true */
    enabled: z.boolean().default(true),
    /** The Cloud Map private namespace: services are http://<name>.<namespace>:<port>. */
    namespace: z
      .string()
      .regex(
        /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/,
        'expected a DNS name such as toilless.local',
      )
      .default('toilless.local'),
    /** An existing VPC to run in; the stack then needs an account and region at synth. @default a new VPC */
    vpcId: z
      .string()
      .regex(/^vpc-[0-9a-f]{8,17}$/, 'expected a VPC id such as vpc-0123456789abcdef0')
      .optional(),
    /** NAT gateways of a new VPC (one per zone for zone failures, at about $33 a month each). @default 1 */
    natGateways: z.number().int().min(1).max(3).optional(),
    /**
     * How Loki and Tempo run: `small`, one single-binary task each; `large`, Loki in simple scalable mode
     * (write, read, backend and a gateway) and Tempo scaled out, both clustered over memberlist
     * (docs/observability-stack.md says what each holds). @default small
     */
    profile: z.enum(['small', 'large']).default('small'),
    /** Days the services' and flow logs are kept (a CloudWatch retention: 1, 3, 5, 7, 14, 30, 60, 90...). */
    logRetentionDays: z.number().int().min(1).default(30),
    /**
     * CloudWatch Container Insights on the ECS cluster: per-task CPU, memory, network and storage metrics
     * as CloudWatch custom metrics, about $56 a month for the small profile's seven services. Without it,
     * ECS's free per-service CPUUtilization and MemoryUtilization remain and Prometheus scrapes the
     * services' own metrics. @default false
     */
    containerInsights: z.boolean().default(false),
    prometheus: z
      .strictObject({
        /** How long Prometheus keeps samples (--storage.tsdb.retention.time). */
        retention: duration
          .refine((value) => parseDurationMs(value) >= 3_600_000, 'expected at least 1h')
          .default('15d'),
        /** EC2 instances running node_exporter to scrape for the node dashboard (ec2:DescribeInstances). */
        ec2Nodes: z.array(ec2NodesSchema).default([]),
      })
      .prefault({}),
    /**
     * With enabled: false, where the workers find a Prometheus, Loki, Tempo and Grafana of your own
     * (reachable from Lambda outside any VPC). @default none: those sources are reported unavailable
     */
    external: z
      .strictObject({
        prometheusUrl: z.url({ protocol: /^https?$/ }).optional(),
        remoteWriteUrl: z.url({ protocol: /^https?$/ }).optional(),
        lokiUrl: z.url({ protocol: /^https?$/ }).optional(),
        tempoUrl: z.url({ protocol: /^https?$/ }).optional(),
        grafanaUrl: z.url({ protocol: /^https?$/ }).optional(),
      })
      .optional(),
    /** Probe targets the blackbox exporter checks, besides the stack's own. */
    probes: z
      .strictObject({
        /** Plain HTTP URLs (module http_2xx). */
        http: z.array(probeSchema(/^http$/, 'http://service.internal/healthz')).default([]),
        /** HTTPS URLs, certificate checked (module https_2xx; SSLCertExpiringSoon watches it). */
        https: z.array(probeSchema(/^https$/, 'https://example.com/healthz')).default([]),
      })
      .prefault({}),
    /**
     * The instrumented sample app (examples/sample-app) as a service of the stack, the target of the game
     * day on AWS (docs/gameday.md). Its image is built from examples/sample-app/Dockerfile at deploy, so
     * `cdk deploy` then needs Docker. @default disabled
     */
    sampleApp: z
      .strictObject({
        /** Run it; off, Prometheus's prometheus.yml has no sample-app scrape job or probe. @default false */
        enabled: z.boolean().default(false),
        /** vCPU in CPU units: /stress saturates 256 (0.25 vCPU), one Node.js thread uses at most 1024. @default 256 */
        cpu: z
          .union([z.literal(256), z.literal(512), z.literal(1024)], {
            error: 'expected 256, 512 or 1024 CPU units (one Node.js thread uses at most 1024)',
          })
          .default(256),
        /** Memory in MiB, within what Fargate allows for the cpu (two to eight times it). @default twice cpu: 512 */
        memoryMiB: z.number().int().optional(),
        /** Tasks to run. @default 1 */
        desiredCount: z.number().int().min(1).max(10).default(1),
      })
      .superRefine(({ cpu, memoryMiB }, context) => {
        if (memoryMiB !== undefined && (memoryMiB < cpu * 2 || memoryMiB > cpu * 8)) {
          context.addIssue({
            code: 'custom',
            path: ['memoryMiB'],
            message: `expected ${cpu * 2} to ${cpu * 8} MiB: what Fargate allows with ${cpu} CPU units`,
          });
        }
      })
      .transform((sampleApp) => ({ ...sampleApp, memoryMiB: sampleApp.memoryMiB ?? sampleApp.cpu * 2 }))
      .prefault({}),
    grafana: z
      .strictObject({
        /** The host name people open Grafana at; with certificateArn, an HTTPS load balancer serves it. */
        domainName: z.string().min(3).optional(),
        /** ACM certificate for domainName, in the stack's region. */
        certificateArn: z
          .string()
          .regex(/^arn:aws[a-z-]*:acm:/, 'expected an ACM certificate ARN')
          .optional(),
        /** Sign-in through an OpenID Connect provider (generic_oauth); needs domainName and certificateArn. */
        oidc: z
          .strictObject({
            /** The login button's label. */
            name: z.string().min(1),
            /** The client id registered with the provider; the client secret goes into Secrets Manager. */
            clientId: z.string().min(1),
            authUrl: z.url({ protocol: /^https$/ }),
            tokenUrl: z.url({ protocol: /^https$/ }),
            apiUrl: z.url({ protocol: /^https$/ }),
            /** Space-separated scopes. */
            scopes: z.string().min(1).optional(),
            /** JMESPath yielding Admin, Editor or Viewer; without it everyone signs in as Viewer. */
            roleAttributePath: z.string().min(1).optional(),
            allowSignUp: z.boolean().optional(),
          })
          .optional(),
      })
      .refine((grafana) => (grafana.domainName === undefined) === (grafana.certificateArn === undefined), {
        message:
          'set both domainName and certificateArn for an HTTPS load balancer, or neither to keep Grafana inside the VPC',
      })
      .refine((grafana) => grafana.oidc === undefined || grafana.domainName !== undefined, {
        message:
          'oidc sign-in needs domainName and certificateArn: the provider redirects people back to that address',
      })
      .prefault({}),
  })
  .prefault({});

export const toillessConfigSchema = z.strictObject({
  links: z
    .strictObject({
      /** The Grafana people open: dashboard_url annotations are paths below it. */
      grafanaUrl: z.url().default('http://localhost:3000'),
      /** Where stack-config/ is browsable: runbook_url annotations are paths below it. */
      runbooksUrl: z.url().default('http://localhost:8080/stack-config'),
    })
    .prefault({}),
  prometheus: z
    .strictObject({
      /**
       * The URLs Prometheus puts in an alert's generatorURL (its --web.external-url, else
       * http://<hostname>:9090), besides PROMETHEUS_URL: an alert's expression is used only when its
       * generatorURL starts with one of these, and only links to them are shown. @default none
       */
      externalUrls: z.array(z.url({ protocol: /^https?$/ })).default([]),
    })
    .prefault({}),
  slack: z
    .strictObject({
      channel: z.string().min(1).default('#toilless'),
    })
    .prefault({}),
  services: z
    .record(
      z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'service names are lower-case kebab-case'),
      serviceSchema,
    )
    .default({}),
  incidents: z
    .strictObject({
      /** Overall time budget for querying the sources of one timeline. */
      sourceBudget: duration.default('20s'),
      /** How far before onset a deployment is still a suspect. */
      deployLookback: duration.default('2h'),
      /** Bound on error log lines sampled per incident. */
      maxErrorLines: z.number().int().min(1).max(5000).default(200),
      /**
       * Requests in flight at once against each evidence source, across all the incidents being built
       * (an alert storm opens hundreds at once). See evidenceConcurrency and timelineReservedConcurrency.
       */
      concurrency: z
        .strictObject({
          prometheus: concurrencyBound.default(8),
          loki: concurrencyBound.default(4),
          tempo: concurrencyBound.default(4),
          /** Reads of the deploy index in the store. */
          deployments: concurrencyBound.default(16),
        })
        .prefault({}),
    })
    .prefault({}),
  /**
   * How long the store keeps each kind of record (the local data directory is pruned; on AWS the
   * bucket's lifecycle rules expire them). Open incidents are never pruned locally. @default forever
   */
  retention: z
    .strictObject({
      /** Resolved incidents (incidents/), counted from resolution; also group pointers and the deploy index. */
      incidents: retentionPeriod,
      /** DORA deployment records (deployments/). */
      deployments: retentionPeriod,
      /** Weekly reports (reports/). */
      reports: retentionPeriod,
      /** Events the local bus gave up on (dead-letter/); on AWS the dead-letter queues keep 14 days. */
      deadLetters: retentionPeriod,
    })
    .prefault({}),
  dora: z
    .strictObject({
      /** GitHub environment names that count as production. */
      productionEnvironments: regex.default('^(production|prod)$'),
      /** Workflow names that are deployments. */
      deployWorkflows: regex.default('deploy'),
      /** A critical incident on a mapped service this soon after a deployment counts against it. */
      incidentAttributionWindow: duration.default('1h'),
      /**
       * The environment of a deploy workflow run (workflow_run payloads have none): the first rule whose
       * patterns match the run's workflow name and head branch; a run no rule matches is not a deployment.
       */
      workflowEnvironments: z
        .array(
          z.strictObject({
            /** Workflow name pattern (case-insensitive). @default any */
            workflow: regex.optional(),
            /** Head branch pattern. @default any */
            branch: regex.optional(),
            /**
             * Only runs on the repository's default branch (when a payload does not name it, main or
             * master count as the default branch). @default false
             */
            defaultBranch: z.boolean().optional(),
            environment: z.string().min(1),
          }),
        )
        .default([{ defaultBranch: true, environment: 'production' }]),
      /**
       * Performance levels: a value reaches the first of elite, high, medium whose boundary it passes,
       * else it is low. Defaults: the seed's table, a gap between two bands going to the better one.
       */
      levels: z
        .strictObject({
          /** Successful deployments per period (e.g. 1/1d, 4/30d). */
          deploymentFrequency: levelBoundaries('rate', 'higher', {
            elite: '> 1/1d',
            high: '> 4/30d',
            medium: '>= 1/30d',
          }),
          /** Median lead time for changes. */
          leadTime: levelBoundaries('duration', 'lower', { elite: '< 1h', high: '<= 24h', medium: '<= 30d' }),
          /** Change failure rate, as a percentage or a fraction. */
          changeFailureRate: levelBoundaries('ratio', 'lower', {
            elite: '<= 15%',
            high: '<= 45%',
            medium: '<= 60%',
          }),
          /** Median time to restore. */
          timeToRestore: levelBoundaries('duration', 'lower', {
            elite: '< 1h',
            high: '<= 24h',
            medium: '<= 7d',
          }),
        })
        .prefault({}),
    })
    .prefault({}),
  /** The weekly report (docs/reports.md). */
  report: z
    .strictObject({
      /** The name on the report's cover and in its Slack message. @default toilless */
      stackName: z.string().min(1).max(80).default('toilless'),
      /**
       * When it runs: five-field cron (minute hour day-of-month month day-of-week) in `timeZone`, on
       * AWS (EventBridge Scheduler) and in `toilless serve` alike. @default Mondays 08:00
       */
      schedule: z
        .string()
        .refine(
          (value) => {
            try {
              parseCron(value);
              return true;
            } catch {
              return false;
            }
          },
          { message: 'expected a five-field cron such as "0 8 * * 1" (Mondays 08:00)' },
        )
        .default('0 8 * * 1'),
      /** IANA time zone of the schedule. @default UTC */
      timeZone: z
        .string()
        .refine(
          (value) => {
            try {
              assertTimeZone(value);
              return true;
            } catch {
              return false;
            }
          },
          { message: 'expected an IANA time zone such as UTC or Europe/Berlin' },
        )
        .default('UTC'),
      /** Dashboard uids the report shows, in this order. @default every shipped dashboard */
      dashboards: z.array(z.string().regex(/^[\w-]{1,40}$/, 'expected a Grafana dashboard uid')).default([]),
      /** grafana, native, or auto: grafana when GRAFANA_TOKEN is set and Grafana answers. @default auto */
      mode: z.enum(['auto', 'grafana', 'native']).default('auto'),
    })
    .prefault({}),
  /** The LGTM stack on ECS Fargate. */
  observability: observabilitySchema,
});

export type ToillessConfig = z.output<typeof toillessConfigSchema>;

/** The repository's stack-config directory; TOILLESS_STACK_CONFIG overrides it (tests, other layouts). */
export function stackConfigDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.TOILLESS_STACK_CONFIG ?? join(import.meta.dirname, '..', '..', 'stack-config');
}

export function parseToillessConfig(text: string, source = 'toilless.yaml'): ToillessConfig {
  return parseConfigYaml(toillessConfigSchema, text, source);
}

/**
 * A stack-config YAML file read through its schema (an empty file is `{}`). Throws ConfigurationError
 * naming `source` when the text is not YAML or does not fit the schema.
 */
export function parseConfigYaml<T extends z.ZodType>(schema: T, text: string, source: string): z.output<T> {
  let raw: unknown;
  try {
    raw = parseYaml(text) ?? {};
  } catch (error) {
    throw new ConfigurationError(`${source}: not valid YAML: ${(error as Error).message}`, { cause: error });
  }
  try {
    return parseWith(schema, raw, source);
  } catch (error) {
    throw new ConfigurationError((error as Error).message, { cause: error });
  }
}

/**
 * The text of one file of a stack-config directory. Every configuration file (toilless.yaml,
 * slos.yaml) is read through here, from the one directory a runtime was given.
 */
export function readStackConfigFile(dir: string, file: string): string {
  const path = join(dir, file);
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigurationError(`cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
}

export function loadToillessConfig(dir: string = stackConfigDir()): ToillessConfig {
  return parseToillessConfig(readStackConfigFile(dir, 'toilless.yaml'), 'stack-config/toilless.yaml');
}

/** The LogQL selector of a service: its configured one, or {service_name="<service>"}. */
export function logSelectorFor(config: ToillessConfig, service: string): string {
  return config.services[service]?.logSelector ?? `{service_name=${JSON.stringify(service)}}`;
}

/** The evidence sources whose concurrency toilless.yaml bounds (incidents.concurrency). */
export type BoundedEvidenceSource = keyof ToillessConfig['incidents']['concurrency'];

/**
 * The incident-timeline function's reserved concurrency on AWS: the smallest per-source bound, so that
 * each function instance (one incident at a time) can have at least one request in flight per source
 * while the instances together stay within every bound.
 */
export function timelineReservedConcurrency(config: ToillessConfig): number {
  return Math.min(...Object.values(config.incidents.concurrency));
}

/**
 * The bounds one runtime enforces. The local server is one runtime and enforces them whole; on AWS each
 * of the `runtimes` function instances gets an equal share, so their sum stays within the bound.
 */
export function evidenceConcurrency(
  config: ToillessConfig,
  runtimes = 1,
): Readonly<Record<BoundedEvidenceSource, number>> {
  const bounds = config.incidents.concurrency;
  const share = (bound: number) => Math.max(1, Math.floor(bound / runtimes));
  return {
    prometheus: share(bounds.prometheus),
    loki: share(bounds.loki),
    tempo: share(bounds.tempo),
    deployments: share(bounds.deployments),
  };
}

/** The kinds of record toilless.yaml `retention` sets a period for. */
export type RetainedRecords = keyof ToillessConfig['retention'];

/** How long records of `kind` are kept, in milliseconds; undefined keeps them forever. */
export function retentionMs(config: ToillessConfig, kind: RetainedRecords): number | undefined {
  const period = config.retention[kind];
  return period === 'forever' ? undefined : parseDurationMs(period);
}

/** The same in whole days, rounded up (S3 lifecycle rules count days); undefined keeps them forever. */
export function retentionDays(config: ToillessConfig, kind: RetainedRecords): number | undefined {
  const ms = retentionMs(config, kind);
  return ms === undefined ? undefined : Math.ceil(ms / 86_400_000);
}
