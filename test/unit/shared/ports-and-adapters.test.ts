import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../../..');
const IMPORT = /^\s*(?:import|export)\s(?:[^'";]*?\sfrom\s)?'([^']+)'/gm;
/** `import('...')` and `await import('...')`: loaded when the code runs, not with the module. */
const DYNAMIC_IMPORT = /\bimport\(\s*'([^']+)'\s*\)/g;

/** Every module reachable from the entry files through their imports (type imports included), and the packages they import. */
function importGraph(...entries: string[]): { modules: Set<string>; packages: Map<string, string> } {
  return graphOf(entries, { dynamic: false, types: true });
}

/** What loading the entry files evaluates: static value imports only. */
function loadedOnImport(...entries: string[]): { modules: Set<string>; packages: Map<string, string> } {
  return graphOf(entries, { dynamic: false, types: false });
}

/** Everything the entry files may ever load: dynamic imports followed too, type imports left out. */
function everythingLoadable(...entries: string[]): { modules: Set<string>; packages: Map<string, string> } {
  return graphOf(entries, { dynamic: true, types: false });
}

function graphOf(
  entries: readonly string[],
  follow: { readonly dynamic: boolean; readonly types: boolean },
): { modules: Set<string>; packages: Map<string, string> } {
  const modules = new Set<string>();
  const packages = new Map<string, string>();
  const visit = (file: string) => {
    if (modules.has(file)) return;
    modules.add(file);
    const source = readFileSync(file, 'utf8');
    const specifiers = [
      ...[...source.matchAll(IMPORT)].filter(
        ([statement]) => follow.types || !/^\s*(import|export) type\s/.test(statement),
      ),
      ...(follow.dynamic ? source.matchAll(DYNAMIC_IMPORT) : []),
    ];
    for (const [, specifier] of specifiers) {
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

  it('loads no SDK client with a Lambda handler: they are imported on the first call that needs them', () => {
    for (const worker of ['alertmanager-webhook', 'github-webhook', 'incident-timeline', 'dora-metrics']) {
      // Act
      const graph = loadedOnImport(`functions/${worker}/handler.ts`);
      const clients = [...graph.packages.keys()].filter((name) =>
        /^@aws-sdk\/client-|^@slack\/|^@octokit\/|^octokit$/.test(name),
      );

      // Assess
      expect(clients, worker).toEqual([]);
    }
  });

  it("loads a processor's metrics push (prom-client) with its first invocation, not with its handler", () => {
    for (const worker of ['incident-timeline', 'dora-metrics', 'weekly-report']) {
      // Act
      const onImport = loadedOnImport(`functions/${worker}/handler.ts`);
      const loadable = everythingLoadable(`functions/${worker}/handler.ts`);

      // Assess
      expect(onImport.packages.has('prom-client'), worker).toBe(false);
      expect(loadable.packages.has('prom-client'), worker).toBe(true);
    }
  });

  it('leaves the CDK app (aws-cdk-lib) out of the CLI until `toilless cost` asks for it', () => {
    // aws-cdk-lib wraps every fs and child_process function with its timing when loaded: `toilless serve`
    // and its processors must not pay for that on each file operation.
    for (const entry of ['bin/toilless.ts', 'functions/local/processor-process-main.ts']) {
      // Act
      const onImport = loadedOnImport(entry);

      // Assess
      expect(onImport.packages.has('aws-cdk-lib'), entry).toBe(false);
    }
    expect(everythingLoadable('bin/toilless.ts').packages.has('aws-cdk-lib')).toBe(true);
  });

  it('never loads Octokit or the Slack client in the Alertmanager intake, nor S3 outside its store adapter', () => {
    // Act
    const graph = everythingLoadable('functions/alertmanager-webhook/handler.ts');
    const packages = [...graph.packages.keys()];

    // Assess
    expect(packages.filter((name) => /octokit|^@slack\//.test(name))).toEqual([]);
    expect(graph.packages.get('@aws-sdk/client-s3')).toBe('functions/shared/adapters/aws/s3-object-store.ts');
  });
});
