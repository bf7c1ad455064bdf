import { type Document, isMap, isScalar, isSeq, parseDocument, type Scalar, type YAMLSeq } from 'yaml';

/** The blackbox module each probe kind uses (stack-config/blackbox/blackbox.yml). */
export const PROBE_MODULES = { http: 'http_2xx', https: 'https_2xx', tcp: 'tcp_connect' } as const;

export type ProbeKind = keyof typeof PROBE_MODULES;

/** One probe target from toilless.yaml: a URL (http, https) or host:port (tcp), and its service label. */
export interface ProbeTarget {
  readonly target: string;
  readonly service: string;
}

/** EC2 instances with node_exporter that the node dashboard shows, found by their tags. */
export interface Ec2NodeGroup {
  /** Names the scrape job (node-ec2-<name>). */
  readonly name: string;
  /** Tag name to accepted values: an instance matches when it has every tag with one of its values. */
  readonly tags: Readonly<Record<string, readonly string[]>>;
  /** node_exporter's port. */
  readonly port: number;
  /** The region to look in (Prometheus cannot ask Fargate's metadata for it). */
  readonly region: string;
}

export interface PrometheusAdditions {
  readonly probes?: Partial<Readonly<Record<ProbeKind, readonly ProbeTarget[]>>>;
  readonly ec2Nodes?: readonly Ec2NodeGroup[];
  /**
   * Host names of the shipped file that nothing answers at in this deployment, each with the reason
   * (written into the generated file): their scrape and probe targets are left out, and a job left
   * without targets with them.
   */
  readonly absentHosts?: Readonly<Record<string, string>>;
  /**
   * Host names of the shipped file reached at another name here, e.g. loki at its Cloud Map name
   * loki.toilless.local: scrape, probe and Alertmanager targets and the probe jobs' exporter address
   * are rewritten to it, port and path kept.
   */
  readonly renamedHosts?: Readonly<Record<string, string>>;
}

/**
 * Hosts of the shipped prometheus.yml that no task of the ECS stack answers at, and why. Scraped
 * there, they would only be down: InstanceDown would page for them after every deploy.
 */
export const HOSTS_NOT_ON_ECS: Readonly<Record<string, string>> = {
  toilless:
    'the workers run on Lambda and push their toilless_* metrics by remote-write (job="toilless"); no toilless serve runs to be scraped',
  'node-exporter':
    "docker compose's node-exporter exports the machine compose runs on; a Fargate task has no host to export. EC2 hosts are the node-ec2-<name> jobs of observability.prometheus.ec2Nodes",
};

export interface EcsTargetHostsOptions {
  /** The stack's Cloud Map namespace (toilless.local). */
  readonly namespace: string;
  /** The names of the stack's services in the namespace: each has a Cloud Map A record. */
  readonly services: readonly string[];
  /** Hosts of the shipped file this deployment does not run, with the reason (the sample app while it is off). */
  readonly absent?: Readonly<Record<string, string>>;
}

/**
 * How the ECS Prometheus reaches the hosts of the shipped prometheus.yml: every service of the stack at
 * its Cloud Map name, and nothing at the hosts that do not exist there. Not at the Service Connect
 * short names: ECS resolves one only in tasks started after its service was created, and Prometheus and
 * the services it scrapes use each other (Grafana, Tempo and the collector query or write to it), so
 * no start order would serve both; a Cloud Map name is looked up anew on every scrape.
 */
export function ecsTargetHosts(
  options: EcsTargetHostsOptions,
): Required<Pick<PrometheusAdditions, 'absentHosts' | 'renamedHosts'>> {
  return {
    absentHosts: { ...HOSTS_NOT_ON_ECS, ...options.absent },
    renamedHosts: Object.fromEntries(
      options.services.map((name) => [name, `${name}.${options.namespace}`] as const),
    ),
  };
}

/**
 * prometheus.yml as the ECS task gets it: the shipped file without the targets of absent hosts, renamed
 * hosts at their names here, with the probe targets and EC2 node jobs of toilless.yaml added (a probe
 * target joins the probe-<kind> job of its module, which is created like the shipped ones when
 * missing). Undefined when there is nothing to change: the shipped file is used as is. Comments of the
 * shipped file are kept, and a header says what was left out and why.
 */
export function stackPrometheusConfig(source: string, additions: PrometheusAdditions): string | undefined {
  const probes = Object.entries(additions.probes ?? {}).filter(([, targets]) => (targets ?? []).length > 0);
  const ec2Nodes = additions.ec2Nodes ?? [];
  const absentHosts = new Map(Object.entries(additions.absentHosts ?? {}));
  const renamedHosts = new Map(Object.entries(additions.renamedHosts ?? {}));
  if (probes.length === 0 && ec2Nodes.length === 0 && absentHosts.size === 0 && renamedHosts.size === 0)
    return undefined;
  const doc = parseDocument(source);
  const jobs = doc.get('scrape_configs');
  if (!isSeq(jobs))
    throw new Error('prometheus.yml has no scrape_configs list to add the toilless.yaml targets to.');
  const removed = removeTargetsOf(jobs, new Set(absentHosts.keys()));
  const jobNamed = (name: string) =>
    jobs.items.find((job) => isMap(job) && job.get('job_name') === name) as
      | ReturnType<typeof doc.createNode>
      | undefined;

  for (const [kind, targets] of probes as [ProbeKind, readonly ProbeTarget[]][]) {
    const name = `probe-${kind}`;
    const staticConfigs = targets.map((probe) => ({
      targets: [probe.target],
      labels: { service: probe.service },
    }));
    const existing = jobNamed(name);
    if (existing && isMap(existing)) {
      const configs = existing.get('static_configs');
      if (!isSeq(configs))
        throw new Error(`prometheus.yml job ${name} has no static_configs list to add targets to.`);
      for (const config of staticConfigs) configs.add(doc.createNode(config));
    } else {
      jobs.add(
        doc.createNode({
          job_name: name,
          metrics_path: '/probe',
          params: { module: [PROBE_MODULES[kind]] },
          static_configs: staticConfigs,
          relabel_configs: [
            { source_labels: ['__address__'], target_label: '__param_target' },
            { source_labels: ['__param_target'], target_label: 'instance' },
            { target_label: '__address__', replacement: 'blackbox-exporter:9115' },
          ],
        }),
      );
    }
  }
  for (const group of ec2Nodes) {
    jobs.add(
      doc.createNode({
        job_name: `node-ec2-${group.name}`,
        ec2_sd_configs: [
          {
            region: group.region,
            port: group.port,
            filters: Object.entries(group.tags).map(([tag, values]) => ({
              name: `tag:${tag}`,
              values: [...values],
            })),
          },
        ],
        relabel_configs: [
          // Running instances only, reached at their private address; named by their Name tag when set.
          { source_labels: ['__meta_ec2_instance_state'], regex: 'running', action: 'keep' },
          { source_labels: ['__meta_ec2_instance_id'], target_label: 'instance' },
          { source_labels: ['__meta_ec2_tag_Name'], regex: '(.+)', target_label: 'instance' },
          // The same label as the shipped node job: inhibition and the node dashboard rely on it.
          { target_label: 'service', replacement: 'node' },
        ],
      }),
    );
  }
  const renamed = renameHostsOf(doc, renamedHosts);
  if (probes.length === 0 && ec2Nodes.length === 0 && removed.size === 0 && !renamed) return undefined;
  const header = [
    '# Generated at synth from stack-config/prometheus/prometheus.yml and toilless.yaml observability.',
    ...(removed.size > 0 ? ['# Left out here, where nothing answers at these hosts:'] : []),
    ...[...removed].map((host) => `#   ${host}: ${absentHosts.get(host)}`),
    ...(renamed ? ["# The stack's services are reached at their Cloud Map names (<name>.<namespace>)."] : []),
  ];
  return `${header.join('\n')}\n#\n${doc.toString()}`;
}

/** The host a static target names: host:port, or the host of a probed URL. */
export function targetHost(target: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(target)) {
    try {
      return new URL(target).hostname;
    } catch {
      return target;
    }
  }
  return target.replace(/:\d+$/, '');
}

/** The target with its host replaced by `host`: host:port, or a URL whose host it is. */
export function renamedTarget(target: string, host: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(target)) {
    const url = new URL(target);
    url.hostname = host;
    return url.toString();
  }
  const port = /:\d+$/.exec(target)?.[0] ?? '';
  return `${host}${port}`;
}

/** Every static target of the file: the scrape jobs' and the Alertmanagers'. */
function staticTargetsOf(doc: Document): Scalar[] {
  const groups = [doc.get('scrape_configs'), doc.getIn(['alerting', 'alertmanagers'])];
  const found: Scalar[] = [];
  for (const group of groups) {
    if (!isSeq(group)) continue;
    for (const entry of group.items) {
      const configs = isMap(entry) ? entry.get('static_configs') : undefined;
      if (!isSeq(configs)) continue;
      for (const config of configs.items) {
        const targets = isMap(config) ? config.get('targets') : undefined;
        if (!isSeq(targets)) continue;
        for (const target of targets.items) {
          if (isScalar(target) && typeof target.value === 'string') found.push(target);
        }
      }
    }
  }
  return found;
}

/** The host:port the scrape jobs' relabelling sets as __address__ (the probe jobs' exporter). */
function addressReplacementsOf(doc: Document): Scalar[] {
  const jobs = doc.get('scrape_configs');
  if (!isSeq(jobs)) return [];
  const found: Scalar[] = [];
  for (const job of jobs.items) {
    const rules = isMap(job) ? job.get('relabel_configs') : undefined;
    if (!isSeq(rules)) continue;
    for (const rule of rules.items) {
      if (!isMap(rule) || rule.get('target_label') !== '__address__') continue;
      const replacement = rule.get('replacement', true);
      if (isScalar(replacement) && typeof replacement.value === 'string') found.push(replacement);
    }
  }
  return found;
}

/**
 * Rewrites the static targets, Alertmanager targets and exporter addresses on a renamed host to its
 * new name. True when anything was rewritten.
 */
function renameHostsOf(doc: Document, hosts: ReadonlyMap<string, string>): boolean {
  if (hosts.size === 0) return false;
  let renamed = false;
  for (const target of [...staticTargetsOf(doc), ...addressReplacementsOf(doc)]) {
    const value = target.value as string;
    const host = hosts.get(targetHost(value));
    if (host !== undefined) {
      target.value = renamedTarget(value, host);
      renamed = true;
    }
  }
  return renamed;
}

/**
 * Drops the static targets on `hosts` from every job, then the static configs and jobs left empty (a
 * job that also discovers targets another way stays). Returns the hosts whose targets were dropped.
 */
function removeTargetsOf(jobs: YAMLSeq, hosts: ReadonlySet<string>): Set<string> {
  const removed = new Set<string>();
  if (hosts.size === 0) return removed;
  for (const job of [...jobs.items]) {
    if (!isMap(job)) continue;
    const configs = job.get('static_configs');
    if (!isSeq(configs)) continue;
    for (const config of [...configs.items]) {
      if (!isMap(config)) continue;
      const targets = config.get('targets');
      if (!isSeq(targets)) continue;
      for (const target of [...targets.items]) {
        const value = isScalar(target) ? target.value : target;
        if (typeof value === 'string' && hosts.has(targetHost(value))) {
          targets.items.splice(targets.items.indexOf(target), 1);
          removed.add(targetHost(value));
        }
      }
      if (targets.items.length === 0) configs.items.splice(configs.items.indexOf(config), 1);
    }
    const discovers = job.items.some(
      (pair) => isScalar(pair.key) && /_sd_configs$/.test(String(pair.key.value)),
    );
    if (configs.items.length === 0 && !discovers) jobs.items.splice(jobs.items.indexOf(job), 1);
  }
  return removed;
}
