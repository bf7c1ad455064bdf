import { describe, expect, it } from 'vitest';
import { attributeIncidents } from '../../../../functions/dora-metrics/metrics/attribution.js';
import { ledgerOfEntries } from '../../../../functions/dora-metrics/metrics/ledger.js';
import type { IncidentFact, LedgerEntry } from '../../../../functions/dora-metrics/model.js';
import { REPOSITORY } from '../events.js';
import { CONFIG } from '../harness.js';

function finished(id: string, finishedAt: string, outcome: 'success' | 'failure' = 'success'): LedgerEntry {
  return {
    id,
    sha: id.padEnd(40, '0'),
    outcome,
    finishedAt,
    leadTime: 'counted',
    leadTimeSeconds: [],
    attributedIncidents: [],
  };
}

function incident(id: string, startedAt: string, services: readonly string[] = ['shop']): IncidentFact {
  return { id, services, startedAt };
}

const production = (entries: readonly LedgerEntry[]) =>
  ledgerOfEntries({ repository: REPOSITORY, environment: 'production' }, true, entries);

describe('Incident attribution', () => {
  it('counts an incident against the latest successful production deployment before it', () => {
    // Prepare: 101 succeeded at 09:00, 102 failed at 09:30; the incident starts at 09:40.
    const ledger = production([
      finished('101', '2026-11-25T09:00:00.000Z'),
      finished('102', '2026-11-25T09:30:00.000Z', 'failure'),
    ]);

    // Act
    const attributions = attributeIncidents(CONFIG, [incident('i1', '2026-11-25T09:40:00.000Z')], [ledger]);

    // Assess
    expect(attributions).toEqual([
      {
        incident: incident('i1', '2026-11-25T09:40:00.000Z'),
        repository: REPOSITORY,
        environment: 'production',
        deploymentId: '101',
      },
    ]);
  });

  it('counts nothing when the deployment finished longer than the attribution window before', () => {
    // Prepare: the default window is 1h; 1h01m passed.
    const ledger = production([finished('101', '2026-11-25T09:00:00.000Z')]);

    // Act
    const attributions = attributeIncidents(CONFIG, [incident('i1', '2026-11-25T10:01:00.000Z')], [ledger]);

    // Assess
    expect(attributions).toEqual([]);
  });

  it('counts nothing for a deployment that finished at or after the incident started', () => {
    // Prepare
    const ledger = production([finished('101', '2026-11-25T09:40:00.000Z')]);

    // Act
    const attributions = attributeIncidents(CONFIG, [incident('i1', '2026-11-25T09:40:00.000Z')], [ledger]);

    // Assess
    expect(attributions).toEqual([]);
  });

  it('ignores services no repository maps to, and environments that are not production', () => {
    // Prepare
    const staging = ledgerOfEntries({ repository: REPOSITORY, environment: 'staging' }, false, [
      finished('201', '2026-11-25T09:30:00.000Z'),
    ]);
    const ledger = production([finished('101', '2026-11-25T09:00:00.000Z')]);

    // Act
    const attributions = attributeIncidents(
      CONFIG,
      [
        incident('unmapped', '2026-11-25T09:40:00.000Z', ['legacy']),
        incident('i1', '2026-11-25T09:40:00.000Z'),
      ],
      [staging, ledger],
    );

    // Assess
    expect(attributions.map((attribution) => [attribution.incident.id, attribution.deploymentId])).toEqual([
      ['i1', '101'],
    ]);
  });
});
