import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../../functions/shared/errors.js';
import {
  imageReference,
  loadStackVersions,
  parseStackVersions,
  STACK_COMPONENTS,
} from '../../../functions/shared/versions.js';

const fixtures = join(import.meta.dirname, '..', '..', 'fixtures');

function buildVersion(service: 'loki' | 'tempo'): string {
  const recorded = JSON.parse(readFileSync(join(fixtures, service, 'buildinfo.json'), 'utf8')) as {
    body: { version: string };
  };
  return recorded.body.version.replace(/^v/, '');
}

const SHIPPED = readFileSync(
  join(import.meta.dirname, '..', '..', '..', 'stack-config', 'versions.yaml'),
  'utf8',
);

describe('stack-config/versions.yaml', () => {
  it('names an exact image for every component of the stack', () => {
    // Act
    const versions = loadStackVersions();

    // Assess
    expect(Object.keys(versions).sort()).toEqual([...STACK_COMPONENTS].sort());
    for (const component of STACK_COMPONENTS) {
      expect(imageReference(versions[component])).toMatch(/^[a-z0-9./-]+:[\w.-]+$/);
    }
  });

  it('pins Loki and Tempo to the versions the recorded responses came from', () => {
    // Act
    const versions = loadStackVersions();

    // Assess
    expect(versions.loki.tag).toBe(buildVersion('loki'));
    expect(versions.tempo.tag).toBe(buildVersion('tempo'));
    expect(versions.loki.tag).toMatch(/^3\.4\.\d+$/);
    expect(versions.tempo.tag).toMatch(/^2\.7\.\d+$/);
  });

  it('refuses `latest`, saying to pin a version', () => {
    // Prepare
    const text = SHIPPED.replace('tag: v1.9.1', 'tag: latest');

    // Act
    const parse = () => parseStackVersions(text);

    // Assess
    expect(parse).toThrow(ConfigurationError);
    expect(parse).toThrow(/components\.node-exporter\.tag: pin an exact version/);
  });

  it('refuses a file that leaves out a component or adds an unknown one', () => {
    // Prepare
    const withoutTempo = SHIPPED.replace(/ {2}tempo:\n {4}image: grafana\/tempo\n {4}tag: [^\n]+\n/, '');
    const withExtra = `${SHIPPED}  mimir:\n    image: grafana/mimir\n    tag: 2.14.0\n`;

    // Act + Assess
    expect(withoutTempo).not.toBe(SHIPPED);
    expect(() => parseStackVersions(withoutTempo)).toThrow(/components\.tempo/);
    expect(() => parseStackVersions(withExtra)).toThrow(/mimir/);
  });

  it('reads a numeric tag as text', () => {
    // Prepare
    const text = SHIPPED.replace('tag: 3.4.6', 'tag: 3');

    // Act
    const versions = parseStackVersions(text);

    // Assess
    expect(versions.loki.tag).toBe('3');
  });

  it('refuses text that is not YAML, naming the file', () => {
    // Act
    const parse = () => parseStackVersions('components: [loki', 'stack-config/versions.yaml');

    // Assess
    expect(parse).toThrow(ConfigurationError);
    expect(parse).toThrow(/^stack-config\/versions\.yaml: not valid YAML: /);
  });

  it('says which file it could not read', () => {
    // Act
    const load = () => loadStackVersions(join(fixtures, 'no-such-stack-config'));

    // Assess
    expect(load).toThrow(ConfigurationError);
    expect(load).toThrow(/^cannot read .*no-such-stack-config\/versions\.yaml: ENOENT/);
  });
});
