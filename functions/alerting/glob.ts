/**
 * Path globs the way Prometheus and Alertmanager expand rule_files and templates (Go's filepath.Glob):
 * `*`, `?` and `[...]` within one path segment, no `**`.
 */
import { readdirSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve, sep } from 'node:path';

const MAGIC = /[*?[]/;

/** Existing files matching the pattern, which is relative to baseDir unless absolute; sorted. */
export function expandGlob(pattern: string, baseDir: string): string[] {
  const absolute = isAbsolute(pattern) ? pattern : resolve(baseDir, pattern);
  const segments = absolute.split(sep);
  let candidates = [segments[0] === '' ? sep : segments[0]!];
  for (const segment of segments.slice(1)) {
    if (segment === '') continue;
    const next: string[] = [];
    for (const dir of candidates) {
      if (!MAGIC.test(segment)) {
        next.push(join(dir, segment));
        continue;
      }
      const matcher = segmentMatcher(segment);
      let names: string[];
      try {
        names = readdirSync(dir);
      } catch {
        continue;
      }
      for (const name of names.sort()) if (matcher.test(name)) next.push(join(dir, name));
    }
    candidates = next;
  }
  return candidates.filter(isFile).sort();
}

function segmentMatcher(segment: string): RegExp {
  let source = '';
  for (let i = 0; i < segment.length; i++) {
    const char = segment[i]!;
    if (char === '*') source += '[^/]*';
    else if (char === '?') source += '[^/]';
    else if (char === '[') {
      const end = segment.indexOf(']', i + 2);
      if (end === -1) {
        source += '\\[';
        continue;
      }
      const body = segment.slice(i + 1, end);
      source += `[${body.startsWith('^') ? `^${body.slice(1)}` : body}]`;
      i = end;
    } else source += char.replace(/[.+^${}()|\\\]]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
