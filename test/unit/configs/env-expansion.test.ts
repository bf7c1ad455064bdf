import { describe, expect, it } from 'vitest';
import { expandEnv, referencedVariables } from '../../../functions/service-configs/env-expansion.js';

describe(`Expanding \${VAR} as Loki and Tempo do with -config.expand-env`, () => {
  it('replaces set variables and leaves unset ones empty', () => {
    // Act
    const text = expandEnv(`bucket: \${BUCKET}\nregion: $REGION\nprefix: \${MISSING}`, {
      BUCKET: 'b',
      REGION: 'r',
    });

    // Assess
    expect(text).toBe('bucket: b\nregion: r\nprefix: ');
  });

  it(`uses the fallback of \${VAR:-x} when the variable is unset or empty, and of \${VAR-x} only when unset`, () => {
    // Act
    const unset = expandEnv(`\${A:-s3} \${B-s3}`, {});
    const empty = expandEnv(`\${A:-s3} \${B-s3}`, { A: '', B: '' });
    const set = expandEnv(`\${A:-s3} \${B-s3}`, { A: 'filesystem', B: 'local' });

    // Assess
    expect(unset).toBe('s3 s3');
    expect(empty).toBe('s3 ');
    expect(set).toBe('filesystem local');
  });

  it('keeps $$ as a literal $', () => {
    // Act
    const text = expandEnv(`price: $$5 \${A}`, { A: 'x' });

    // Assess
    expect(text).toBe('price: $5 x');
  });

  it('lists the variables a config reads', () => {
    // Act
    const names = referencedVariables(
      `a: \${LOKI_S3_BUCKET}\nb: \${LOKI_STORAGE:-s3}\nc: s3.\${AWS_REGION}.x\nd: $$literal`,
    );

    // Assess
    expect(names).toEqual(['AWS_REGION', 'LOKI_S3_BUCKET', 'LOKI_STORAGE']);
  });
});
