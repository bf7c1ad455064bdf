import { describe, expect, it } from 'vitest';
import {
  compare,
  decimalFromNumber,
  formatDecimal,
  multiply,
  parseDecimal,
  shift,
  subtract,
  toNumber,
} from '../../../functions/shared/decimal.js';

const d = parseDecimal;

describe('Exact decimals', () => {
  it('computes an error budget without binary rounding: 1 - 0.999 is 0.001', () => {
    // Act
    const budget = subtract(d('1'), shift(d('99.9'), 2));

    // Assess
    expect(1 - 0.999).not.toBe(0.001);
    expect(formatDecimal(budget)).toBe('0.001');
    expect(toNumber(budget)).toBe(0.001);
  });

  it('multiplies a burn rate by a budget exactly', () => {
    // Act & Assess
    expect(formatDecimal(multiply(d('14.4'), d('0.001')))).toBe('0.0144');
    expect(formatDecimal(multiply(d('-2.5'), d('4')))).toBe('-10');
  });

  it('writes plain notation without trailing zeros', () => {
    // Act & Assess
    expect(formatDecimal(d('1.500'))).toBe('1.5');
    expect(formatDecimal(d('0.010'))).toBe('0.01');
    expect(formatDecimal(d('100'))).toBe('100');
    expect(formatDecimal(d('-0.5'))).toBe('-0.5');
    expect(formatDecimal(shift(d('5'), -3))).toBe('5000');
  });

  it('compares values of different scales', () => {
    // Act & Assess
    expect(compare(d('0.1'), d('0.10'))).toBe(0);
    expect(compare(d('0.09'), d('0.1'))).toBe(-1);
    expect(compare(d('2'), d('-3.5'))).toBe(1);
  });

  it('refuses exponents and other text, quoting it', () => {
    // Act & Assess
    expect(() => d('1e-3')).toThrow(new RangeError('not a plain decimal number: "1e-3"'));
    expect(() => d('99,9')).toThrow(RangeError);
    expect(() => d('')).toThrow(RangeError);
  });

  it('takes a number as JavaScript writes it, and refuses one written with an exponent or not finite', () => {
    // Act & Assess
    expect(formatDecimal(decimalFromNumber(99.95))).toBe('99.95');
    expect(() => decimalFromNumber(1e-7)).toThrow('1e-7 has too many digits for a decimal here');
    expect(() => decimalFromNumber(Number.NaN)).toThrow('not a finite number: NaN');
  });
});
