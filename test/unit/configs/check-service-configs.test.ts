import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkStackConfig, formatDefects } from '../../../functions/alerting/check.js';
import { serviceConfigDefects } from '../../../functions/service-configs/check.js';
import { editCopiedFile, useStackConfigCopies } from '../../support/stack-config-copy.js';

const shipped = join(import.meta.dirname, '..', '..', '..', 'stack-config');
const stackConfigCopies = useStackConfigCopies('toilless-service-configs-');

describe('toilless check on the service configs and Grafana provisioning', () => {
  it('finds nothing wrong in the shipped files', () => {
    // Act
    const defects = serviceConfigDefects(shipped);

    // Assess
    expect(defects).toEqual([]);
  });

  it('names the file and the mistake, one line each', async () => {
    // Prepare: one mistake in each kind of file.
    const copy = await stackConfigCopies.copy();
    await editCopiedFile(join(copy, 'loki/loki.yaml'), (text) =>
      text.replace('retention_enabled: true', 'retention_enable: true'),
    );
    await editCopiedFile(join(copy, 'tempo/tempo.yaml'), (text) =>
      text.replace('stream_over_http_enabled', 'stream_over_http'),
    );
    await editCopiedFile(join(copy, 'otel-collector/config.yaml'), (text) =>
      text.replace('send_batch_size:', 'batch_size:'),
    );
    await editCopiedFile(join(copy, 'grafana/provisioning/datasources/datasources.yaml'), (text) =>
      text.replace(
        'serviceMap:\n        datasourceUid: prometheus',
        'serviceMap:\n        datasourceUid: mimir',
      ),
    );
    await editCopiedFile(join(copy, 'grafana/grafana.ini'), (text) =>
      text.replace('allow_sign_up = false', 'allow_sign_up = true'),
    );
    await editCopiedFile(join(copy, 'versions.yaml'), (text) => text.replace('tag: v1.9.1', 'tag: latest'));

    // Act
    const lines = formatDefects(await checkStackConfig(copy, { searchPath: '' })).split('\n');

    // Assess
    expect(lines).toEqual(
      expect.arrayContaining([
        'stack-config/loki/loki.yaml: unknown key "retention_enable" in compactor: Loki 3.4.6 refuses to start with it; did you mean "retention_enabled"?',
        'stack-config/loki/loki.yaml: compactor.retention_enabled must be true: without it logs are never deleted',
        expect.stringMatching(
          /^stack-config\/tempo\/tempo\.yaml: unknown key "stream_over_http" at the top level: Tempo 2\.7\.2 refuses to start with it \(see the Tempo 2\.7\.2 configuration reference/,
        ),
        'stack-config/tempo/tempo.yaml: stream_over_http_enabled must be true: the Grafana data source streams search results',
        expect.stringMatching(
          /^stack-config\/otel-collector\/config\.yaml: unknown key "batch_size" in processors\.batch: OpenTelemetry Collector contrib 0\.123\.0 refuses to start with it/,
        ),
        'stack-config/grafana/provisioning/datasources/datasources.yaml: data source tempo: links to data source uid "mimir", which is not provisioned',
        "stack-config/grafana/provisioning/datasources/datasources.yaml: data source tempo: jsonData.serviceMap.datasourceUid must be prometheus: the service map reads Tempo's service-graph metrics there",
        'stack-config/grafana/grafana.ini: [users] allow_sign_up must be false',
        'stack-config/versions.yaml: components.node-exporter.tag: pin an exact version: `latest` changes under a running stack',
      ]),
    );
  });

  it('reports a missing dashboards folder and provisioning directory', async () => {
    // Prepare
    const copy = await stackConfigCopies.copy();
    await rm(join(copy, 'grafana/dashboards'), { recursive: true });
    await rm(join(copy, 'grafana/provisioning/dashboards'), { recursive: true });

    // Act
    const defects = serviceConfigDefects(copy);

    // Assess
    expect(defects).toEqual([
      { path: 'grafana/provisioning/dashboards', message: 'missing' },
      {
        path: 'grafana/provisioning/dashboards',
        message:
          'no file provider reads /var/lib/grafana/dashboards, where the generated dashboards are mounted',
      },
      {
        path: 'grafana/provisioning/dashboards',
        message: 'stack-config/grafana/dashboards does not exist: run `npm run generate`',
      },
    ]);
  });
});
