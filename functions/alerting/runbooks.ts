/**
 * What a runbook must contain: the six sections on-call reads in order, as level-2 headings, and for
 * the burn-rate alerts a link to the error budget policy that says what spending the budget means.
 */
import { dirname, posix } from 'node:path';

export const RUNBOOK_SECTIONS = [
  'What is this alert?',
  'Why did it fire?',
  'First 3 investigation steps',
  'How do I resolve it?',
  'When do I roll back?',
  'When do I escalate?',
] as const;

/** Runbook path (below stack-config/) that burn-rate runbooks must link to. */
export const ERROR_BUDGET_POLICY = 'runbooks/error-budget-policy.md';

/** Alerts whose runbooks must link to the error budget policy. */
export const BUDGET_ALERTS: ReadonlySet<string> = new Set(['FastBurnRate', 'SlowBurnRate']);

/** The level-2 headings of a Markdown document, outside fenced code blocks. */
export function levelTwoHeadings(markdown: string): string[] {
  const headings: string[] = [];
  let fence: string | undefined;
  for (const line of markdown.split(/\r?\n/)) {
    const fenceMatch = /^\s{0,3}(`{3,}|~{3,})/.exec(line);
    if (fenceMatch !== null) {
      const marker = fenceMatch[1]!;
      if (fence === undefined) fence = marker[0]!.repeat(marker.length);
      else if (marker.startsWith(fence)) fence = undefined;
      continue;
    }
    if (fence !== undefined) continue;
    const heading = /^\s{0,3}##[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$/.exec(line);
    if (heading !== null) headings.push(heading[1]!);
  }
  return headings;
}

/** The required sections this runbook lacks, in the order they should appear. */
export function missingRunbookSections(markdown: string): string[] {
  const present = new Set(levelTwoHeadings(markdown));
  return RUNBOOK_SECTIONS.filter((section) => !present.has(section));
}

/**
 * Link targets of a Markdown document resolved to paths below stack-config/ (inline and reference
 * links; anchors and absolute URLs are dropped). `path` is the document's own path below stack-config/.
 */
export function linkedPaths(markdown: string, path: string): string[] {
  const targets = [
    ...[...markdown.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((match) => match[1]!),
    ...[...markdown.matchAll(/^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm)].map((match) => match[1]!),
  ];
  return targets
    .filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target) && !target.startsWith('#'))
    .map((target) => target.replace(/[#?].*$/, ''))
    .map((target) =>
      target.startsWith('/') ? posix.normalize(target.slice(1)) : posix.join(dirname(path), target),
    );
}
