/**
 * Regenerates the files derived from stack-config: the SLO rule files (from slos.yaml), the
 * Alertmanager links template (from toilless.yaml) and the Grafana dashboards (from code, slos.yaml and
 * toilless.yaml). `npm run generate`; `toilless check --fix` does the
 * same as part of the check. Commit the result: a unit test fails while they are out of date.
 */
import { writeGeneratedFiles } from '../functions/alerting/generated-files.js';
import { ConfigurationError } from '../functions/shared/errors.js';
import { stackConfigDir } from '../functions/shared/stack-config.js';

try {
  const { written, removed, unchanged } = writeGeneratedFiles(stackConfigDir());
  for (const path of written) console.log(`wrote stack-config/${path}`);
  for (const path of removed) console.log(`removed stack-config/${path} (its service has no SLOs any more)`);
  for (const path of unchanged) console.log(`up to date: stack-config/${path}`);
} catch (error) {
  if (!(error instanceof ConfigurationError)) throw error;
  console.error(`${error.message}\nNothing was written: fix the file above and run again.`);
  process.exitCode = 1;
}
