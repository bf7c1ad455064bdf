import { isMap, isScalar, isSeq, parseDocument, type YAMLSeq } from 'yaml';

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
   * Host names of the shipped file that this deployment does not run (e.g. "sample-app" while it is
   * disabled): their scrape and probe targets are left out, and a job left without targets with them.
   */
  readonly absentHosts?: readonly string[];
  /**
   * Host names of the shipped file reached at another name here, e.g. sample-app at its Cloud Map name
   * sample-app.toilless.local: its scrape and probe targets are rewritten to it, port and path kept.
   */
  readonly renamedHosts?: Readonly<Record<string, string>>;
}

/**
 * prometheus.yml as the ECS task gets it: the shipped file without the targets of absent hosts, renamed
 * hosts at their names here, with the probe targets and EC2 node jobs of toilless.yaml added (a probe target joins the probe-<kind> job of
 * its module, which is created like the shipped ones when missing). Undefined when there is nothing to
 * change: the shipped file is used as is. Comments of the shipped file are kept.
 */
export function stackPrometheusConfig(source: string, additions: PrometheusAdditions): string | undefined {
  const probes = Object.entries(additions.probes ?? {}).filter(([, targets]) => (targets ?? []).length > 0);
  const ec2Nodes = additions.ec2Nodes ?? [];
  const absentHosts = new Set(additions.absentHosts ?? []);
  const renamedHosts = new Map(Object.entries(additions.renamedHosts ?? {}));
  if (probes.length === 0 && ec2Nodes.length === 0 && absentHosts.size === 0 && renamedHosts.size === 0)
    return undefined;
  const doc = parseDocument(source);
  const jobs = doc.get('scrape_configs');
  if (!isSeq(jobs))
    throw new Error('prometheus.yml has no scrape_configs list to add the toilless.yaml targets to.');
  const removed = removeTargetsOf(jobs, absentHosts);
  const renamed = renameTargetsOf(jobs, renamedHosts);
  if (probes.length === 0 && ec2Nodes.length === 0 && !removed && !renamed) return undefined;
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
  return `# Generated at synth from stack-config/prometheus/prometheus.yml and toilless.yaml observability.\n${doc.toString()}`;
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

/** Rewrites the static targets on a renamed host to its new name. True when anything was rewritten. */
function renameTargetsOf(jobs: YAMLSeq, hosts: ReadonlyMap<string, string>): boolean {
  if (hosts.size === 0) return false;
  let renamed = false;
  for (const job of jobs.items) {
    const configs = isMap(job) ? job.get('static_configs') : undefined;
    if (!isSeq(configs)) continue;
    for (const config of configs.items) {
      const targets = isMap(config) ? config.get('targets') : undefined;
      if (!isSeq(targets)) continue;
      for (const target of targets.items) {
        if (!isScalar(target) || typeof target.value !== 'string') continue;
        const host = hosts.get(targetHost(target.value));
        if (host !== undefined) {
          target.value = renamedTarget(target.value, host);
          renamed = true;
        }
      }
    }
  }
  return renamed;
}

/**
 * Drops the static targets on `hosts` from every job, then the static configs and jobs left empty (a
 * job that also discovers targets another way stays). True when anything was dropped.
 */
function removeTargetsOf(jobs: YAMLSeq, hosts: ReadonlySet<string>): boolean {
  if (hosts.size === 0) return false;
  let removed = false;
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
          removed = true;
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
