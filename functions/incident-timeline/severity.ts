/** Alert severities in order, so that an incident keeps the worst one it reached. */

/** An alert without a severity label. */
export const NO_SEVERITY = 'none';

const RANKS: Readonly<Record<string, number>> = {
  critical: 4,
  error: 3,
  warning: 2,
  info: 1,
  [NO_SEVERITY]: 0,
};

/** critical > error > warning > info > none; any other value ranks below all of them. */
export function severityRank(severity: string): number {
  return RANKS[severity.toLowerCase()] ?? -1;
}

/** The worse of two severities; on a tie the first is kept, so the result does not flap. */
export function worseSeverity(a: string, b: string): string {
  return severityRank(b) > severityRank(a) ? b : a;
}

export function severityOfLabels(labels: Readonly<Record<string, string>>): string {
  const value = labels.severity?.trim();
  return value ? value : NO_SEVERITY;
}
