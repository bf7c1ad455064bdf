/**
 * stack-config/blackbox/blackbox.yml against what uses it: the probe jobs in prometheus.yml name its
 * modules, and the alerts need an HTTP check, a TLS check (certificate expiry) and a TCP check. The
 * real exporter's --config.check runs in the tests; this part needs no binary.
 */
import { parse as parseYaml } from 'yaml';
import { isMap, listAt, textAt, valueAt } from './yaml-tree.js';

/** The modules the design asks for: an HTTP 2xx check, an HTTPS check that reports certificate expiry, a TCP check. */
export const REQUIRED_BLACKBOX_MODULES = ['http_2xx', 'https_2xx', 'tcp_connect'] as const;

/** What is wrong with blackbox.yml given prometheus.yml's text, one line each. */
export function blackboxConfigProblems(blackboxText: string, prometheusText: string | undefined): string[] {
  let config: unknown;
  try {
    config = parseYaml(blackboxText);
  } catch (error) {
    return [`not valid YAML: ${(error as Error).message.split('\n')[0]}`];
  }
  const modules = valueAt(config, 'modules');
  if (!isMap(modules))
    return ['modules is missing: the probe jobs in prometheus.yml name modules defined here'];
  const problems: string[] = [];
  for (const name of REQUIRED_BLACKBOX_MODULES) {
    if (!isMap(modules[name])) problems.push(`module ${name} is missing`);
  }
  if (isMap(modules['https_2xx']) && valueAt(modules['https_2xx'], 'http.fail_if_not_ssl') !== true) {
    problems.push(
      'module https_2xx must set http.fail_if_not_ssl: true, or a plain-HTTP answer passes the TLS check',
    );
  }
  if (isMap(modules['tcp_connect']) && textAt(modules['tcp_connect'], 'prober') !== 'tcp') {
    problems.push('module tcp_connect must use prober tcp');
  }
  for (const module of probeModules(prometheusText)) {
    if (!isMap(modules[module.name])) {
      problems.push(
        `prometheus.yml job ${module.job} probes with module ${module.name}, which is not defined here`,
      );
    }
  }
  return problems;
}

/** The modules prometheus.yml's probe jobs ask for (params.module). */
function probeModules(prometheusText: string | undefined): { job: string; name: string }[] {
  if (prometheusText === undefined) return [];
  let config: unknown;
  try {
    config = parseYaml(prometheusText);
  } catch {
    return []; // promtool check config reports it
  }
  return listAt(config, 'scrape_configs').flatMap((job) =>
    listAt(job, 'params.module').map((name) => ({ job: textAt(job, 'job_name') ?? '?', name: String(name) })),
  );
}
