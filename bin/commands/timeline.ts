/** `toilless timeline <payload.json>`: an incident timeline built now, printed, neither stored nor posted. */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { createTimelinePreview } from '../../functions/incident-timeline/compose.js';
import { LocalSecretSource } from '../../functions/local/local-secrets.js';
import { FsObjectStore } from '../../functions/shared/adapters/local/fs-object-store.js';
import { loadRuntimeConfig } from '../../functions/shared/config.js';
import { ToillessError } from '../../functions/shared/errors.js';
import type { AlertmanagerPayload } from '../../functions/shared/events/alertmanager.js';
import { systemClock } from '../../functions/shared/ports/clock.js';
import { loadToillessConfig, stackConfigDir } from '../../functions/shared/stack-config.js';
import { commandLogger } from './cli-logger.js';

/** Reads a JSON file, or throws an error naming the file and what is wrong with it. */
function readJsonFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ToillessError(`cannot read ${file}: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ToillessError(`${file} is not JSON: ${(error as Error).message}`);
  }
}

export function timelineCommand(): Command {
  return new Command('timeline')
    .description('Build an incident timeline now from a saved Alertmanager payload and print it as Markdown.')
    .argument('<payload.json>', 'an Alertmanager webhook body (payload version 4)')
    .option('--json', 'print timeline.json instead of the Markdown draft')
    .addHelpText(
      'after',
      '\nQueries the sources configured by PROMETHEUS_URL, LOKI_URL and TEMPO_URL, with the credentials of\n' +
        'PROMETHEUS_AUTH, LOKI_AUTH and TEMPO_AUTH when set (each sent to its own source only); an unreachable\n' +
        'source is noted in the timeline, not fatal. Nothing is stored and nothing is posted to Slack.',
    )
    .action(async (file: string, options: { json?: boolean }) => {
      const logger = commandLogger();
      const payload = readJsonFile(file);
      const runtime = loadRuntimeConfig();
      const configDir = stackConfigDir();
      const preview = createTimelinePreview(
        {
          store: new FsObjectStore(runtime.dataDir),
          clock: systemClock,
          logger,
          // PROMETHEUS_AUTH, LOKI_AUTH, TEMPO_AUTH as `toilless serve` reads them: environment, else the data directory.
          secrets: new LocalSecretSource(runtime.dataDir),
        },
        { runtime, toilless: loadToillessConfig(configDir), stackConfigDir: configDir, platform: 'local' },
      );
      const { timeline, markdown } = await preview(payload as AlertmanagerPayload);
      process.stdout.write(options.json ? `${JSON.stringify(timeline, null, 2)}\n` : markdown);
    });
}
