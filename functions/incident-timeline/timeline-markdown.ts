/**
 * timeline.md: a postmortem draft after the Google SRE template, filled with what toilless knows and
 * leaving the rest to people. The output depends only on the timeline and the config (same bytes for
 * the same input), so it can be compared to a golden file.
 *
 * Text from alerts and sources is clipped, then escaped so that it cannot become Markdown (no links,
 * autolinks, HTML or structure); links from alerts are rendered only to hosts toilless knows (see
 * LinkPolicy), others as text naming their host.
 */
import { logSelectorFor, type ToillessConfig } from '../shared/stack-config.js';
import {
  dashboardLinks,
  exploreLogsUrl,
  incidentWindow,
  type LinkPolicy,
  linkPolicy,
  runbookLinks,
  type ShownLink,
  showLink,
  shownEventLinks,
  traceLinks,
} from './incident-links.js';
import { EVALUATION_INTERVAL_MS, forDurationMs } from './lifecycle.js';
import type { IncidentAlert, IncidentTimeline, TimelineEvent, TimelineLink } from './model.js';
import { durationOf } from './slack-messages.js';
import { compareInstants, humanDuration, msBetween, utcDate, utcDateTime, utcTime } from './timestamps.js';

/** One text field from an alert or a source is clipped to this before it is escaped. */
const FIELD_CHARS = 2000;
/**
 * Lists are cut at these lengths (timeline.json keeps everything): a notification of thousands of
 * alerts gives a readable draft, and rendering it stays cheap.
 */
const MAX_LISTED_ALERTS = 100;
const MAX_IMPACT_LINES = 20;
const MAX_TIMELINE_EVENTS = 500;
const MAX_APPENDIX_EVENTS = 200;

export function renderTimelineMarkdown(
  timeline: IncidentTimeline,
  config: ToillessConfig,
  policy: LinkPolicy = linkPolicy(config),
): string {
  const sections = [
    header(timeline),
    summary(timeline),
    impact(timeline),
    placeholder(
      'Root causes',
      'To be written by the people who investigated: the chain of causes, not a culprit.',
    ),
    placeholder('Trigger', 'What set it off: a deploy, a config change, a traffic pattern, a dependency.'),
    placeholder('Resolution', 'What was done to mitigate it, and what fixed it.'),
    detection(timeline),
    actionItems(),
    placeholder('Lessons learned', 'What went well, what went wrong, where we got lucky.'),
    timelineSection(timeline, policy),
    appendix(timeline, policy),
    links(timeline, config, policy),
  ];
  return `${sections.join('\n\n')}\n`;
}

function header(timeline: IncidentTimeline): string {
  const duration = durationOf(timeline);
  const rows: [string, string][] = [
    ['Incident', `\`${timeline.id}\``],
    ['Status', timeline.status === 'resolved' ? 'Resolved' : 'Open'],
    ['Severity', cell(timeline.severity)],
    ['Service', cell(timeline.service)],
    ['Estimated onset', utcDateTime(timeline.onset)],
    ['First alert', utcDateTime(timeline.startedAt)],
  ];
  if (timeline.resolvedAt !== undefined) rows.push(['Resolved', utcDateTime(timeline.resolvedAt)]);
  if (duration !== undefined) rows.push(['Duration', duration]);
  if (timeline.previousIncidentId) rows.push(['Previous incident', `\`${timeline.previousIncidentId}\``]);
  if (timeline.nextIncidentId) rows.push(['Next incident', `\`${timeline.nextIncidentId}\``]);
  rows.push(['Last updated', utcDateTime(timeline.updatedAt)]);
  return [
    `# ${inline(timeline.title)}`,
    '',
    '| | |',
    '|---|---|',
    ...rows.map(([name, value]) => `| ${name} | ${value} |`),
    '',
    '_A postmortem draft written by toilless from the alerts and the evidence it gathered. Times are UTC. The sections in italics are for people to fill in._',
  ].join('\n');
}

function summary(timeline: IncidentTimeline): string {
  const duration = durationOf(timeline);
  const state =
    duration !== undefined
      ? `resolved after ${duration}`
      : `open for ${humanDuration(msBetween(timeline.startedAt, timeline.updatedAt))} at the last update`;
  const lines = [
    '## Summary',
    '',
    `${inline(timeline.title)}: severity ${inline(timeline.severity)}, ${state}.`,
    '',
    `Alerts (${timeline.alerts.length}):`,
    '',
    ...timeline.alerts.slice(0, MAX_LISTED_ALERTS).map(alertLine),
    ...more(timeline.alerts.length - MAX_LISTED_ALERTS, 'alerts'),
  ];
  if (timeline.truncatedAlerts > 0) {
    lines.push(
      '',
      `> The last notification left out ${timeline.truncatedAlerts} alert${timeline.truncatedAlerts === 1 ? '' : 's'} (Alertmanager \`max_alerts\`): they are missing above, and the incident stays open until a complete notification shows every alert resolved.`,
    );
  }
  return lines.join('\n');
}

function alertLine(alert: IncidentAlert): string {
  const span =
    alert.endsAt !== undefined
      ? `fired ${utcDateTime(alert.startsAt)}, resolved ${utcDateTime(alert.endsAt)}`
      : `firing since ${utcDateTime(alert.startsAt)}`;
  const text = alert.annotations.summary ? `: ${inline(alert.annotations.summary)}` : '';
  return `- **${inline(alert.alertname)}** (${inline(alert.severity)}, fingerprint ${code(alert.fingerprint)}), ${span}${text}`;
}

function impact(timeline: IncidentTimeline): string {
  const sloAlerts = timeline.alerts.filter((alert) => alert.labels.slo);
  const said = sloAlerts.slice(0, MAX_IMPACT_LINES).map((alert) => {
    const what = [alert.annotations.summary, alert.annotations.description].filter(Boolean).join('. ');
    return `- ${inline(alert.alertname)} (SLO ${inline(alert.labels.slo ?? '')}): ${what ? inline(what) : 'no summary annotation'}`;
  });
  return [
    '## Impact',
    '',
    '_Who and what was affected, for how long, and how much: requests, users, revenue, error budget spent._',
    '',
    ...(said.length > 0
      ? ['What the SLO alerts say:', '', ...said, ...more(sloAlerts.length - MAX_IMPACT_LINES, 'SLO alerts')]
      : ['No SLO alert fired in this incident: its impact on users is not measured by an SLO here.']),
  ].join('\n');
}

function detection(timeline: IncidentTimeline): string {
  const first = [...timeline.alerts].sort((a, b) => compareInstants(a.startsAt, b.startsAt))[0];
  const gapMs = msBetween(timeline.onset, timeline.startedAt);
  const forMs = first ? forDurationMs(first) : undefined;
  const forText =
    forMs !== undefined
      ? `rule \`for\` ${humanDuration(forMs)} (from the alert's \`for\` annotation)`
      : 'rule `for` not known, counted as 0s';
  return [
    '## Detection',
    '',
    `- First alert fired (startsAt): ${utcDateTime(timeline.startedAt)}${first ? ` (${inline(first.alertname)})` : ''}`,
    `- Estimated onset: ${utcDateTime(timeline.onset)}`,
    `- Detection gap: ${humanDuration(gapMs)} (${forText}, plus one evaluation interval of ${humanDuration(EVALUATION_INTERVAL_MS)})`,
    '',
    "startsAt lags the real onset by the rule's `for` + an evaluation interval. An alert rule can carry its `for` in an annotation named `for` to make the estimate exact.",
  ].join('\n');
}

function actionItems(): string {
  return ['## Action items', '', '| Action item | Type | Owner | Bug |', '|---|---|---|---|'].join('\n');
}

function placeholder(title: string, hint: string): string {
  return `## ${title}\n\n_${hint}_`;
}

function timelineSection(timeline: IncidentTimeline, policy: LinkPolicy): string {
  const shown = timeline.events.filter((event) => event.relevance !== 'low');
  return [
    '## Timeline (UTC)',
    '',
    ...eventLines(shown.slice(0, MAX_TIMELINE_EVENTS), policy),
    ...more(shown.length - MAX_TIMELINE_EVENTS, 'events'),
  ].join('\n');
}

function appendix(timeline: IncidentTimeline, policy: LinkPolicy): string {
  const low = timeline.events.filter((event) => event.relevance === 'low');
  return [
    '## Appendix: low-relevance events (UTC)',
    '',
    ...eventLines(low.slice(0, MAX_APPENDIX_EVENTS), policy),
    ...more(low.length - MAX_APPENDIX_EVENTS, 'events'),
  ].join('\n');
}

/** The line that counts what a cut list left out. */
function more(count: number, what: string): string[] {
  return count > 0 ? ['', `_…and ${count} more ${what}: timeline.json has them all._`] : [];
}

/** One line per event, under a heading per UTC day. */
function eventLines(events: readonly TimelineEvent[], policy: LinkPolicy): string[] {
  if (events.length === 0) return ['_None._'];
  const lines: string[] = [];
  let day = '';
  for (const event of events) {
    const eventDay = utcDate(event.at);
    if (eventDay !== day) {
      if (day !== '') lines.push('');
      lines.push(`### ${eventDay}`, '');
      day = eventDay;
    }
    const eventLinks = shownEventLinks(event, policy).map(markdownLink);
    lines.push(
      `- ${utcTime(event.at)} — [${event.kind}] ${inline(event.summary)} (${event.source})${
        eventLinks.length > 0 ? ` · ${eventLinks.join(' · ')}` : ''
      }`,
    );
  }
  return lines;
}

function links(timeline: IncidentTimeline, config: ToillessConfig, policy: LinkPolicy): string {
  const { from, to } = incidentWindow(timeline);
  const explore = `${markdownLink({ title: 'Logs in Grafana Explore', url: exploreLogsUrl(config, timeline) })} (Loki, ${code(logSelectorFor(config, timeline.service))}, ${utcDateTime(from.toISOString())} to ${utcDateTime(to.toISOString())})`;
  const rest: (ShownLink | TimelineLink)[] = [
    ...[...runbookLinks(config, timeline), ...dashboardLinks(config, timeline)].map((link) =>
      showLink(link, policy),
    ),
    ...traceLinks(timeline),
  ];
  // Alertmanager's own configuration sets externalURL; posted alerts cannot.
  if (timeline.externalURL) rest.push({ title: 'Alertmanager', url: timeline.externalURL });
  return ['## Links', '', `- ${explore}`, ...rest.map((link) => `- ${markdownLink(link)}`)].join('\n');
}

function markdownLink(link: ShownLink | TimelineLink): string {
  if ('kind' in link && link.kind === 'text')
    return `${inline(link.title)} (${inline(link.host)}, not linked)`;
  // Parentheses, angle brackets and spaces would end the link destination early.
  const url = link.url.replace(
    /[()<> ]/g,
    (character) => `%${character.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `[${inline(link.title)}](${url})`;
}

/**
 * Text from alerts and sources on one line, clipped, with the characters that would start Markdown
 * syntax escaped (an underscore inside a word, as in metric names, starts nothing and is left alone),
 * and the `://` and `www.` that renderers turn into links by themselves broken by an escape.
 */
function inline(text: string): string {
  const clipped = text.length > FIELD_CHARS ? `${text.slice(0, FIELD_CHARS)}…` : text;
  return clipped
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/[\\`*[\]<>|]/g, '\\$&')
    .replace(/^#/, '\\#')
    .replace(/(^|[^A-Za-z0-9])_|_(?=$|[^A-Za-z0-9])/g, (match) => match.replace('_', '\\_'))
    .replace(/:\/\//g, '\\://')
    .replace(/\b(www)\./gi, '$1\\.');
}

/** A code span of text from alerts or configuration: clipped, on one line, without a backtick to end it early. */
function code(text: string): string {
  const clipped = text.length > FIELD_CHARS ? `${text.slice(0, FIELD_CHARS)}…` : text;
  return `\`${clipped.replace(/\s+/g, ' ').replace(/`/g, "'")}\``;
}

function cell(text: string): string {
  return inline(text);
}
