/** The short text posted with the PDF in Slack and shown by the CLI: what a reader should know first. */
import type { ReportDocument, ReportSummary } from './model.js';

const MAX_COMMENT = 1_000;

export function reportComment(
  doc: Pick<ReportDocument, 'stackName' | 'window' | 'summary'>,
  replaced: boolean,
): string {
  const { window } = doc;
  const lines = [
    `Weekly report ${doc.stackName} ${window.isoWeek} (${day(window.from)} to ${day(window.to)})`,
    ...summaryLines(doc.summary),
  ];
  if (replaced) lines.push('This replaces the report stored earlier for this week.');
  const text = lines.join('\n');
  return text.length > MAX_COMMENT ? `${text.slice(0, MAX_COMMENT - 1)}…` : text;
}

function summaryLines(summary: ReportSummary): string[] {
  const lines: string[] = [];
  if ('unavailable' in summary.slos) lines.push('SLOs: unavailable');
  else if (summary.slos.length > 0) {
    const met = summary.slos.filter((slo) => slo.week !== null && slo.week >= slo.target).length;
    const frozen = summary.slos.filter((slo) => slo.policy === 'freeze-100').length;
    lines.push(
      `SLOs: ${met} of ${summary.slos.length} met this week${frozen > 0 ? `, ${frozen} with the error budget spent (freeze)` : ''}`,
    );
  }
  if ('unavailable' in summary.incidents) lines.push('Incidents: unavailable');
  else {
    const critical = summary.incidents.filter((incident) => incident.severity === 'critical').length;
    lines.push(`Incidents: ${summary.incidents.length}${critical > 0 ? ` (${critical} critical)` : ''}`);
  }
  if (!('unavailable' in summary.topAlerts) && summary.topAlerts.length > 0) {
    const top = summary.topAlerts[0];
    if (top) lines.push(`Top alert: ${top.alertname} (fired ${top.firings}×)`);
  }
  return lines;
}

function day(at: Date): string {
  return at.toISOString().slice(0, 10);
}
