import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROCESSOR_COMPOSITIONS, WEBHOOK_COMPOSITIONS } from '../../../functions/compositions.js';
import { doraMetricsManifest } from '../../../functions/dora-metrics/manifest.js';
import { PROCESSOR_MANIFESTS, WEBHOOK_MANIFESTS } from '../../../functions/manifests.js';
import { EVENT_TYPES } from '../../../functions/shared/events/types.js';
import { scheduledTask, webhookPath } from '../../../functions/shared/workers/manifest.js';
import { SECRET_CATALOGUE } from '../../../functions/shared/workers/secret-catalogue.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const IMPORT = /^\s*import\s+(type\s+)?[^'";]*?\sfrom\s'([^']+)'/gm;
const MANIFESTS = [...WEBHOOK_MANIFESTS, ...PROCESSOR_MANIFESTS];

describe('Worker manifests', () => {
  it('are plain data: a manifest imports types only', () => {
    for (const manifest of MANIFESTS) {
      // Act
      const source = readFileSync(join(ROOT, 'functions', manifest.name, 'manifest.ts'), 'utf8');
      const valueImports = [...source.matchAll(IMPORT)].filter(([, type]) => !type).map(([, , from]) => from);

      // Assess
      expect(valueImports, manifest.name).toEqual([]);
    }
  });

  it('name known event types, catalogued secrets and top-level store prefixes', () => {
    for (const manifest of MANIFESTS) {
      // Prepare
      const events = [...manifest.emits, ...('consumes' in manifest ? manifest.consumes : [])];
      const { readWrite, read = [], write = [] } = manifest.store;

      // Assess
      for (const type of events) expect(EVENT_TYPES).toContain(type);
      for (const name of manifest.secrets) expect(SECRET_CATALOGUE).toHaveProperty(name);
      for (const prefix of [...readWrite, ...read, ...write])
        expect(prefix).toMatch(/^[a-z-]+\/([a-z-]+\/)*$/);
    }
  });

  it('each have a composition root, and the webhooks one route each', () => {
    // Assess
    expect(Object.keys(WEBHOOK_COMPOSITIONS).sort()).toEqual(WEBHOOK_MANIFESTS.map((m) => m.name).sort());
    expect(Object.keys(PROCESSOR_COMPOSITIONS).sort()).toEqual(PROCESSOR_MANIFESTS.map((m) => m.name).sort());
    const routes = WEBHOOK_MANIFESTS.map(webhookPath);
    expect(new Set(routes).size).toBe(routes.length);
  });

  it('give every processor the remote-write receiver its metrics are pushed to (processor-lambda.ts)', () => {
    for (const manifest of PROCESSOR_MANIFESTS) {
      // Assess: without it a hosted receiver apart from PROMETHEUS_URL would get nothing.
      expect(manifest.endpoints, manifest.name).toContain('remoteWriteUrl');
    }
  });

  it("tell a schedule's payload from a bus event", () => {
    // Prepare
    const [recompute] = doraMetricsManifest.schedules;

    // Assess
    expect(scheduledTask(doraMetricsManifest, recompute.payload)).toBe(recompute);
    expect(
      scheduledTask(doraMetricsManifest, { source: 'toilless.schedule', task: 'Other' }),
    ).toBeUndefined();
    expect(
      scheduledTask(doraMetricsManifest, { 'detail-type': 'GitHubPush', source: 'toilless', detail: {} }),
    ).toBeUndefined();
    expect(scheduledTask(doraMetricsManifest, null)).toBeUndefined();
  });
});
