/** `toilless cost`: the itemised monthly estimate of the stacks `cdk synth` would produce. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { stackConfigDir } from '../../functions/shared/stack-config.js';
import {
  estimateMonthlyCost,
  formatEstimate,
  type Load,
  parsePriceTable,
  type Template,
} from './cost-estimate.js';

/**
 * The stacks' templates as `cdk synth` makes them (functions not bundled: their code costs nothing here).
 * The CDK app is loaded here, not with the CLI: aws-cdk-lib is large, and on load it wraps every `fs`
 * and `child_process` function with its own timing, which no other command (`toilless serve`) wants.
 */
export async function synthesizedTemplates(
  configDir: string,
  profile: 'small' | 'large' = 'small',
): Promise<Record<string, Template>> {
  const { buildApp } = await import('../../lib/app.js');
  const outdir = mkdtempSync(join(tmpdir(), 'toilless-cost-'));
  const cdkJson = JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as {
    context?: Record<string, unknown>;
  };
  try {
    const { app } = buildApp({
      outdir,
      context: { ...cdkJson.context, 'aws:cdk:bundling-stacks': [] },
      workers: { stackConfigDir: configDir },
      observability: { stackConfigDir: configDir, profile },
    });
    const assembly = app.synth();
    return Object.fromEntries(assembly.stacks.map((stack) => [stack.stackName, stack.template as Template]));
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

function gigabytes(value: string): number {
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < 0) {
    throw new InvalidArgumentError(`"${value}" is not a number of GB, e.g. 5 or 0.5`);
  }
  return parsed;
}

function requestsPerDay(value: string): number {
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < 0) {
    throw new InvalidArgumentError(`"${value}" is not a number of requests a day, e.g. 1000`);
  }
  return parsed;
}

export function costCommand(): Command {
  return new Command('cost')
    .description(
      'Itemised monthly estimate of the synthesized stacks at the list prices of stack-config/prices.yaml.',
    )
    .addOption(
      new Option('--profile <profile>', 'the scale profile').choices(['small', 'large']).default('small'),
    )
    .option('--logs-gb-per-day <gb>', 'logs ingested into Loki per day', gigabytes, 5)
    .option('--traces-gb-per-day <gb>', 'traces ingested into Tempo per day', gigabytes, 1)
    .option(
      '--webhook-requests-per-day <n>',
      'webhook deliveries per day (API Gateway requests); default: prices.yaml assumptions.webhookRequestsPerDay',
      requestsPerDay,
    )
    .option('--dir <dir>', 'the stack-config directory', stackConfigDir())
    .action(
      async (options: {
        profile: string;
        logsGbPerDay: number;
        tracesGbPerDay: number;
        webhookRequestsPerDay?: number;
        dir: string;
      }) => {
        const table = parsePriceTable(readFileSync(join(options.dir, 'prices.yaml'), 'utf8'));
        const load: Load = {
          logsGbPerDay: options.logsGbPerDay,
          tracesGbPerDay: options.tracesGbPerDay,
          webhookRequestsPerDay: options.webhookRequestsPerDay ?? table.assumptions.webhookRequestsPerDay,
        };
        console.log(
          formatEstimate(
            estimateMonthlyCost(
              await synthesizedTemplates(options.dir, options.profile === 'large' ? 'large' : 'small'),
              table,
              load,
            ),
            load,
          ),
        );
      },
    );
}
