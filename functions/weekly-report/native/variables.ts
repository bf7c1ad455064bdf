/**
 * Dashboard variables for a report, chosen as Grafana would show the dashboard unopened: the saved
 * current value; "All" (the variable's allValue, else every value as a regex) when that is saved; the
 * first value (sorted) when nothing is saved. Query variables' values come from Prometheus
 * (label_values), evaluated over the report window.
 */
import type { DashboardJson, VariableJson } from './dashboard-json.js';
import { substituteVariables } from './query-plan.js';

export interface ResolvedVariable {
  /** What a query gets in place of $name: one value, or a regex alternation for several. */
  readonly value: string;
  /** What a title shows: "All", the value, or the values joined with " + ". */
  readonly text: string;
  /** Each value, for repeated panels and rows. */
  readonly values: readonly string[];
}

/** The label values a `label_values(...)` query names, over the report window. */
export type LabelValuesLookup = (selector: string | undefined, label: string) => Promise<string[]>;

/** `label_values(metric{...}, label)` or `label_values(label)` split into selector and label. */
export function parseLabelValues(query: string): { selector: string | undefined; label: string } | undefined {
  const match = /^\s*label_values\(\s*(?:(.*),\s*)?([a-zA-Z_][a-zA-Z0-9_]*)\s*\)\s*$/s.exec(query);
  if (match === null) return undefined;
  const selector = match[1]?.trim();
  return { selector: selector === '' ? undefined : selector, label: match[2] ?? '' };
}

/** Prometheus regex special characters escaped, as Grafana does for multi-value variables. */
export function escapeRegex(value: string): string {
  return value.replace(/[\\^$*+?.()|[\]{}]/g, '\\$&');
}

function savedValues(variable: VariableJson): string[] | undefined {
  const value = variable.current?.value;
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.filter((entry): entry is string => typeof entry === 'string');
  return undefined;
}

function queryText(variable: VariableJson): string {
  if (typeof variable.query === 'string') return variable.query;
  return variable.query?.query ?? variable.definition ?? '';
}

function fromValues(values: readonly string[], text?: string): ResolvedVariable {
  if (values.length <= 1) return { value: values[0] ?? '', text: text ?? values[0] ?? '', values };
  return { value: `(${values.map(escapeRegex).join('|')})`, text: text ?? values.join(' + '), values };
}

/** Every variable of the dashboard, in order (a variable may use the ones before it). */
export async function resolveVariables(
  dashboard: DashboardJson,
  lookup: LabelValuesLookup,
): Promise<Map<string, ResolvedVariable>> {
  const resolved = new Map<string, ResolvedVariable>();
  const known = (): Record<string, string> =>
    Object.fromEntries([...resolved].map(([name, variable]) => [name, variable.value]));
  for (const variable of dashboard.templating?.list ?? []) {
    resolved.set(variable.name, await resolveOne(variable, known(), lookup));
  }
  return resolved;
}

async function resolveOne(
  variable: VariableJson,
  known: Record<string, string>,
  lookup: LabelValuesLookup,
): Promise<ResolvedVariable> {
  const saved = savedValues(variable);
  const wantsAll = saved?.some((value) => value === '$__all' || value === 'All') ?? false;
  const options = async (): Promise<string[]> => {
    switch (variable.type) {
      case 'query': {
        const parsed = parseLabelValues(substituteVariables(queryText(variable), known));
        if (parsed === undefined) return [];
        return (await lookup(parsed.selector, parsed.label)).sort((a, b) => a.localeCompare(b));
      }
      case 'custom':
        return queryText(variable)
          .split(',')
          .map((value) => value.trim())
          .filter((value) => value !== '');
      case 'constant':
      case 'textbox':
        return [queryText(variable)];
      default:
        return (variable.options ?? [])
          .map((option) => option.value)
          .filter((value): value is string => typeof value === 'string');
    }
  };
  if (wantsAll) {
    const values = await options();
    if (variable.allValue !== undefined && variable.allValue !== null && variable.allValue !== '') {
      return { value: variable.allValue, text: 'All', values };
    }
    return values.length === 0 ? { value: '', text: 'All', values } : { ...fromValues(values, 'All') };
  }
  if (saved !== undefined && saved.length > 0) return fromValues(saved);
  const values = await options();
  return fromValues(values.slice(0, 1));
}
