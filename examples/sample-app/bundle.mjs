// Bundles the sample app into one ES module (the OpenTelemetry SDK, pino and prom-client included) with
// the repository's esbuild: `node examples/sample-app/bundle.mjs <outfile>`. The Dockerfile runs it, and
// so does the test of the image's bundle step.
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const outfile = process.argv[2];
if (!outfile) {
  console.error('usage: node examples/sample-app/bundle.mjs <outfile.mjs>');
  process.exit(2);
}

await build({
  entryPoints: [fileURLToPath(new URL('./main.ts', import.meta.url))],
  outfile,
  bundle: true,
  platform: 'node',
  target: 'node22',
  // main.ts awaits at the top level, which only an ES module may.
  format: 'esm',
  // CommonJS dependencies (pino, prom-client) require Node.js built-ins; an ES module has no `require`.
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
  legalComments: 'none',
  logLevel: 'warning',
});
