import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import {
  bindMounts,
  type ComposeContext,
  composeProblems,
} from '../../../functions/service-configs/docker-compose.js';
import {
  ECS_ONLY_COMPONENTS,
  imageReference,
  loadStackVersions,
  type StackComponent,
} from '../../../functions/shared/versions.js';

const repo = join(import.meta.dirname, '..', '..', '..');
const SHIPPED = readFileSync(join(repo, 'docker-compose.yml'), 'utf8');

function context(): ComposeContext {
  return {
    versions: loadStackVersions(),
    exists: (path) => existsSync(join(repo, path)),
    secretsScript: readFileSync(join(repo, 'scripts', 'compose-secrets.sh'), 'utf8'),
  };
}

describe('docker-compose.yml', () => {
  it('runs the images versions.yaml names, mounts files that exist, and starts each service as its config expects', () => {
    // Act
    const problems = composeProblems(SHIPPED, context());

    // Assess
    expect(problems).toEqual([]);
  });

  it('runs every component of versions.yaml, with the same image and tag', () => {
    // Prepare
    const versions = loadStackVersions();
    const services = (parseYaml(SHIPPED) as { services: Record<string, { image: string }> }).services;

    // Act
    const images = new Set(Object.values(services).map((service) => service.image));

    // Assess
    const composed = Object.entries(versions).filter(
      ([name]) => !ECS_ONLY_COMPONENTS.includes(name as StackComponent),
    );
    expect([...images].sort()).toEqual(composed.map(([, image]) => imageReference(image)).sort());
  });

  it('mounts only stack-config files, the repository itself for toilless serve, and the host root for node-exporter', () => {
    // Act
    const sources = new Set(bindMounts(parseYaml(SHIPPED)).map((mount) => mount.source));

    // Assess
    expect([...sources].filter((source) => !source.startsWith('./stack-config/')).sort()).toEqual(['.', '/']);
    for (const source of sources) {
      if (source.startsWith('./')) expect(existsSync(join(repo, source)), source).toBe(true);
    }
  });

  it('reports an image whose tag differs from versions.yaml', () => {
    // Prepare
    const text = SHIPPED.replace('image: grafana/loki:3.4.6', 'image: grafana/loki:3.5.0');

    // Act
    const problems = composeProblems(text, context());

    // Assess
    expect(problems).toEqual([
      'service loki runs grafana/loki:3.5.0 but stack-config/versions.yaml pins loki at grafana/loki:3.4.6',
    ]);
  });

  it('reports a mounted file that does not exist and a service started without its local variant', () => {
    // Prepare
    const text = SHIPPED.replace(
      './stack-config/tempo/tempo.yaml:',
      './stack-config/tempo/tempo.yml:',
    ).replace('      LOKI_STORAGE: filesystem\n', '      LOKI_STORAGE: s3\n');

    // Act
    const problems = composeProblems(text, context());

    // Assess
    expect(problems).toEqual([
      'service tempo mounts ./stack-config/tempo/tempo.yml, which does not exist',
      'service loki must set LOKI_STORAGE=filesystem: the local variant of its config',
    ]);
  });

  it('reports Grafana started without a password file, which would mean admin/admin', () => {
    // Prepare
    const text = SHIPPED.replace(
      '      GF_SECURITY_ADMIN_PASSWORD__FILE: /run/secrets/grafana-admin-password\n',
      '      GF_AUTH_ANONYMOUS_ENABLED: "true"\n',
    );

    // Act
    const problems = composeProblems(text, context());

    // Assess
    expect(problems).toEqual([
      'service grafana must set GF_SECURITY_ADMIN_PASSWORD__FILE: without it Grafana starts with admin/admin',
      'service grafana must not enable anonymous access',
    ]);
  });

  it('reports a secret that the secrets script does not create', () => {
    // Prepare
    const text = SHIPPED.replace('file: ./.secrets/slack-webhook-url', 'file: ./slack-webhook-url');

    // Act
    const problems = composeProblems(text, context());

    // Assess
    expect(problems).toEqual([
      'secret slack-webhook-url (./slack-webhook-url) must be a file under .secrets/ that scripts/compose-secrets.sh creates',
    ]);
  });

  it('reports a key docker compose would refuse, in a service or a long-syntax entry', () => {
    // Prepare: an x- extension key is fine, a misspelled key is not.
    const text = `x-logging: {driver: local}\n${SHIPPED}`
      .replace('    restart: unless-stopped\n', '    restart_policy: unless-stopped\n')
      .replace('condition: service_completed_successfully', 'conditon: service_completed_successfully');

    // Act
    const problems = composeProblems(text, context());

    // Assess
    expect(problems).toEqual([
      expect.stringMatching(
        /^unknown key "restart_policy" in services\.prometheus: docker compose refuses to start with it \(see the Compose Specification/,
      ),
      'unknown key "conditon" in services.tempo.depends_on.tempo-init: docker compose refuses to start with it; did you mean "condition"?',
    ]);
  });
});
