/**
 * `toilless check`: validates everything an operator edits under stack-config before it ships. Each
 * defect names the file and what is wrong in one line, so CI output points straight at the fix.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { dashboardFiles } from '../dashboards/dashboard-files.js';
import { dashboardUrlDefects } from '../dashboards/dashboard-urls.js';
import { serviceConfigDefects } from '../service-configs/check.js';
import { ConfigurationError } from '../shared/errors.js';
import { loadSloDefinitions, type SloDefinition, SloDefinitionError } from '../shared/slo-definitions.js';
import { loadToillessConfig, type ToillessConfig } from '../shared/stack-config.js';
import { withDeployTimeFiles } from './deploy-time-files.js';
import {
  existingSloRuleFiles,
  type GeneratedFile,
  isGeneratedFile,
  linksTemplateFile,
  readIfExists,
  sloRuleFiles,
} from './generated-files.js';
import { expandGlob } from './glob.js';
import { alertRules, conventionProblems, runbookPath } from './rule-conventions.js';
import {
  BUDGET_ALERTS,
  ERROR_BUDGET_POLICY,
  linkedPaths,
  missingRunbookSections,
  RUNBOOK_SECTIONS,
} from './runbooks.js';
import { AMTOOL, findTool, missingToolMessage, PROMTOOL, runTool, type Tool } from './tools.js';

/** One thing wrong with stack-config. */
export interface Defect {
  /** The file at fault, relative to the repository (stack-config/...). */
  readonly file: string;
  /** What is wrong and, where it helps, what to do. One line. */
  readonly message: string;
}

/** How to check. */
export interface CheckOptions {
  /** Rewrite out-of-date generated files instead of reporting them. @default false */
  readonly fix?: boolean;
  /** Where promtool and amtool are looked up (PATH syntax). @default process.env.PATH */
  readonly searchPath?: string;
}

const RULES_DIR = 'prometheus/rules';
const TESTS_DIR = 'prometheus/tests';
const PROMETHEUS_CONFIG = 'prometheus/prometheus.yml';
const ALERTMANAGER_CONFIG = 'alertmanager/alertmanager.yml';
const FIX_HINT = 'run `toilless check --fix` (or `npm run generate`) and commit the result';

/** Checks the stack-config directory `dir`; an empty list means it is fine to ship. */
export async function checkStackConfig(dir: string, options: CheckOptions = {}): Promise<Defect[]> {
  const root = resolve(dir);
  const defects: Defect[] = [];
  const report = (path: string, message: string) => defects.push({ file: repoPath(path), message });

  const toilless = loadOrReport(() => loadToillessConfig(root), 'toilless.yaml', report);
  const slos = loadOrReport(() => loadSloDefinitions(root), 'slos.yaml', report);
  checkGeneratedFiles(root, slos, toilless, options.fix ?? false, report);

  const ruleFiles = listFiles(root, RULES_DIR, /\.ya?ml$/);
  checkAlertConventions(root, ruleFiles, report);
  for (const defect of dashboardUrlDefects(root, ruleFiles)) report(defect.file, defect.message);
  checkRuleFilesLoaded(root, ruleFiles, report);
  for (const defect of serviceConfigDefects(root)) report(defect.path, defect.message);

  const searchPath = options.searchPath ?? process.env['PATH'] ?? '';
  const promtool = findTool(PROMTOOL, searchPath);
  const amtool = findTool(AMTOOL, searchPath);
  const runs: Promise<void>[] = [];
  if (promtool === undefined) {
    report('prometheus', missingToolMessage(PROMTOOL, 'the rule files, their unit tests and prometheus.yml'));
  } else {
    const limit = concurrencyLimit();
    for (const file of ruleFiles) {
      runs.push(
        limit(() =>
          toolCheck(promtool, ['check', 'rules', file], root, file, 'promtool check rules', report),
        ),
      );
    }
    for (const file of listFiles(root, TESTS_DIR, /\.ya?ml$/)) {
      runs.push(
        limit(() => toolCheck(promtool, ['test', 'rules', file], root, file, 'promtool test rules', report)),
      );
    }
    runs.push(
      limit(() => configCheck(PROMTOOL, promtool, ['check', 'config'], root, PROMETHEUS_CONFIG, report)),
    );
  }
  if (amtool === undefined) {
    report('alertmanager', missingToolMessage(AMTOOL, 'alertmanager.yml and its templates'));
  } else {
    runs.push(configCheck(AMTOOL, amtool, ['check-config'], root, ALERTMANAGER_CONFIG, report));
  }
  await Promise.all(runs);

  return defects.sort((a, b) => (a.file === b.file ? 0 : a.file < b.file ? -1 : 1));
}

/** One line per defect: `<file>: <message>`. */
export function formatDefects(defects: readonly Defect[]): string {
  return defects.map((defect) => `${defect.file}: ${defect.message}`).join('\n');
}

type Report = (path: string, message: string) => void;

function repoPath(path: string): string {
  return ['stack-config', ...path.split(sep)].filter((part) => part !== '').join('/');
}

function loadOrReport<T>(load: () => T, file: string, report: Report): T | undefined {
  try {
    return load();
  } catch (error) {
    if (error instanceof SloDefinitionError) {
      for (const problem of error.problems) report(file, problem);
      return undefined;
    }
    if (error instanceof ConfigurationError) {
      report(file, error.message.replace(/^(?:invalid )?stack-config\/[\w.-]+:\s*/, ''));
      return undefined;
    }
    throw error;
  }
}

function checkGeneratedFiles(
  root: string,
  slos: readonly SloDefinition[] | undefined,
  toilless: ToillessConfig | undefined,
  fix: boolean,
  report: Report,
): void {
  const expected: GeneratedFile[] = [];
  if (slos !== undefined) expected.push(...sloRuleFiles(slos));
  if (slos !== undefined && toilless !== undefined) expected.push(...dashboardFiles(slos, toilless));
  if (toilless !== undefined) {
    try {
      expected.push(linksTemplateFile(toilless));
    } catch (error) {
      if (!(error instanceof ConfigurationError)) throw error;
      report('toilless.yaml', error.message.replace(/^stack-config\/toilless\.yaml:\s*/, ''));
    }
  }
  for (const file of expected) {
    const actual = readIfExists(join(root, file.path));
    if (actual === file.content) continue;
    if (fix) {
      mkdirSync(dirname(join(root, file.path)), { recursive: true });
      writeFileSync(join(root, file.path), file.content);
      continue;
    }
    report(
      file.path,
      actual === undefined
        ? `missing: it is generated from ${file.source}; ${FIX_HINT}`
        : `out of date with ${file.source} (edited by hand, or ${file.source} changed since it was generated): ${FIX_HINT}`,
    );
  }
  if (slos === undefined) return;
  const expectedPaths = new Set(expected.map((file) => file.path));
  for (const path of existingSloRuleFiles(root)) {
    if (expectedPaths.has(path)) continue;
    const generated = isGeneratedFile(readIfExists(join(root, path)) ?? '');
    if (fix && generated) {
      rmSync(join(root, path), { force: true });
      continue;
    }
    report(
      path,
      generated
        ? `generated for a service that no longer has SLOs in slos.yaml: delete it, or ${FIX_HINT}`
        : 'slo-*.yml files are generated from slos.yaml: rename this hand-written file, or move its SLOs into slos.yaml',
    );
  }
}

function checkAlertConventions(root: string, ruleFiles: readonly string[], report: Report): void {
  const runbooks = new Map<string, { alerts: Set<string>; ruleFile: string }>();
  for (const file of ruleFiles) {
    for (const rule of alertRules(readFileSync(join(root, file), 'utf8'))) {
      const where = `alert ${rule.alert} (group ${rule.group})`;
      for (const problem of conventionProblems(rule)) report(file, `${where}: ${problem}`);
      const url = rule.annotations['runbook_url'];
      const path = typeof url === 'string' ? runbookPath(url) : undefined;
      if (path === undefined) continue;
      if (!existsSync(join(root, path))) {
        report(file, `${where}: runbook_url ${url} does not exist: write stack-config/${path}`);
        continue;
      }
      const entry = runbooks.get(path) ?? { alerts: new Set<string>(), ruleFile: file };
      entry.alerts.add(rule.alert);
      runbooks.set(path, entry);
    }
  }
  for (const [path, { alerts }] of [...runbooks].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const markdown = readFileSync(join(root, path), 'utf8');
    const missing = missingRunbookSections(markdown);
    if (missing.length > 0) {
      report(
        path,
        `missing section${missing.length > 1 ? 's' : ''} ${missing.map((s) => `"## ${s}"`).join(', ')} ` +
          `(every runbook has these level-2 headings: ${RUNBOOK_SECTIONS.join(' / ')})`,
      );
    }
    const budgetAlerts = [...alerts].filter((alert) => BUDGET_ALERTS.has(alert)).sort();
    if (budgetAlerts.length > 0 && !linkedPaths(markdown, path).includes(ERROR_BUDGET_POLICY)) {
      report(
        path,
        `runbook of ${budgetAlerts.join(', ')} does not link to the error budget policy: add a link to ` +
          `${relative(dirname(path), ERROR_BUDGET_POLICY)}`,
      );
    }
    if (budgetAlerts.length > 0 && !existsSync(join(root, ERROR_BUDGET_POLICY))) {
      report(ERROR_BUDGET_POLICY, `missing: the runbooks of ${budgetAlerts.join(', ')} link to it`);
    }
  }
}

/** prometheus.yml must load every rule file: a rule_files glob that matches nothing is a typo. */
function checkRuleFilesLoaded(root: string, ruleFiles: readonly string[], report: Report): void {
  const configPath = join(root, PROMETHEUS_CONFIG);
  const text = readIfExists(configPath);
  if (text === undefined) {
    report(PROMETHEUS_CONFIG, 'missing: Prometheus needs it to load the rule files');
    return;
  }
  let patterns: unknown;
  try {
    patterns = (parseYaml(text) as { rule_files?: unknown } | null)?.rule_files ?? [];
  } catch {
    return; // promtool check config reports the syntax error
  }
  if (!Array.isArray(patterns)) return;
  const loaded = new Set<string>();
  for (const pattern of patterns) {
    if (typeof pattern !== 'string') continue;
    const matches = expandGlob(pattern, dirname(configPath));
    if (matches.length === 0) {
      report(
        PROMETHEUS_CONFIG,
        `rule_files entry ${JSON.stringify(pattern)} matches no file (paths are relative to prometheus.yml)`,
      );
    }
    for (const match of matches) loaded.add(match);
  }
  for (const file of ruleFiles) {
    if (!loaded.has(join(root, file))) {
      report(
        file,
        'is not loaded by prometheus.yml: no rule_files entry matches it, so its alerts never fire',
      );
    }
  }
}

async function toolCheck(
  command: string,
  args: readonly string[],
  root: string,
  file: string,
  what: string,
  report: Report,
): Promise<void> {
  const run = await runTool(command, args, root);
  if (!run.ok) report(file, `${what} failed: ${oneLine(run.output, [join(root, file), file])}`);
}

async function configCheck(
  tool: Tool,
  command: string,
  args: readonly string[],
  root: string,
  file: string,
  report: Report,
): Promise<void> {
  if (!existsSync(join(root, file))) {
    report(file, 'missing');
    return;
  }
  const config = await withDeployTimeFiles(join(root, file));
  try {
    const run = await runTool(command, [...args, config.path], root);
    if (!run.ok) {
      const note =
        config.substituted.length > 0
          ? ` (checked with placeholders for the deploy-time files ${config.substituted.join(', ')})`
          : '';
      report(
        file,
        `${tool.name} ${args.join(' ')} failed${note}: ${oneLine(run.output, [config.path, file])}`,
      );
    }
  } finally {
    await config.cleanup();
  }
}

/** Tool output on one line, with temporary or absolute paths replaced by the repository path. */
function oneLine(output: string, [path, shown]: readonly [string, string]): string {
  const text = output
    .split(path)
    .join(repoPath(shown))
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !/^(?:Checking|Unit Testing:)\s/.test(line))
    .join(' ')
    .replace(/\s+/g, ' ');
  return text.length > 4000 ? `${text.slice(0, 4000)} …(truncated)` : text;
}

/** Files directly in root/dir whose names match the pattern, as paths relative to root, sorted. */
function listFiles(root: string, dir: string, pattern: RegExp): string[] {
  if (!existsSync(join(root, dir))) return [];
  return readdirSync(join(root, dir))
    .filter((name) => pattern.test(name))
    .sort()
    .map((name) => join(dir, name));
}

/** Runs at most one tool per CPU at a time: promtool test rules is CPU-bound. */
function concurrencyLimit(): <T>(task: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: (() => void)[] = [];
  const max = Math.max(1, cpus().length);
  return async (task) => {
    if (active >= max) await new Promise<void>((resolveSlot) => waiting.push(resolveSlot));
    active++;
    try {
      return await task();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}
