/**
 * The incident's Slack thread, as messages: a root message that is edited on resolution, and replies
 * with what changed. Block Kit blocks plus a text fallback, within Slack's limits.
 *
 * Every text field is escaped (& < >), the fallback text too, so that an alert's text cannot ping a
 * channel or hide a link; mrkdwn is sent verbatim, so Slack does not turn bare URLs into links; links
 * from alerts go out only to hosts toilless knows (see LinkPolicy); text from alerts is clipped
 * before it is escaped, so no field costs more than a few kilobytes of work.
 */
import type { ToillessConfig } from '../shared/stack-config.js';
import {
  dashboardLinks,
  exploreLogsUrl,
  type LinkPolicy,
  linkPolicy,
  runbookLinks,
  type ShownLink,
  showLink,
  shownEventLinks,
} from './incident-links.js';
import type { IncidentChanges } from './lifecycle.js';
import type { IncidentTimeline, SlackMessageDraft, TimelineEvent, TimelineLink } from './model.js';
import { humanDuration, msBetween, utcDateTime, utcTime } from './timestamps.js';

type Block = Record<string, unknown>;

/** Slack limits: section text 3000 characters, header 150, 50 blocks per message. */
const SECTION_CHARS = 3000;
const HEADER_CHARS = 150;
const MAX_SECTIONS = 40;
/** A thread reply is read on a phone: past this many events, timeline.md has the rest. */
const MAX_EVENT_LINES = 40;
/** Slack refuses messages whose blocks are too long (msg_blocks_too_long) well before 50 full sections. */
const MAX_MESSAGE_CHARS = 12_000;
/** The text fallback only shows in notifications: keep it short. */
const FALLBACK_CHARS = 3000;
/** One text field from an alert or a source is clipped to this before it is escaped. */
const FIELD_CHARS = 2000;

/** The thread's root: posted when the incident opens, edited when it resolves. */
export function rootMessage(
  timeline: IncidentTimeline,
  config: ToillessConfig,
  policy: LinkPolicy = linkPolicy(config),
): SlackMessageDraft {
  const resolved = timeline.status === 'resolved';
  const emoji = resolved ? ':white_check_mark:' : ':rotating_light:';
  const status = resolved ? 'Resolved' : 'Open';
  const alertNames = [...new Set(timeline.alerts.map((alert) => alert.alertname))].join(', ');
  const links: ShownLink[] = [
    { kind: 'link', title: 'Logs in Grafana Explore', url: exploreLogsUrl(config, timeline) },
    ...[...runbookLinks(config, timeline), ...dashboardLinks(config, timeline)].map((link) =>
      showLink(link, policy),
    ),
  ];
  const duration = durationOf(timeline);
  const fields = [
    `*Status*\n${status}`,
    `*Severity*\n${mrkdwnText(timeline.severity)}`,
    `*Service*\n${mrkdwnText(timeline.service)}`,
    `*Estimated onset*\n${utcDateTime(timeline.onset)}`,
    `*Alerts*\n${mrkdwnText(truncate(alertNames, 1900))}`,
    duration !== undefined ? `*Duration*\n${duration}` : `*First alert*\n${utcDateTime(timeline.startedAt)}`,
  ];
  const origin = timeline.previousIncidentId ? ` · fired again after \`${timeline.previousIncidentId}\`` : '';
  const blocks: Block[] = [
    {
      type: 'header',
      // plain_text shows an entity such as `&lt;` as written, so angle brackets become look-alikes:
      // no mention or link can form, and the title still reads right.
      text: {
        type: 'plain_text',
        text: truncate(`${emoji} ${plainText(truncate(timeline.title, HEADER_CHARS))}`, HEADER_CHARS),
        emoji: true,
      },
    },
    { type: 'section', fields: fields.map(mrkdwn) },
    { type: 'context', elements: [mrkdwn(truncate(links.map(slackLink).join(' · '), SECTION_CHARS))] },
    { type: 'context', elements: [mrkdwn(`Incident \`${timeline.id}\`${origin}`)] },
  ];
  const text =
    `${status} [${mrkdwnText(timeline.severity)}] ${mrkdwnText(timeline.title)}: estimated onset ${utcDateTime(timeline.onset)}` +
    (duration !== undefined ? `, resolved after ${duration}` : '');
  return { text: truncate(text, FALLBACK_CHARS), blocks };
}

/** The first reply: the timeline so far, high-relevance events only. */
export function summaryReply(timeline: IncidentTimeline, policy: LinkPolicy): SlackMessageDraft {
  const heading = '*Timeline so far* (high-relevance events, times in UTC)';
  return eventsMessage(
    timeline.truncatedAlerts > 0 ? `${heading}\n${truncationNote(timeline.truncatedAlerts)}` : heading,
    highEvents(timeline.events),
    policy,
  );
}

/** A reply saying what a later notification changed; undefined when there is nothing people need to see. */
export function updateReply(changes: IncidentChanges, policy: LinkPolicy): SlackMessageDraft | undefined {
  const notes: string[] = [];
  if (changes.severity) {
    notes.push(
      `:arrow_up: Severity *${mrkdwnText(changes.severity.from)}* → *${mrkdwnText(changes.severity.to)}*`,
    );
  }
  if (changes.truncatedAlerts !== undefined) notes.push(truncationNote(changes.truncatedAlerts));
  const events = highEvents(changes.events);
  if (notes.length === 0 && events.length === 0) return undefined;
  return eventsMessage(['*Update*', ...notes].join('\n'), events, policy);
}

/** The last reply: resolved, how long, and the whole high-relevance timeline. */
export function finalReply(timeline: IncidentTimeline, policy: LinkPolicy): SlackMessageDraft {
  const duration = durationOf(timeline) ?? 'an unknown time';
  return eventsMessage(
    `:white_check_mark: *Resolved* after ${duration}. Final timeline (high-relevance events, times in UTC); the full postmortem draft is the timeline.md file in this thread.`,
    highEvents(timeline.events),
    policy,
  );
}

/** A reply of the incident's title alone, for work queued without a message. */
export function titleReply(timeline: IncidentTimeline): SlackMessageDraft {
  return { text: mrkdwnText(timeline.title) };
}

export function truncationNote(truncatedAlerts: number): string {
  return `:warning: ${truncatedAlerts} alert${truncatedAlerts === 1 ? ' was' : 's were'} left out of the notification (Alertmanager \`max_alerts\`): the incident stays open until a complete notification shows every alert resolved.`;
}

/** Incident duration: from the first alert's startsAt to the resolution. */
export function durationOf(timeline: IncidentTimeline): string | undefined {
  if (timeline.resolvedAt === undefined) return undefined;
  return humanDuration(msBetween(timeline.startedAt, timeline.resolvedAt));
}

function highEvents(events: readonly TimelineEvent[]): TimelineEvent[] {
  return events.filter((event) => event.relevance === 'high');
}

function eventLine(event: TimelineEvent, policy: LinkPolicy): string {
  const links = shownEventLinks(event, policy).map(slackLink);
  return `\`${utcTime(event.at)}\` [${event.kind}] ${mrkdwnText(event.summary)} (${event.source})${
    links.length > 0 ? ` ${links.join(' ')}` : ''
  }`;
}

/** A heading and one line per event, packed into as few sections as fit; what does not fit is counted. */
function eventsMessage(
  heading: string,
  events: readonly TimelineEvent[],
  policy: LinkPolicy,
): SlackMessageDraft {
  const lines =
    events.length > 0 ? events.map((event) => eventLine(event, policy)) : ['_No high-relevance events yet._'];
  const sections: string[] = [heading];
  let shown = 0;
  let total = heading.length;
  for (const line of lines) {
    const piece = truncate(line, SECTION_CHARS);
    if (shown >= MAX_EVENT_LINES || total + piece.length + 1 > MAX_MESSAGE_CHARS) break;
    total += piece.length + 1;
    const last = sections.length - 1;
    const current = sections[last] as string;
    if (current.length + 1 + piece.length <= SECTION_CHARS) {
      sections[last] = `${current}\n${piece}`;
    } else if (sections.length < MAX_SECTIONS) {
      sections.push(piece);
    } else {
      break;
    }
    shown++;
  }
  if (events.length > 0 && shown < lines.length) {
    sections.push(`_…and ${lines.length - shown} more events in timeline.md_`);
  }
  const blocks = sections.map((text) => ({ type: 'section', text: mrkdwn(text) }));
  return { text: truncate([heading, ...lines].join('\n'), FALLBACK_CHARS), blocks };
}

function mrkdwn(text: string): Block {
  // verbatim: Slack links only what is written as a link, never a bare URL in an alert's text.
  return { type: 'mrkdwn', text, verbatim: true };
}

function slackLink(link: ShownLink | TimelineLink): string {
  if ('kind' in link && link.kind === 'text') {
    return `${mrkdwnText(link.title)} (${mrkdwnText(link.host)}, not linked)`;
  }
  const { url: raw } = link as TimelineLink;
  // Inside <url|title> a bar or angle bracket would end the link early; & is escaped as everywhere.
  const url = raw.replace(/\|/g, '%7C').replace(/</g, '%3C').replace(/>/g, '%3E').replace(/&/g, '&amp;');
  return `<${url}|${mrkdwnText(link.title).replace(/\|/g, '/')}>`;
}

/** Slack's three control characters escaped, in text clipped first so that escaping stays cheap. */
export function mrkdwnText(text: string): string {
  return truncate(text, FIELD_CHARS).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Text for a plain_text field: angle brackets as look-alikes, so Slack reads no markup in it. */
export function plainText(text: string): string {
  return text.replace(/</g, '\u2039').replace(/>/g, '\u203a');
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
