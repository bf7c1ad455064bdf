import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { annotateDeployment, GrafanaClient, grafanaTag } from '../../../functions/shared/clients/grafana.js';
import { UpstreamError, ValidationError } from '../../../functions/shared/errors.js';
import { type GrafanaServer, startGrafanaServer } from '../../support/grafana-server.js';

const FINISHED_AT = '2026-09-01T10:15:30.000Z';

const deployment = {
  repository: 'acme/shop',
  environment: 'production',
  sha: '9f2c4e1d7a6b5c3e2f1a0b9c8d7e6f5a4b3c2d1e',
  deploymentId: '145988746',
  finishedAt: FINISHED_AT,
};

describe('Grafana client', () => {
  let grafana: GrafanaServer;
  let client: GrafanaClient;

  beforeEach(async () => {
    grafana = await startGrafanaServer({
      dashboards: [
        {
          uid: 'slo-overview',
          title: 'SLO overview',
          tags: ['slo'],
          panels: [{ id: 1, type: 'timeseries' }],
        },
        {
          uid: 'dora',
          title: 'DORA metrics',
          tags: ['dora'],
          folderUid: 'platform',
          folderTitle: 'Platform',
        },
      ],
    });
    client = new GrafanaClient({ baseUrl: `${grafana.url}/`, token: grafana.token });
  });

  afterEach(async () => {
    await grafana.close();
  });

  describe('annotations', () => {
    it('creates an annotation with epoch-millisecond times and a Bearer token', async () => {
      // Act
      const created = await client.createAnnotation({
        time: new Date(FINISHED_AT),
        tags: ['deploy', 'environment:production'],
        text: 'acme/shop deployed',
      });

      // Assess
      expect(created).toEqual({ id: 1, message: 'Annotation added' });
      expect(grafana.calls[0]?.body).toEqual({
        time: Date.parse(FINISHED_AT),
        tags: ['deploy', 'environment:production'],
        text: 'acme/shop deployed',
      });
      expect(grafana.annotations()).toEqual([
        expect.objectContaining({
          time: Date.parse(FINISHED_AT),
          timeEnd: Date.parse(FINISHED_AT),
          tags: ['deploy', 'environment:production'],
        }),
      ]);
    });

    it('finds annotations by all their tags within a time range, leaving out alert annotations', async () => {
      // Prepare
      const at = Date.parse(FINISHED_AT);
      await client.createAnnotation({
        time: new Date(at),
        tags: ['deploy', 'environment:production'],
        text: 'a',
      });
      await client.createAnnotation({
        time: new Date(at),
        tags: ['deploy', 'environment:staging'],
        text: 'b',
      });
      await client.createAnnotation({
        time: new Date(at - 7_200_000),
        tags: ['deploy', 'environment:production'],
        text: 'c',
      });
      grafana.addAlertAnnotation({ time: at, text: 'alerting', tags: ['deploy', 'environment:production'] });

      // Act
      const found = await client.findAnnotations({
        from: new Date(at - 3_600_000),
        to: new Date(at + 3_600_000),
        tags: ['deploy', 'environment:production'],
      });

      // Assess
      expect(found.map((a) => a.text)).toEqual(['a']);
    });

    it('reports an empty text as Grafana does: 400 Failed to save annotation', async () => {
      // Act
      const failure = await client
        .createAnnotation({ time: new Date(FINISHED_AT), tags: [], text: '' })
        .catch((error: unknown) => error);

      // Assess
      expect(failure).toBeInstanceOf(UpstreamError);
      expect(failure).toMatchObject({ service: 'grafana', status: 400 });
      expect((failure as Error).message).toBe(
        'grafana: POST /api/annotations answered 400: Failed to save annotation',
      );
    });
  });

  describe('deployment annotations', () => {
    it('marks a deployment with deploy, repository, environment and deployment tags and a short text', async () => {
      // Act
      const annotation = await annotateDeployment(client, deployment);

      // Assess
      expect(annotation).toEqual({ id: 1, created: true });
      expect(grafana.annotations()).toEqual([
        expect.objectContaining({
          time: Date.parse(FINISHED_AT),
          text: 'acme/shop 9f2c4e1 deployed to production',
          tags: ['deploy', 'repository:acme/shop', 'environment:production', 'deployment:145988746'],
        }),
      ]);
    });

    it('creates the annotation once when the same deployment is annotated twice', async () => {
      // Prepare
      const first = await annotateDeployment(client, deployment);

      // Act
      const second = await annotateDeployment(client, { ...deployment, deploymentId: 145988746 });

      // Assess
      expect(second).toEqual({ id: first.id, created: false });
      expect(grafana.annotations()).toHaveLength(1);
      expect(grafana.calls.map((c) => `${c.method} ${c.path}`)).toEqual([
        'GET /api/annotations',
        'POST /api/annotations',
        'GET /api/annotations',
      ]);
      expect(grafana.calls[2]?.query.tags).toEqual([
        'deploy',
        'repository:acme/shop',
        'deployment:145988746',
      ]);
    });

    it('annotates another deployment finishing at the same moment separately', async () => {
      // Prepare
      await annotateDeployment(client, deployment);

      // Act
      const other = await annotateDeployment(client, {
        ...deployment,
        deploymentId: '145988747',
        sha: 'abcdef0123',
      });

      // Assess
      expect(other.created).toBe(true);
      expect(grafana.annotations()).toHaveLength(2);
    });

    it('refuses a deployment that has not finished', async () => {
      // Act
      const { finishedAt: _finished, ...unfinished } = deployment;
      const failure = await annotateDeployment(client, unfinished).catch((error: unknown) => error);

      // Assess
      expect(failure).toBeInstanceOf(ValidationError);
      expect(grafana.calls).toEqual([]);
    });

    it('keeps tag values intact through Grafana splitting tags at colons', async () => {
      // Prepare
      const tag = grafanaTag('environment', ' eu:west:1 ');

      // Act
      await client.createAnnotation({ time: new Date(FINISHED_AT), tags: [tag, 'raw:eu:west:1'], text: 'x' });

      // Assess: the raw tag loses its tail in Grafana; the cleaned one survives whole.
      expect(tag).toBe('environment:eu-west-1');
      expect(grafana.annotations()[0]?.tags).toEqual(['environment:eu-west-1', 'raw:eu']);
    });

    it('cuts tag values to the 100 bytes Grafana stores', () => {
      // Act
      const tag = grafanaTag('repository', `acme/${'r'.repeat(120)}`);

      // Assess
      expect(tag).toBe(`repository:acme/${'r'.repeat(95)}`);
    });
  });

  describe('dashboards', () => {
    it('lists dashboards by title', async () => {
      // Act
      const hits = await client.searchDashboards();

      // Assess
      expect(hits.map((h) => [h.uid, h.title, h.url])).toEqual([
        ['dora', 'DORA metrics', '/d/dora/dora-metrics'],
        ['slo-overview', 'SLO overview', '/d/slo-overview/slo-overview'],
      ]);
      expect(grafana.calls[0]?.query).toMatchObject({ type: ['dash-db'] });
    });

    it('reads a dashboard model by uid', async () => {
      // Act
      const document = await client.getDashboard('slo-overview');

      // Assess
      expect(document.dashboard).toMatchObject({
        uid: 'slo-overview',
        title: 'SLO overview',
        panels: [{ id: 1 }],
      });
      expect(document.meta).toMatchObject({ slug: 'slo-overview', url: '/d/slo-overview/slo-overview' });
    });

    it('reports an unknown uid as a 404 with Grafana’s message', async () => {
      // Act
      const failure = await client.getDashboard('missing').catch((error: unknown) => error);

      // Assess
      expect(failure).toMatchObject({ service: 'grafana', status: 404 });
      expect((failure as Error).message).toContain('Dashboard not found');
    });
  });

  describe('authentication', () => {
    it('turns a refused token into an UpstreamError with Grafana’s message and no token', async () => {
      // Prepare
      const wrong = new GrafanaClient({ baseUrl: grafana.url, token: 'glsa_not_the_right_one_0000' });

      // Act
      const failure = await annotateDeployment(wrong, deployment).catch((error: unknown) => error);

      // Assess
      expect(failure).toBeInstanceOf(UpstreamError);
      expect(failure).toMatchObject({ service: 'grafana', status: 401 });
      expect((failure as Error).message).toContain('Invalid API key');
      expect((failure as Error).message).toContain('GRAFANA_TOKEN was refused');
      expect((failure as Error).message).not.toContain('glsa_not_the_right_one_0000');
      expect(grafana.annotations()).toEqual([]);
    });

    it('says when Grafana cannot be reached', async () => {
      // Prepare: a port that was just closed (the replacement server keeps afterEach simple).
      const stopped = grafana;
      grafana = await startGrafanaServer();
      await stopped.close();
      const unreachable = new GrafanaClient({ baseUrl: stopped.url, token: stopped.token, timeoutMs: 2000 });

      // Act
      const failure = await unreachable.searchDashboards().catch((error: unknown) => error);

      // Assess
      expect(failure).toBeInstanceOf(UpstreamError);
      expect((failure as Error).message).toMatch(/GET \/api\/search failed: .*ECONNREFUSED/);
    });
  });
});
