import { describe, expect, it } from 'vitest';
import type { EvidenceGatherer, TimelineEvent } from '../../../functions/incident-timeline/model.js';
import { buildTimelineOnce } from '../../../functions/incident-timeline/timeline-preview.js';
import { ValidationError } from '../../../functions/shared/errors.js';
import type { AlertmanagerPayload } from '../../../functions/shared/events/alertmanager.js';
import { parseToillessConfig } from '../../../functions/shared/stack-config.js';
import { RecordingClock } from '../../support/recording-clock.js';
import { capturedPayload, resolvedAll } from './payloads.js';

const config = parseToillessConfig('links:\n  grafanaUrl: https://grafana.example.com\n');
const clock = new RecordingClock(new Date('2026-11-28T08:45:00Z'));

const LOG_ERROR: TimelineEvent = {
  at: '2026-11-28T08:39:41Z',
  kind: 'log.error',
  source: 'loki',
  summary: 'GET /error failed: upstream returned 500',
  relevance: 'normal',
  links: [],
  details: {},
};

describe('Timeline preview (toilless timeline)', () => {
  it("builds the payload's timeline with the evidence merged in, and its Markdown draft", async () => {
    // Prepare
    const payload = await capturedPayload('firing-fastburnrate.json');
    const gatherEvidence: EvidenceGatherer = async () => [LOG_ERROR, LOG_ERROR];

    // Act
    const { timeline, markdown } = await buildTimelineOnce(payload, { clock, config, gatherEvidence });

    // Assess
    expect(timeline).toMatchObject({ status: 'open', service: 'sample-app', severity: 'critical' });
    expect(timeline.events.filter((event) => event.kind === 'log.error')).toEqual([LOG_ERROR]);
    expect(timeline.events.some((event) => event.kind === 'alert.firing')).toBe(true);
    expect(markdown).toContain('GET /error failed: upstream returned 500');
    expect(markdown.startsWith('# ')).toBe(true);
  });

  it('builds a resolved timeline from a payload whose alerts all ended', async () => {
    // Prepare
    const payload = resolvedAll(await capturedPayload('firing-fastburnrate.json'), '2026-11-28T08:44:00Z');

    // Act
    const { timeline } = await buildTimelineOnce(payload, { clock, config, gatherEvidence: async () => [] });

    // Assess
    expect(timeline.status).toBe('resolved');
    expect(timeline.resolvedAt).toBe('2026-11-28T08:44:00.000Z');
  });

  it('still builds the timeline when the evidence cannot be gathered, noting the source as unavailable', async () => {
    // Prepare
    const payload = await capturedPayload('firing-fastburnrate.json');
    const failing: EvidenceGatherer = async () => {
      throw new Error('connect ECONNREFUSED 127.0.0.1:9090');
    };

    // Act
    const { timeline } = await buildTimelineOnce(payload, { clock, config, gatherEvidence: failing });

    // Assess
    expect(timeline.events.filter((event) => event.kind === 'source.unavailable')).toEqual([
      expect.objectContaining({ summary: 'evidence gathering failed: connect ECONNREFUSED 127.0.0.1:9090' }),
    ]);
  });

  it('refuses a payload that is not an Alertmanager notification, naming what is wrong, before gathering', async () => {
    // Prepare
    const payload = { ...(await capturedPayload('firing-fastburnrate.json')), alerts: [] };
    let asked = false;
    const gatherEvidence: EvidenceGatherer = async () => {
      asked = true;
      return [];
    };

    // Act
    const building = buildTimelineOnce(payload as AlertmanagerPayload, { clock, config, gatherEvidence });

    // Assess
    await expect(building).rejects.toBeInstanceOf(ValidationError);
    await expect(building).rejects.toThrow(
      'invalid Alertmanager payload: alerts: a notification carries at least one alert',
    );
    expect(asked).toBe(false);
  });
});
