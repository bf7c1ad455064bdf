/**
 * The files generated from stack-config (SLO rule files, links.tmpl, Grafana dashboards): what they
 * should contain, and bringing the committed copies up to date. The generation itself is pure; reading
 * and writing are here.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { dashboardFiles } from '../dashboards/dashboard-files.js';
import { loadSloDefinitions, type SloDefinition } from '../shared/slo-definitions.js';
import { loadToillessConfig, stackConfigDir, type ToillessConfig } from '../shared/stack-config.js';
import { LINKS_TEMPLATE_PATH, renderLinksTemplate } from './links-template.js';
import { GENERATED_HEADER, renderSloRuleFiles } from './slo-rules.js';

/** A generated file: its path below stack-config/ and what it must contain. */
export interface GeneratedFile {
  readonly path: string;
  readonly content: string;
  /** The stack-config file it is generated from, for messages. */
  readonly source: string;
}

export const SLO_RULES_DIR = 'prometheus/rules';

/** The SLO rule files for these definitions. */
export function sloRuleFiles(slos: readonly SloDefinition[]): GeneratedFile[] {
  return [...renderSloRuleFiles(slos)].map(([name, content]) => ({
    path: `${SLO_RULES_DIR}/${name}`,
    content,
    source: 'slos.yaml',
  }));
}

/** links.tmpl for this toilless.yaml. */
export function linksTemplateFile(config: ToillessConfig): GeneratedFile {
  return { path: LINKS_TEMPLATE_PATH, content: renderLinksTemplate(config.links), source: 'toilless.yaml' };
}

/** Generated SLO rule files present in the directory (paths below stack-config/). */
export function existingSloRuleFiles(dir: string): string[] {
  const rulesDir = join(dir, SLO_RULES_DIR);
  if (!existsSync(rulesDir)) return [];
  return readdirSync(rulesDir)
    .filter((name) => /^slo-.+\.ya?ml$/.test(name))
    .sort()
    .map((name) => `${SLO_RULES_DIR}/${name}`);
}

/** True when a file starts with the header the generator writes. */
export function isGeneratedFile(text: string): boolean {
  return text.startsWith(GENERATED_HEADER);
}

/** What writing the generated files changed (paths below stack-config/). */
export interface GenerationResult {
  readonly written: readonly string[];
  readonly removed: readonly string[];
  readonly unchanged: readonly string[];
}

/**
 * Regenerates every generated file (rules, links.tmpl, dashboards) from slos.yaml and toilless.yaml,
 * and removes generated SLO rule files of services that no longer have SLOs. Throws a
 * ConfigurationError if either file is invalid, before writing anything.
 */
export function writeGeneratedFiles(dir: string = stackConfigDir()): GenerationResult {
  const slos = loadSloDefinitions(dir);
  const config = loadToillessConfig(dir);
  const files = [...sloRuleFiles(slos), linksTemplateFile(config), ...dashboardFiles(slos, config)];
  const written: string[] = [];
  const unchanged: string[] = [];
  for (const file of files) {
    const path = join(dir, file.path);
    if (readIfExists(path) === file.content) {
      unchanged.push(file.path);
    } else {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, file.content);
      written.push(file.path);
    }
  }
  const removed: string[] = [];
  const expected = new Set(files.map((file) => file.path));
  for (const path of existingSloRuleFiles(dir)) {
    if (!expected.has(path) && isGeneratedFile(readIfExists(join(dir, path)) ?? '')) {
      rmSync(join(dir, path));
      removed.push(path);
    }
  }
  return { written, removed, unchanged };
}

export function readIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
