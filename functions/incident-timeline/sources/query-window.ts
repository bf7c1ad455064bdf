/** The time range every source queries, and the short hashes that make event keys stable. */
import { createHash } from 'node:crypto';
import type { EvidenceRequest } from '../model.js';

/** The request's window; never empty, as Loki and Prometheus refuse an end at or before the start. */
export function queryWindow(request: EvidenceRequest): { readonly from: Date; readonly to: Date } {
  // A resolved incident can end before the window's start when the sources' clocks disagree.
  const to =
    request.to.getTime() > request.from.getTime() ? request.to : new Date(request.from.getTime() + 60_000);
  return { from: request.from, to };
}

/** 12 hex digits of sha256: part of `details.key`, so the same fact found twice is kept once. */
export function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 12);
}
