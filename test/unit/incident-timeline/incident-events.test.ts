import { describe, expect, it } from 'vitest';
import { incidentEvent, publishPendingEvents } from '../../../functions/incident-timeline/incident-events.js';
import type { IncidentTimeline } from '../../../functions/incident-timeline/model.js';
import { EventPublishError } from '../../../functions/shared/errors.js';
import { silentLogger } from '../../../functions/shared/log.js';
import { RecordingBus } from '../../support/recording-bus.js';
import { openedTimeline } from './timelines.js';

function resolvedAt(timeline: IncidentTimeline, at: string): IncidentTimeline {
  return { ...timeline, status: 'resolved', resolvedAt: at };
}

describe('Incident events', () => {
  it('builds IncidentOpened with an id of the incident alone, timed at its start', async () => {
    // Prepare
    const timeline = await openedTimeline();

    // Act
    const event = incidentEvent(timeline, 'IncidentOpened');

    // Assess
    expect(event).toEqual({
      id: `incident:${timeline.id}:opened`,
      type: 'IncidentOpened',
      time: timeline.startedAt,
      detail: {
        incidentId: timeline.id,
        title: timeline.title,
        services: ['sample-app'],
        severity: 'critical',
        startedAt: timeline.startedAt,
      },
    });
  });

  it('builds IncidentResolved with the duration in whole seconds from start to resolution', async () => {
    // Prepare
    const opened = await openedTimeline();
    const startedAt = Date.parse(opened.startedAt);
    const timeline = resolvedAt(opened, new Date(startedAt + 754_600).toISOString());

    // Act
    const event = incidentEvent(timeline, 'IncidentResolved');

    // Assess
    expect(event?.id).toBe(`incident:${timeline.id}:resolved`);
    expect(event?.time).toBe(timeline.resolvedAt);
    expect(event?.detail).toMatchObject({ resolvedAt: timeline.resolvedAt, durationSeconds: 755 });
  });

  it('never reports a negative duration for a resolution stamped before the start', async () => {
    // Prepare
    const opened = await openedTimeline();
    const timeline = resolvedAt(opened, new Date(Date.parse(opened.startedAt) - 60_000).toISOString());

    // Act
    const event = incidentEvent(timeline, 'IncidentResolved');

    // Assess
    expect(event?.detail).toMatchObject({ durationSeconds: 0 });
  });

  it('builds no IncidentResolved for an incident still open', async () => {
    // Act
    const event = incidentEvent(await openedTimeline(), 'IncidentResolved');

    // Assess
    expect(event).toBeUndefined();
  });

  it('builds the same event from the same timeline every time, so that copies deduplicate', async () => {
    // Prepare
    const timeline = resolvedAt(await openedTimeline(), '2026-11-28T09:00:00.000Z');

    // Act
    const first = incidentEvent(timeline, 'IncidentResolved');
    const second = incidentEvent(structuredClone(timeline), 'IncidentResolved');

    // Assess
    expect(second).toEqual(first);
  });

  describe('publishing the pending events', () => {
    it('publishes them in one batch and answers their types as done', async () => {
      // Prepare
      const bus = new RecordingBus();
      const timeline: IncidentTimeline = {
        ...resolvedAt(await openedTimeline(), '2026-11-28T09:00:00.000Z'),
        pendingEvents: ['IncidentOpened', 'IncidentResolved'],
      };

      // Act
      const published = await publishPendingEvents(bus, silentLogger, timeline);

      // Assess
      expect(published).toEqual({ types: ['IncidentOpened', 'IncidentResolved'] });
      expect(bus.attempts).toBe(1);
      expect(bus.published.map((event) => event.id)).toEqual([
        `incident:${timeline.id}:opened`,
        `incident:${timeline.id}:resolved`,
      ]);
    });

    it('answers no type done and the error when the bus refuses, without throwing', async () => {
      // Prepare
      const bus = new RecordingBus().failNext();
      const timeline: IncidentTimeline = { ...(await openedTimeline()), pendingEvents: ['IncidentOpened'] };

      // Act
      const published = await publishPendingEvents(bus, silentLogger, timeline);

      // Assess
      expect(published.types).toEqual([]);
      expect(published.error).toBeInstanceOf(EventPublishError);
      expect(bus.published).toEqual([]);
    });

    it('calls the bus not at all when nothing is pending', async () => {
      // Prepare
      const bus = new RecordingBus();
      const timeline: IncidentTimeline = { ...(await openedTimeline()), pendingEvents: [] };

      // Act
      const published = await publishPendingEvents(bus, silentLogger, timeline);

      // Assess
      expect(published).toEqual({ types: [] });
      expect(bus.attempts).toBe(0);
    });
  });
});
