/**
 * Exact decimal arithmetic for objectives, budgets and thresholds, so that the generated rules and
 * messages say 0.001 where binary floating point would say 0.0010000000000000009.
 */

/** The value units / 10^scale. */
export interface Decimal {
  readonly units: bigint;
  readonly scale: number;
}

const DECIMAL = /^(-?)(\d+)(?:\.(\d+))?$/;

/** Parses a plain decimal such as "99.9" or "0.5"; exponent notation is refused. */
export function parseDecimal(text: string): Decimal {
  const match = DECIMAL.exec(text.trim());
  if (match === null) throw new RangeError(`not a plain decimal number: ${JSON.stringify(text)}`);
  const [, sign = '', whole = '0', fraction = ''] = match;
  return normalise({ units: BigInt(`${sign}${whole}${fraction}`), scale: fraction.length });
}

/** The shortest decimal that reads back as this number (JavaScript's own rendering). */
export function decimalFromNumber(value: number): Decimal {
  if (!Number.isFinite(value)) throw new RangeError(`not a finite number: ${value}`);
  const text = String(value);
  // Very small or large numbers render with an exponent; objectives and factors never do.
  if (/e/i.test(text)) throw new RangeError(`${text} has too many digits for a decimal here`);
  return parseDecimal(text);
}

export function multiply(a: Decimal, b: Decimal): Decimal {
  return normalise({ units: a.units * b.units, scale: a.scale + b.scale });
}

export function subtract(a: Decimal, b: Decimal): Decimal {
  const scale = Math.max(a.scale, b.scale);
  return normalise({ units: rescale(a, scale) - rescale(b, scale), scale });
}

/** The value divided by 10^places (places may be negative to multiply). */
export function shift(value: Decimal, places: number): Decimal {
  if (places >= 0) return normalise({ units: value.units, scale: value.scale + places });
  return normalise({ units: value.units * 10n ** BigInt(-places), scale: value.scale });
}

export function compare(a: Decimal, b: Decimal): number {
  const scale = Math.max(a.scale, b.scale);
  const difference = rescale(a, scale) - rescale(b, scale);
  return difference === 0n ? 0 : difference < 0n ? -1 : 1;
}

/** Plain notation without trailing zeros: "0.01", "14.4", "1". */
export function formatDecimal(value: Decimal): string {
  const negative = value.units < 0n;
  const digits = (negative ? -value.units : value.units).toString().padStart(value.scale + 1, '0');
  const whole = digits.slice(0, digits.length - value.scale);
  const fraction = digits.slice(digits.length - value.scale);
  return `${negative ? '-' : ''}${whole}${fraction === '' ? '' : `.${fraction}`}`;
}

export function toNumber(value: Decimal): number {
  return Number(formatDecimal(value));
}

function rescale(value: Decimal, scale: number): bigint {
  return value.units * 10n ** BigInt(scale - value.scale);
}

function normalise(value: Decimal): Decimal {
  let { units, scale } = value;
  while (scale > 0 && units % 10n === 0n) {
    units /= 10n;
    scale -= 1;
  }
  return { units, scale };
}
