/**
 * stack-config/alertmanager/templates/links.tmpl: the Grafana and runbook base URLs from toilless.yaml
 * as Alertmanager template definitions. Alertmanager templates cannot read toilless.yaml, and the
 * annotations only carry paths (dashboard_url /d/..., runbook_url runbooks/...), so the Slack template
 * joins them to these bases.
 */
import { ConfigurationError } from '../shared/errors.js';
import type { ToillessConfig } from '../shared/stack-config.js';

export const LINKS_TEMPLATE_PATH = 'alertmanager/templates/links.tmpl';

/** The template text; base URLs lose trailing slashes because the Slack template adds the separator. */
export function renderLinksTemplate(links: ToillessConfig['links']): string {
  const grafanaUrl = templateSafe('links.grafanaUrl', links.grafanaUrl);
  const runbooksUrl = templateSafe('links.runbooksUrl', links.runbooksUrl);
  return [
    '{{/* generated from stack-config/toilless.yaml (links) by `toilless check --fix`; do not edit */}}',
    `{{ define "toilless.grafanaUrl" }}${grafanaUrl}{{ end }}`,
    `{{ define "toilless.runbooksUrl" }}${runbooksUrl}{{ end }}`,
    '',
  ].join('\n');
}

function templateSafe(key: string, url: string): string {
  if (url.includes('{{') || url.includes('}}')) {
    throw new ConfigurationError(
      `stack-config/toilless.yaml: ${key}: ${JSON.stringify(url)} contains {{ or }}, which Alertmanager would read as a template: use a URL without them`,
    );
  }
  return url.replace(/\/+$/, '');
}
