/**
 * `toilless report`: the weekly report for a window, written to a file; with --publish, what the
 * weekly schedule does (store under reports/<yyyy>-W<ww>/, Slack or the outbox, ReportPublished).
 */
import { writeFile } from 'node:fs/promises';
import { Command, InvalidArgumentError, Option } from 'commander';
import { LocalSecretSource } from '../../functions/local/local-secrets.js';
import { FsObjectStore } from '../../functions/shared/adapters/local/fs-object-store.js';
import { InProcessEventBus } from '../../functions/shared/adapters/local/in-process-bus.js';
import { createNotifier } from '../../functions/shared/adapters/slack/create-notifier.js';
import { loadRuntimeConfig } from '../../functions/shared/config.js';
import { ToillessError } from '../../functions/shared/errors.js';
import { type Clock, systemClock } from '../../functions/shared/ports/clock.js';
import type { SecretSource } from '../../functions/shared/ports/secrets.js';
import { loadToillessConfig, stackConfigDir } from '../../functions/shared/stack-config.js';
import {
  create as createWeeklyReport,
  type ReportEnginesFactory,
} from '../../functions/weekly-report/compose.js';
import type { RenderMode } from '../../functions/weekly-report/model.js';
import { reportWindow } from '../../functions/weekly-report/window.js';
import { commandLogger } from './cli-logger.js';

export interface ReportCommandOptions {
  /** @default the engines of this build (functions/weekly-report/compose.ts reportEngines) */
  readonly engines?: ReportEnginesFactory;
  /** Where progress goes. @default process.stderr */
  readonly progress?: NodeJS.WritableStream & { readonly isTTY?: boolean; readonly columns?: number };
  /** Where the result line goes. @default process.stdout */
  readonly output?: NodeJS.WritableStream;
  readonly env?: NodeJS.ProcessEnv;
  readonly clock?: Clock;
  readonly secrets?: SecretSource;
}

interface ReportFlags {
  from?: string;
  to?: string;
  out?: string;
  dashboards?: string[];
  mode?: RenderMode;
  publish?: boolean;
  replace?: boolean;
  dataDir: string;
}

function dashboardList(value: string): string[] {
  const uids = value
    .split(',')
    .map((uid) => uid.trim())
    .filter((uid) => uid !== '');
  const bad = uids.find((uid) => !/^[\w-]{1,40}$/.test(uid));
  if (uids.length === 0 || bad !== undefined) {
    throw new InvalidArgumentError(
      `expected dashboard uids separated by commas, e.g. toilless,slo-error-budget${bad ? `; "${bad.slice(0, 40)}" is not one` : ''}`,
    );
  }
  return uids;
}

/**
 * Progress on a terminal: one bar rewritten in place. Elsewhere (CI, a pipe, a log file): plain lines,
 * one per stage and per panel.
 */
export function reportProgress(stream: NonNullable<ReportCommandOptions['progress']>) {
  const tty = stream.isTTY === true;
  return {
    stage(text: string) {
      stream.write(tty ? `\r\u001b[2K${text}\n` : `${text}\n`);
    },
    panel(done: number, total: number, panel: string) {
      if (!tty) {
        stream.write(`panel ${done}/${total}: ${panel}\n`);
        return;
      }
      const width = 30;
      const filled = total > 0 ? Math.round((done / total) * width) : width;
      const name = panel.length > 40 ? `${panel.slice(0, 39)}…` : panel;
      stream.write(
        `\r\u001b[2K[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total} ${name}`,
      );
      if (done === total) stream.write('\n');
    },
  };
}

export function reportCommand(options: ReportCommandOptions = {}): Command {
  return new Command('report')
    .description('Render the dashboards and the SLO, incident and DORA summary of a week into a PDF.')
    .option(
      '--from <time>',
      'start: now, a duration back such as -7d, or an ISO date (default: the previous ISO week)',
    )
    .option('--to <time>', 'end: now, -1d, or an ISO date (default: now when --from is given)')
    .option('--out <file>', 'write the PDF here (default report.pdf unless --publish)')
    .option(
      '--dashboards <uids>',
      'dashboard uids separated by commas (default: toilless.yaml report.dashboards, else all)',
      dashboardList,
    )
    .addOption(
      new Option('--mode <mode>', 'how panels are drawn (default: toilless.yaml report.mode)').choices([
        'grafana',
        'native',
      ]),
    )
    .option(
      '--publish',
      'do what the weekly schedule does: store, post to Slack (or the outbox), emit ReportPublished',
    )
    .option(
      '--replace',
      'with --publish: publish a week that was published already again (render anew, replace its PDF, post again)',
    )
    .option(
      '-d, --data-dir <dir>',
      'the store --publish writes to',
      process.env.TOILLESS_DATA_DIR ?? '.toilless',
    )
    .addHelpText(
      'after',
      '\nnative mode draws the panels from PROMETHEUS_URL; grafana mode renders them in Grafana (GRAFANA_URL,\n' +
        'GRAFANA_TOKEN). --publish stores reports/<yyyy>-W<ww>/report.pdf and uploads it to SLACK_CHANNEL with\n' +
        'SLACK_BOT_TOKEN (files:write, chat:write); without a token it goes to the outbox in the data directory.\n' +
        'A week is published once: --publish for a week already published does nothing unless --replace is given,\n' +
        'and while another run (the schedule, another --publish) publishes the week it stops with exit code 2.',
    )
    .action(async (flags: ReportFlags) => {
      if (flags.replace && !flags.publish) {
        throw new InvalidArgumentError('--replace goes with --publish: add --publish, or drop --replace');
      }
      const env = options.env ?? process.env;
      const clock = options.clock ?? systemClock;
      const progress = reportProgress(options.progress ?? process.stderr);
      const output = options.output ?? process.stdout;
      const window = reportWindow(clock.now(), {
        ...(flags.from !== undefined ? { from: flags.from } : {}),
        ...(flags.to !== undefined ? { to: flags.to } : {}),
      });
      const logger = commandLogger(env);
      const runtime = loadRuntimeConfig({ ...env, TOILLESS_DATA_DIR: flags.dataDir });
      const configDir = stackConfigDir(env);
      const toilless = loadToillessConfig(configDir);
      const store = new FsObjectStore(runtime.dataDir);
      const secrets = options.secrets ?? new LocalSecretSource(runtime.dataDir, env);
      const slackToken = await secrets.get('SLACK_BOT_TOKEN');
      const bus = new InProcessEventBus({ store, logger });
      try {
        const worker = await createWeeklyReport(
          {
            store,
            bus,
            clock,
            secrets,
            logger,
            notifier: createNotifier({
              ...(slackToken ? { token: slackToken } : {}),
              channel: runtime.slackChannel ?? toilless.slack.channel,
              apiUrl: runtime.slackApiUrl,
              store,
              logger,
            }),
          },
          { runtime, toilless, stackConfigDir: configDir, platform: 'local' },
          options.engines ? { engines: options.engines } : {},
        );
        progress.stage(
          `report ${window.isoWeek}: ${window.from.toISOString()} to ${window.to.toISOString()}`,
        );
        const request = {
          window,
          ...(flags.mode ? { mode: flags.mode } : {}),
          ...(flags.dashboards ? { dashboards: flags.dashboards } : {}),
          onProgress: progress.panel,
          onStage: (stage: string, detail?: string) => progress.stage(detail ? `${stage}: ${detail}` : stage),
        };
        if (flags.publish) {
          const published = await worker.report.publish({
            ...request,
            ...(flags.replace ? { replace: true } : {}),
          });
          if (published.kind === 'already-published') {
            output.write(
              `${published.key} was published already (stored ${published.storedAt}): nothing posted; --replace publishes it again\n`,
            );
            return;
          }
          if (flags.out && published.produced) await writeOut(flags.out, published.produced.pdf);
          const where = slackToken
            ? `Slack ${runtime.slackChannel ?? toilless.slack.channel}`
            : 'the outbox (SLACK_BOT_TOKEN is not set)';
          output.write(
            `${published.key} ${published.resumed ? 'delivered (the stored report, whose upload had failed)' : published.replaced ? 'replaced the report stored earlier for this week' : 'stored'}; posted to ${where}\n`,
          );
          return;
        }
        const produced = await worker.report.produce(request);
        const out = flags.out ?? 'report.pdf';
        await writeOut(out, produced.pdf);
        output.write(
          `${out}: ${produced.pdf.length} bytes, ${produced.mode.mode} mode (${produced.mode.reason})\n`,
        );
      } finally {
        await bus.close();
      }
    });
}

async function writeOut(file: string, pdf: Buffer): Promise<void> {
  try {
    await writeFile(file, pdf);
  } catch (error) {
    throw new ToillessError(`cannot write ${file}: ${(error as Error).message}`);
  }
}
