/**
 * prometheus.yml scrapes every part of the stack: each has a job whose targets carry the service label
 * alerts route by. A part nobody scrapes is a part whose failure no alert sees.
 */
import { parse as parseYaml } from 'yaml';
import { listAt, textAt } from './yaml-tree.js';

/**
 * The scrape job of each part of the stack, and the `service` label its targets carry. Applications
 * (the demo sample-app, yours) are the operator's to add or remove.
 */
export const STACK_SCRAPE_JOBS: Readonly<Record<string, string>> = {
  prometheus: 'prometheus',
  alertmanager: 'alertmanager',
  loki: 'loki',
  tempo: 'tempo',
  grafana: 'grafana',
  'otel-collector': 'otel-collector',
  node: 'node',
  'blackbox-exporter': 'blackbox-exporter',
  toilless: 'toilless',
};

/** The stack parts prometheus.yml does not scrape, one line each. */
export function missingScrapeJobs(prometheusText: string): string[] {
  let config: unknown;
  try {
    config = parseYaml(prometheusText);
  } catch {
    return []; // promtool check config reports it
  }
  const jobs = new Map(
    listAt(config, 'scrape_configs').map((job) => [textAt(job, 'job_name'), job] as const),
  );
  const problems: string[] = [];
  for (const [name, service] of Object.entries(STACK_SCRAPE_JOBS)) {
    const job = jobs.get(name);
    if (job === undefined) {
      problems.push(`no scrape job "${name}": its failures would go unseen`);
      continue;
    }
    const unlabelled = listAt(job, 'static_configs').filter(
      (group) => textAt(group, 'labels.service') !== service,
    );
    if (unlabelled.length > 0) {
      problems.push(
        `scrape job "${name}" must label its targets service="${service}": alerts route and group by it`,
      );
    }
  }
  return problems;
}
