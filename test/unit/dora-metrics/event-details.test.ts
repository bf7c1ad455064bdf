import { describe, expect, it } from 'vitest';
import { checkedDetail } from '../../../functions/dora-metrics/event-details.js';
import { ValidationError } from '../../../functions/shared/errors.js';
import type { ToillessEvent } from '../../../functions/shared/events/types.js';
import { deploymentCreated, incidentOpened, sha } from './events.js';

describe('DORA event details', () => {
  it('normalises times to UTC so that equal facts give equal records', () => {
    // Prepare
    const event = deploymentCreated({ id: 7, sha: sha('a'), createdAt: '2026-11-25T11:00:00+02:00' });

    // Act
    const checked = checkedDetail(event);

    // Assess
    expect(checked?.type).toBe('GitHubDeployment');
    expect(checked?.detail).toMatchObject({ deploymentId: 7, createdAt: '2026-11-25T09:00:00.000Z' });
  });

  it('refuses a detail without a field the worker reads, naming the event and the field', () => {
    // Prepare
    const event = incidentOpened({
      id: 'inc-1',
      services: ['shop'],
      severity: 'critical',
      startedAt: '2026-11-25T09:00:00Z',
    });
    const broken = { ...event, detail: { ...event.detail, startedAt: 'yesterday' } } as ToillessEvent;

    // Act
    const check = () => checkedDetail(broken);

    // Assess
    expect(check).toThrow(ValidationError);
    expect(check).toThrow(/IncidentOpened event incident:inc-1:opened/);
    expect(check).toThrow(/startedAt/);
  });

  it('leaves events the worker does not take to the caller', () => {
    // Prepare
    const event = {
      id: 'r1',
      type: 'ReportPublished',
      time: '2026-11-25T09:00:00Z',
      detail: {},
    } as unknown as ToillessEvent;

    // Act
    const checked = checkedDetail(event);

    // Assess
    expect(checked).toBeUndefined();
  });
});
