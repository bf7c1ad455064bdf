/**
 * `toilless dora backfill` and `toilless dora show`: the DORA worker run from a terminal on the local
 * data directory, with the same code the webhooks drive.
 */
import { Command, InvalidArgumentError } from 'commander';
import { formatDoraTable } from '../../functions/dora-metrics/cli/metrics-table.js';
import { create as createDoraMetrics } from '../../functions/dora-metrics/compose.js';
import { backfillRepository } from '../../functions/dora-metrics/github/backfill.js';
import { readCurrentMetrics } from '../../functions/dora-metrics/recompute.js';
import { DoraHistory } from '../../functions/dora-metrics/store/dora-history.js';
import { LocalSecretSource } from '../../functions/local/local-secrets.js';
import { FsObjectStore } from '../../functions/shared/adapters/local/fs-object-store.js';
import { InProcessEventBus } from '../../functions/shared/adapters/local/in-process-bus.js';
import { parseRepository, type RateLimitWait } from '../../functions/shared/clients/github.js';
import { loadRuntimeConfig } from '../../functions/shared/config.js';
import { parseDurationMs } from '../../functions/shared/duration.js';
import { systemClock } from '../../functions/shared/ports/clock.js';
import { loadToillessConfig, stackConfigDir } from '../../functions/shared/stack-config.js';
import { commandLogger } from './cli-logger.js';

function duration(value: string): number {
  try {
    return parseDurationMs(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

function repository(value: string): string {
  try {
    const { owner, repo } = parseRepository(value);
    return `${owner}/${repo}`;
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

/** One status line on a terminal (rewritten in place), one line per phase change elsewhere. */
function progressLine(stream: NodeJS.WriteStream): { show(text: string, phase: string): void; done(): void } {
  let lastPhase = '';
  return {
    show(text, phase) {
      if (stream.isTTY) stream.write(`\r\u001b[2K${text}`);
      else if (phase !== lastPhase) stream.write(`${text}\n`);
      lastPhase = phase;
    },
    done() {
      if (stream.isTTY) stream.write('\n');
    },
  };
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

export function doraCommand(): Command {
  const dora = new Command('dora').description(
    'DORA metrics from GitHub deployments: backfill history, show the current values.',
  );

  dora
    .command('backfill')
    .description(
      'Read deployments, statuses and merged pull requests from the GitHub REST API into the store, then recompute.',
    )
    .requiredOption('--repo <owner/name>', 'the repository to read', repository)
    .option('--since <duration>', 'how far back to read, e.g. 30d or 12w', duration, parseDurationMs('90d'))
    .option('--environment <name>', 'only deployments to this GitHub environment')
    .option('-d, --data-dir <dir>', 'the store to fill', process.env.TOILLESS_DATA_DIR ?? '.toilless')
    .addHelpText(
      'after',
      '\nUses GITHUB_TOKEN (read access to deployments, contents and pull requests); GITHUB_API_URL for GitHub Enterprise.\n' +
        'Rate limits are waited out. Re-running is safe: records are idempotent. Metrics are written to\n' +
        'PROMETHEUS_REMOTE_WRITE_URL when Prometheus is reachable.',
    )
    .action(async (options: { repo: string; since: number; environment?: string; dataDir: string }) => {
      const logger = commandLogger();
      const runtime = loadRuntimeConfig({ ...process.env, TOILLESS_DATA_DIR: options.dataDir });
      const store = new FsObjectStore(runtime.dataDir);
      const progress = progressLine(process.stderr);
      const configDir = stackConfigDir();
      const config = loadToillessConfig(configDir);
      const bus = new InProcessEventBus({ store, logger });
      const dora = await createDoraMetrics(
        { store, bus, clock: systemClock, secrets: new LocalSecretSource(runtime.dataDir), logger },
        { runtime, toilless: config, stackConfigDir: configDir, platform: 'local' },
        {
          onRateLimit: (wait: RateLimitWait) =>
            process.stderr.write(
              `\nGitHub ${wait.kind} rate limit on ${wait.request}: ${wait.willRetry ? `waiting ${wait.retryAfterSeconds} s` : 'giving up'}\n`,
            ),
        },
      );
      const { integrations, worker } = dora;
      if (!integrations.github) {
        await bus.close();
        throw new InvalidArgumentError(
          'GITHUB_TOKEN is not set: backfill reads the GitHub REST API and needs a token with read access to deployments, contents and pull requests',
        );
      }
      const result = await backfillRepository({
        github: integrations.github,
        repository: options.repo,
        since: new Date(Date.now() - options.since),
        ...(options.environment ? { environment: options.environment } : {}),
        handle: (event) => worker.handle(event),
        onProgress: ({ phase, done, total }) =>
          progress.show(`${options.repo}: ${phase} ${done}${total === undefined ? '' : `/${total}`}`, phase),
      });
      progress.done();
      await dora.schedules.DoraRecompute();
      await bus.close();
      console.log(
        `${result.repository}: ${result.deployments} deployments, ${result.deploymentStatuses} statuses, ` +
          `${plural(result.pullRequests, 'merged pull request')}, ${result.events} events recorded`,
      );
      for (const skipped of result.skipped)
        console.log(`skipped ${skipped.kind} ${skipped.id}: ${skipped.reason}`);
      const metrics = await readCurrentMetrics(
        new DoraHistory({ store, config, commits: integrations.commits, logger }),
        config,
        new Date(),
        result.repository,
      );
      process.stdout.write(`\n${formatDoraTable(metrics)}`);
    });

  dora
    .command('show')
    .description('Print the current DORA metrics and performance levels per repository and environment.')
    .option('--repo <owner/name>', 'only this repository', repository)
    .option('-d, --data-dir <dir>', 'the store to read', process.env.TOILLESS_DATA_DIR ?? '.toilless')
    .action(async (options: { repo?: string; dataDir: string }) => {
      const logger = commandLogger();
      const runtime = loadRuntimeConfig({ ...process.env, TOILLESS_DATA_DIR: options.dataDir });
      const store = new FsObjectStore(runtime.dataDir);
      const config = loadToillessConfig();
      const history = new DoraHistory({
        store,
        config,
        commits: { commitsBetween: async () => undefined },
        logger,
      });
      process.stdout.write(
        formatDoraTable(await readCurrentMetrics(history, config, new Date(), options.repo)),
      );
    });

  return dora;
}
