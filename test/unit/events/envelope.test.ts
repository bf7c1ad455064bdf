import { describe, expect, it } from 'vitest';
import {
  eventBridgeDetailSchema,
  toillessEventEnvelopeSchema,
} from '../../../functions/shared/events/envelope.js';

const EVENT = {
  id: 'incident:20261128T0839-sample-app-c32d9a39:opened',
  type: 'IncidentOpened',
  time: '2026-11-28T08:39:38.000+01:00',
  detail: { incidentId: '20261128T0839-sample-app-c32d9a39' },
};

describe('Event envelope', () => {
  it('accepts an event of a known type with an ISO time and an object detail', () => {
    // Act & Assess
    expect(toillessEventEnvelopeSchema.safeParse(EVENT).success).toBe(true);
  });

  it('refuses an unknown type, an empty id, a time without offset and a detail that is not an object', () => {
    // Act
    const refused = [
      { ...EVENT, type: 'IncidentExploded' },
      { ...EVENT, id: '' },
      { ...EVENT, time: '2026-11-28 08:39:38' },
      { ...EVENT, time: '2026-11-28T08:39:38' },
      { ...EVENT, detail: ['not', 'an', 'object'] },
      { ...EVENT, detail: null },
    ].map((event) => toillessEventEnvelopeSchema.safeParse(event));

    // Assess
    expect(refused.map((result) => result.success)).toEqual([false, false, false, false, false, false]);
    expect(refused[0]?.error?.issues[0]?.path).toEqual(['type']);
  });

  it('reads an EventBridge Detail without its type, which travels as DetailType', () => {
    // Prepare
    const { type: _type, ...detail } = EVENT;

    // Act
    const parsed = eventBridgeDetailSchema.parse({ ...detail, type: 'ignored' });

    // Assess
    expect(parsed).toEqual(detail);
  });
});
