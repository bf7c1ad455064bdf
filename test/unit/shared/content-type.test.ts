import { describe, expect, it } from 'vitest';
import { contentTypeOf } from '../../../functions/shared/adapters/content-type.js';

describe('Content type of a store key', () => {
  it('follows the extension of the keys toilless writes, case aside', () => {
    // Act & Assess
    expect(contentTypeOf('incidents/x/timeline.json')).toBe('application/json');
    expect(contentTypeOf('incidents/x/timeline.md')).toBe('text/markdown; charset=utf-8');
    expect(contentTypeOf('reports/2026-W48/REPORT.PDF')).toBe('application/pdf');
  });

  it('takes anything else as bytes, a dot in a folder name included', () => {
    // Act & Assess
    expect(contentTypeOf('queue/000000000041.log')).toBe('application/octet-stream');
    expect(contentTypeOf('deployments/acme/web.json/production')).toBe('application/octet-stream');
    expect(contentTypeOf('no-extension')).toBe('application/octet-stream');
  });
});
