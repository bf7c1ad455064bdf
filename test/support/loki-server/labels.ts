/** Label sets and integer division. */
import type { Labels } from './types.js';

export function labelsKey(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((name) => `${name}=${JSON.stringify(labels[name])}`)
    .join(',');
}

export function sortedLabels(labels: Labels): Labels {
  const sorted: Record<string, string> = {};
  const names = Object.keys(labels).sort();
  for (const name of names) sorted[name] = labels[name] ?? '';
  return sorted;
}

export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n ? q - 1n : q;
}

export function ceilDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a > 0n ? q + 1n : q;
}

/** ceil(a / b) for integers below 2^53, exact where float division could round across an integer. */
export function exactCeilDiv(a: number, b: number): number {
  let q = Math.ceil(a / b);
  while (q * b < a) q++;
  while ((q - 1) * b >= a) q--;
  return q;
}
