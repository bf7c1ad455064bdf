/**
 * How one field (a series, a stat value) of a panel is shown: the panel's field defaults with the
 * overrides that match it (by query refId, by name, by regex), and Grafana's value mappings (a number
 * or range shown as a word in a colour, e.g. DORA level 4 as "Elite"). Pure.
 */
import type { FieldFormat, ThresholdStep } from '../model.js';
import type { PanelJson } from './dashboard-json.js';

export interface FieldDisplay {
  readonly format: FieldFormat;
  readonly mappings: readonly unknown[];
  /** Grafana's custom.transform "negative-Y": drawn below the axis (writes under reads). */
  readonly negativeY: boolean;
}

export interface FieldRef {
  /** The refId of the query that produced the field. */
  readonly refId: string;
  /** Its display name (the legend). */
  readonly name: string;
}

function matches(
  matcher: { readonly id?: string; readonly options?: unknown } | undefined,
  field: FieldRef,
): boolean {
  const option = typeof matcher?.options === 'string' ? matcher.options : undefined;
  if (option === undefined) return false;
  switch (matcher?.id) {
    case 'byFrameRefID':
      return field.refId === option;
    case 'byName':
      return field.name === option;
    case 'byRegexp':
      try {
        return new RegExp(`^(?:${option})$`).test(field.name);
      } catch {
        return false; // a broken regex in a dashboard matches nothing, as in Grafana
      }
    default:
      return false;
  }
}

function thresholdSteps(value: unknown): ThresholdStep[] | undefined {
  const steps = (value as { steps?: unknown } | null)?.steps;
  if (!Array.isArray(steps)) return undefined;
  return steps.filter(
    (step): step is ThresholdStep =>
      typeof step?.color === 'string' && (step.value === null || typeof step.value === 'number'),
  );
}

/** The panel's field defaults as a format (keys only when set). */
export function defaultFormat(panel: PanelJson): FieldFormat {
  const defaults = panel.fieldConfig?.defaults ?? {};
  const steps = thresholdSteps(defaults.thresholds);
  return {
    ...(typeof defaults.unit === 'string' && defaults.unit !== '' ? { unit: defaults.unit } : {}),
    ...(typeof defaults.decimals === 'number' ? { decimals: defaults.decimals } : {}),
    ...(typeof defaults.min === 'number' ? { min: defaults.min } : {}),
    ...(typeof defaults.max === 'number' ? { max: defaults.max } : {}),
    ...(steps !== undefined && steps.length > 0 ? { thresholds: steps } : {}),
  };
}

export function fieldDisplay(panel: PanelJson, field: FieldRef): FieldDisplay {
  let format: FieldFormat = defaultFormat(panel);
  let mappings: readonly unknown[] = Array.isArray(panel.fieldConfig?.defaults?.mappings)
    ? (panel.fieldConfig?.defaults?.mappings ?? [])
    : [];
  let negativeY = false;
  for (const override of panel.fieldConfig?.overrides ?? []) {
    if (!matches(override.matcher, field)) continue;
    for (const property of override.properties ?? []) {
      const { id, value } = property;
      if (id === 'unit' && typeof value === 'string') format = { ...format, unit: value };
      else if ((id === 'decimals' || id === 'min' || id === 'max') && typeof value === 'number')
        format = { ...format, [id]: value };
      else if (id === 'thresholds') {
        const steps = thresholdSteps(value);
        if (steps !== undefined) format = { ...format, thresholds: steps };
      } else if (id === 'mappings' && Array.isArray(value)) mappings = value;
      else if (id === 'custom.transform') negativeY = value === 'negative-Y';
    }
  }
  return { format, mappings, negativeY };
}

/** The text and colour of the first value mapping that matches, or undefined. */
export function mappedValue(
  value: number | null,
  mappings: readonly unknown[],
): { text: string; color?: string } | undefined {
  if (value === null || Number.isNaN(value)) return undefined;
  for (const mapping of mappings) {
    const { type, options } = (mapping ?? {}) as { type?: string; options?: Record<string, unknown> };
    if (options === undefined) continue;
    let result: unknown;
    if (type === 'value') result = options[String(value)];
    else if (type === 'range') {
      const from = typeof options.from === 'number' ? options.from : Number.NEGATIVE_INFINITY;
      const to = typeof options.to === 'number' ? options.to : Number.POSITIVE_INFINITY;
      if (value >= from && value <= to) result = options.result;
    }
    const { text, color } = (result ?? {}) as { text?: unknown; color?: unknown };
    if (typeof text === 'string') return { text, ...(typeof color === 'string' ? { color } : {}) };
  }
  return undefined;
}

/** Whether two formats show numbers the same way (so a series needs no format of its own). */
export function sameFormat(a: FieldFormat, b: FieldFormat): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
