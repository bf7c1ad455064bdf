/**
 * Query parameters of the fault-injection routes. Everything in a query is the caller's to choose, so
 * each value is bounded and an unknown or malformed one is refused with a 400 that says what to send.
 */

/** A query the route cannot honour; the message is the 400's body. */
export class QueryParameterError extends Error {
  override readonly name = 'QueryParameterError';
}

/** One numeric parameter a route accepts. */
export interface NumberParameter {
  readonly min: number;
  readonly max: number;
  readonly integer: boolean;
}

/**
 * The values of `spec`'s parameters found in `query` (absent ones are left out). Throws
 * QueryParameterError on a parameter the route does not know, a repeated one, or a value out of bounds.
 */
export function parseQuery<K extends string>(
  query: URLSearchParams,
  spec: Readonly<Record<K, NumberParameter>>,
): Partial<Record<K, number>> {
  const known = Object.keys(spec) as K[];
  const values: Partial<Record<K, number>> = {};
  for (const name of new Set(query.keys())) {
    if (!known.includes(name as K)) {
      const accepted = known.length === 0 ? 'no parameters' : known.join(', ');
      throw new QueryParameterError(
        `unknown query parameter "${clip(name)}": this route accepts ${accepted}`,
      );
    }
    const all = query.getAll(name);
    if (all.length > 1) throw new QueryParameterError(`query parameter ${name} is given ${all.length} times`);
    values[name as K] = boundedNumber(name, all[0] ?? '', spec[name as K]);
  }
  return values;
}

function boundedNumber(name: string, text: string, bounds: NumberParameter): number {
  const value = text.trim() === '' ? Number.NaN : Number(text);
  if (!Number.isFinite(value) || (bounds.integer && !Number.isInteger(value))) {
    const kind = bounds.integer ? 'an integer' : 'a number';
    throw new QueryParameterError(
      `${name} must be ${kind} from ${bounds.min} to ${bounds.max}, not "${clip(text)}"`,
    );
  }
  if (value < bounds.min || value > bounds.max) {
    throw new QueryParameterError(`${name} must be from ${bounds.min} to ${bounds.max}, not ${value}`);
  }
  return value;
}

/** Echoes at most 40 characters of what the caller sent. */
function clip(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}
