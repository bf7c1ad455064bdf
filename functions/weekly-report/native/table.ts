/**
 * Table panels from Prometheus results, as Grafana's "table" format shows them (a Time column, one
 * column per label, the value; "Value #A" per query when there are several), and Grafana's "organize"
 * transformation (hide, rename, order columns). Pure.
 */
import type { PrometheusSeries } from '../../shared/clients/prometheus.js';

export interface TableData {
  readonly columns: readonly string[];
  readonly rows: readonly (readonly (string | number | null)[])[];
}

/** One row per series: its last value and its labels. */
export function seriesTable(
  results: readonly { readonly refId: string; readonly series: readonly PrometheusSeries[] }[],
  at: Date,
): TableData {
  const labels = new Set<string>();
  for (const result of results)
    for (const series of result.series) for (const name of Object.keys(series.metric)) labels.add(name);
  const labelColumns = [...labels].sort((a, b) =>
    a === '__name__' ? -1 : b === '__name__' ? 1 : a.localeCompare(b),
  );
  const valueColumns = results.length > 1 ? results.map((result) => `Value #${result.refId}`) : ['Value'];
  const time = at.toISOString().slice(0, 19).replace('T', ' ');
  const rows: (string | number | null)[][] = [];
  results.forEach((result, index) => {
    for (const series of result.series) {
      const last = [...series.points].reverse().find((point) => !Number.isNaN(point.value));
      const values = valueColumns.map((_, column) =>
        column === index || results.length === 1 ? (last?.value ?? null) : null,
      );
      rows.push([time, ...labelColumns.map((name) => series.metric[name] ?? ''), ...values]);
    }
  });
  rows.sort((a, b) =>
    JSON.stringify(a.slice(1, 1 + labelColumns.length)).localeCompare(
      JSON.stringify(b.slice(1, 1 + labelColumns.length)),
    ),
  );
  return { columns: ['Time', ...labelColumns, ...valueColumns], rows };
}

interface OrganizeOptions {
  readonly excludeByName?: Readonly<Record<string, boolean>>;
  readonly renameByName?: Readonly<Record<string, string>>;
  readonly indexByName?: Readonly<Record<string, number>>;
}

/** Applies the panel's "organize" transformations; other transformations are left out of the report. */
export function organizeTable(
  table: TableData,
  transformations: readonly { readonly id: string; readonly options?: unknown }[],
): TableData {
  let current = table;
  for (const transformation of transformations) {
    if (transformation.id !== 'organize') continue;
    const options = (transformation.options ?? {}) as OrganizeOptions;
    const kept = current.columns
      .map((name, index) => ({ name, index }))
      .filter(({ name }) => options.excludeByName?.[name] !== true);
    const position = (name: string): number => options.indexByName?.[name] ?? Number.MAX_SAFE_INTEGER;
    kept.sort((a, b) => position(a.name) - position(b.name) || a.index - b.index);
    current = {
      columns: kept.map(({ name }) => options.renameByName?.[name] || name),
      rows: current.rows.map((row) => kept.map(({ index }) => row[index] ?? null)),
    };
  }
  return current;
}
