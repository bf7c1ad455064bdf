import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../../..');
const IMPORT = /^\s*(?:import|export)\s(?:[^'";]*?\sfrom\s)?'([^']+)'/gm;

/** Every module reachable from the entry files through their imports (type imports included), and the packages they import. */
function importGraph(...entries: string[]): { modules: Set<string>; packages: Map<string, string> } {
  const modules = new Set<string>();
  const packages = new Map<string, string>();
  const visit = (file: string) => {
    if (modules.has(file)) return;
    modules.add(file);
    for (const [, specifier] of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      if (specifier === undefined) continue;
      if (specifier.startsWith('.')) visit(resolve(dirname(file), specifier.replace(/\.js$/, '.ts')));
      else packages.set(specifier, relative(ROOT, file));
    }
  };
  for (const entry of entries) visit(join(ROOT, entry));
  return { modules, packages };
}

function awsPackages(graph: { packages: Map<string, string> }): string[] {
  return [...graph.packages]
    .filter(([name]) => name.startsWith('@aws-sdk/'))
    .map(([name, importer]) => `${name} (from ${importer})`);
}

describe('Ports and adapters', () => {
  it('keeps the AWS SDK out of the intake core and the local runtime', () => {
    // Act
    const intake = importGraph(
      'functions/shared/http/intake.ts',
      'functions/alertmanager-webhook/intake.ts',
      'functions/github-webhook/intake.ts',
    );
    const local = importGraph('functions/local/local-runtime.ts');

    // Assess
    expect(awsPackages(intake)).toEqual([]);
    expect(awsPackages(local)).toEqual([]);
  });

  it('defines the ports without importing an adapter or a cloud SDK', () => {
    // Prepare
    const ports = readdirSync(join(ROOT, 'functions/shared/ports')).map(
      (file) => `functions/shared/ports/${file}`,
    );

    // Act
    const graph = importGraph(...ports);

    // Assess
    expect(awsPackages(graph)).toEqual([]);
    const adapters = [...graph.modules].filter((module) => module.includes('/adapters/'));
    expect(adapters).toEqual([]);
  });
});
