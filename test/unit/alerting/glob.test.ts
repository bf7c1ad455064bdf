import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expandGlob } from '../../../functions/alerting/glob.js';

describe('Rule file globs (as Prometheus expands rule_files)', () => {
  let base: string;

  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), 'toilless-glob-'));
    await mkdir(join(base, 'alerts', 'nested'), { recursive: true });
    await mkdir(join(base, 'alerts', 'dir.yml'));
    for (const name of [
      'b-slo.yml',
      'a-node.yml',
      'c.yaml',
      'x1.yml',
      'x2.yml',
      'notes.txt',
      'nested/deep.yml',
    ]) {
      await writeFile(join(base, 'alerts', name), 'groups: []\n');
    }
  });

  afterAll(async () => {
    await rm(base, { recursive: true, force: true });
  });

  it('matches * within one segment, sorted, and never a folder', () => {
    // Act
    const files = expandGlob('alerts/*.yml', base);

    // Assess
    expect(files).toEqual(
      ['a-node.yml', 'b-slo.yml', 'x1.yml', 'x2.yml'].map((name) => join(base, 'alerts', name)),
    );
  });

  it('does not descend into subfolders: there is no **', () => {
    // Act & Assess
    expect(expandGlob('alerts/**.yml', base)).not.toContain(join(base, 'alerts', 'nested', 'deep.yml'));
    expect(expandGlob('alerts/*/deep.yml', base)).toEqual([join(base, 'alerts', 'nested', 'deep.yml')]);
  });

  it('matches ? as one character and [...] as a class, negated with ^', () => {
    // Act & Assess
    expect(expandGlob('alerts/x?.yml', base)).toEqual([
      join(base, 'alerts', 'x1.yml'),
      join(base, 'alerts', 'x2.yml'),
    ]);
    expect(expandGlob('alerts/x[2].yml', base)).toEqual([join(base, 'alerts', 'x2.yml')]);
    expect(expandGlob('alerts/[^ab]*.y*ml', base)).toEqual([
      join(base, 'alerts', 'c.yaml'),
      join(base, 'alerts', 'x1.yml'),
      join(base, 'alerts', 'x2.yml'),
    ]);
  });

  it('takes a dot and other regular expression characters literally', () => {
    // Act & Assess
    expect(expandGlob('alerts/c.yaml', base)).toEqual([join(base, 'alerts', 'c.yaml')]);
    expect(expandGlob('alerts/c?yaml', base)).toEqual([join(base, 'alerts', 'c.yaml')]);
    expect(expandGlob('alerts/a-node+yml', base)).toEqual([]);
  });

  it('answers nothing for a pattern or folder that matches nothing, and reads absolute patterns as given', () => {
    // Act & Assess
    expect(expandGlob('missing/*.yml', base)).toEqual([]);
    expect(expandGlob('alerts/*.json', base)).toEqual([]);
    expect(expandGlob(join(base, 'alerts', 'a-*.yml'), '/elsewhere')).toEqual([
      join(base, 'alerts', 'a-node.yml'),
    ]);
  });
});
