/**
 * The DejaVu Sans TTFs the PDF embeds, so that service names in Cyrillic, Greek, Arabic or with accents
 * render (pdfkit's built-in Helvetica covers Latin-1 only). Where the files are:
 * 1. the directory the caller gives (`fontDir`);
 * 2. `fonts/` in the Lambda task root (LAMBDA_TASK_ROOT), where the bundle's build copies the TTFs;
 * 3. the dejavu-fonts-ttf package in node_modules (the local runtime and tests).
 * Not beside the running module: in the code-split bundle that is chunks/, which holds no fonts.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { ConfigurationError } from '../../shared/errors.js';

/** The files the PDF needs, by the role they play. */
export const REPORT_FONT_FILES = { regular: 'DejaVuSans.ttf', bold: 'DejaVuSans-Bold.ttf' } as const;

export interface ReportFonts {
  readonly regular: string;
  readonly bold: string;
}

function hasFonts(dir: string): boolean {
  return Object.values(REPORT_FONT_FILES).every((file) => existsSync(join(dir, file)));
}

/** The candidate directories, in the order they are tried. */
export function fontDirCandidates(
  fontDir?: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): string[] {
  if (fontDir !== undefined) return [fontDir];
  const candidates: string[] = [];
  // A code-split bundle runs this from a chunk in chunks/, so the task root is named, not derived.
  const taskRoot = env.LAMBDA_TASK_ROOT;
  if (taskRoot) candidates.push(join(taskRoot, 'fonts'));
  try {
    const require = createRequire(import.meta.url);
    candidates.push(join(dirname(require.resolve('dejavu-fonts-ttf/package.json')), 'ttf'));
  } catch {
    // Not installed (a bundle without node_modules), or no module URL (a CommonJS bundle): pass fontDir.
  }
  return candidates;
}

/** The font files to embed; a clear error naming where they were looked for when none has them. */
export function resolveReportFonts(
  fontDir?: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): ReportFonts {
  const candidates = fontDirCandidates(fontDir, env);
  const dir = candidates.find(hasFonts);
  if (dir === undefined) {
    throw new ConfigurationError(
      `the report fonts (${Object.values(REPORT_FONT_FILES).join(', ')}) are in none of ${candidates.join(', ')}: ` +
        'install dejavu-fonts-ttf, or copy its ttf/ files into fonts/ of the Lambda task root (LAMBDA_TASK_ROOT)',
    );
  }
  return { regular: join(dir, REPORT_FONT_FILES.regular), bold: join(dir, REPORT_FONT_FILES.bold) };
}
