/**
 * The conventions every alert in stack-config follows, so that Alertmanager can route it and people
 * can act on it: labels severity and service; annotations summary, description, dashboard_url (a
 * Grafana path, /d/...) and runbook_url (a runbook path below stack-config/, runbooks/<alert>.md).
 */
import { posix } from 'node:path';
import { parse as parseYaml } from 'yaml';

export const REQUIRED_LABELS = ['severity', 'service'] as const;
export const REQUIRED_ANNOTATIONS = ['summary', 'description', 'dashboard_url', 'runbook_url'] as const;

/** One alerting rule as read from a rule file. */
export interface AlertRule {
  readonly alert: string;
  readonly group: string;
  readonly labels: Readonly<Record<string, unknown>>;
  readonly annotations: Readonly<Record<string, unknown>>;
}

/** The alerting rules of a rule file; an unreadable file gives none (promtool reports why). */
export function alertRules(text: string): AlertRule[] {
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch {
    return [];
  }
  const groups = (document as { groups?: unknown } | null)?.groups;
  if (!Array.isArray(groups)) return [];
  const alerts: AlertRule[] = [];
  for (const group of groups as { name?: unknown; rules?: unknown }[]) {
    if (!Array.isArray(group?.rules)) continue;
    for (const rule of group.rules as Record<string, unknown>[]) {
      if (typeof rule?.['alert'] !== 'string') continue;
      alerts.push({
        alert: rule['alert'],
        group: String(group.name ?? ''),
        labels: asRecord(rule['labels']),
        annotations: asRecord(rule['annotations']),
      });
    }
  }
  return alerts;
}

/** What is wrong with one alert's labels and annotations, one sentence each. */
export function conventionProblems(rule: AlertRule): string[] {
  const problems: string[] = [];
  for (const label of REQUIRED_LABELS) {
    if (!isFilled(rule.labels[label])) problems.push(`missing label ${label}`);
  }
  for (const annotation of REQUIRED_ANNOTATIONS) {
    if (!isFilled(rule.annotations[annotation])) problems.push(`missing annotation ${annotation}`);
  }
  const dashboard = rule.annotations['dashboard_url'];
  if (isFilled(dashboard) && !String(dashboard).startsWith('/d/')) {
    problems.push(
      `dashboard_url ${JSON.stringify(dashboard)} must be a Grafana path starting with /d/ (it is joined to links.grafanaUrl)`,
    );
  }
  const runbook = rule.annotations['runbook_url'];
  if (isFilled(runbook) && runbookPath(String(runbook)) === undefined) {
    problems.push(
      `runbook_url ${JSON.stringify(runbook)} must be a path below stack-config such as runbooks/${kebabCase(rule.alert)}.md (it is joined to links.runbooksUrl)`,
    );
  }
  return problems;
}

/** The runbook path below stack-config/, or undefined when the URL is absolute or leaves stack-config. */
export function runbookPath(runbookUrl: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(runbookUrl) || runbookUrl.startsWith('/')) return undefined;
  const path = posix.normalize(runbookUrl.replace(/[#?].*$/, ''));
  if (path.startsWith('..') || path === '.') return undefined;
  return path;
}

/** FastBurnRate -> fast-burn-rate: the runbook file name convention. */
export function kebabCase(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1-$2')
    .toLowerCase();
}

function isFilled(value: unknown): boolean {
  return typeof value === 'string' ? value.trim() !== '' : value !== undefined && value !== null;
}

function asRecord(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}
