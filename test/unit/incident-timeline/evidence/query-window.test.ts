import { describe, expect, it } from 'vitest';
import type { EvidenceRequest } from '../../../../functions/incident-timeline/model.js';
import { queryWindow, shortHash } from '../../../../functions/incident-timeline/sources/query-window.js';

function request(from: string, to: string): EvidenceRequest {
  return {
    incidentId: 'incident-1',
    service: 'sample-app',
    alerts: [],
    onset: new Date(from),
    from: new Date(from),
    to: new Date(to),
    signal: new AbortController().signal,
  };
}

describe('Query window of the evidence sources', () => {
  it('queries the window the request asks for', () => {
    // Act
    const window = queryWindow(request('2026-11-28T08:09:38Z', '2026-11-28T08:45:00Z'));

    // Assess
    expect(window.from.toISOString()).toBe('2026-11-28T08:09:38.000Z');
    expect(window.to.toISOString()).toBe('2026-11-28T08:45:00.000Z');
  });

  it('widens a window that ends at or before its start to one minute, which the sources accept', () => {
    // Act
    const empty = queryWindow(request('2026-11-28T08:09:38Z', '2026-11-28T08:09:38Z'));
    const backwards = queryWindow(request('2026-11-28T08:09:38Z', '2026-11-28T08:00:00Z'));

    // Assess
    expect(empty.to.toISOString()).toBe('2026-11-28T08:10:38.000Z');
    expect(backwards.from.toISOString()).toBe('2026-11-28T08:09:38.000Z');
    expect(backwards.to.toISOString()).toBe('2026-11-28T08:10:38.000Z');
  });

  it('hashes a fact to the same 12 hex digits in every version, since stored event keys hold them', () => {
    // Act
    const first = shortHash('GET /error 500');
    const again = shortHash('GET /error 500');
    const other = shortHash('GET /error 502');

    // Assess
    expect(first).toBe('fd3424539d57');
    expect(again).toBe(first);
    expect(other).not.toBe(first);
  });
});
