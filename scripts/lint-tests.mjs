// Biome forbids .skip and .only; this also forbids the conditional and placeholder forms,
// because a test that can be switched off by its environment passes when its server is missing.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const forbidden =
  /\b(?:it|test|describe|bench)\.(?:skip|only|todo|skipIf|runIf|fails)\b|\b(?:xit|xdescribe|fit|fdescribe)\(/;
const problems = [];

function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (/\.(?:ts|mts|js|mjs)$/.test(name)) {
      readFileSync(path, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          if (forbidden.test(line))
            problems.push(`${path}:${i + 1}: skipped, focused or conditional test: ${line.trim()}`);
        });
    }
  }
}

walk('test');
if (problems.length > 0) {
  console.error(problems.join('\n'));
  process.exit(1);
}
