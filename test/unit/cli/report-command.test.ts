import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { Command } from 'commander';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { reportCommand } from '../../../bin/commands/report.js';
import { FsObjectStore } from '../../../functions/shared/adapters/local/fs-object-store.js';
import { StaticSecretSource } from '../../../functions/shared/ports/secrets.js';
import { createTempDir } from '../../support/process.js';
import { RecordingClock } from '../../support/recording-clock.js';
import { type StandInEngines, standInEngines } from '../../support/report-stand-ins.js';

/** A stream that keeps what is written; a terminal or not. */
function capture(isTTY: boolean) {
  const stream = Object.assign(new PassThrough(), { isTTY });
  let text = '';
  stream.on('data', (chunk: Buffer) => {
    text += chunk.toString('utf8');
  });
  return { stream, text: () => text };
}

let dir: string;
let engines: StandInEngines;

beforeEach(async () => {
  dir = await createTempDir('report-cli');
  engines = standInEngines();
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function command(progress: ReturnType<typeof capture>, output: ReturnType<typeof capture>): Command {
  return reportCommand({
    engines: () => engines,
    progress: progress.stream,
    output: output.stream,
    // Nothing listens: the summary's Prometheus parts are unavailable, as on a machine without the stack.
    env: { PROMETHEUS_URL: 'http://127.0.0.1:9', LOG_LEVEL: 'silent' },
    clock: new RecordingClock(new Date('2026-12-07T08:00:00Z')),
    secrets: new StaticSecretSource({}),
  })
    .exitOverride()
    .configureOutput({ writeOut: () => {}, writeErr: () => {} });
}

describe('toilless report', () => {
  it('writes the PDF of the previous ISO week to --out, with plain progress lines off a terminal', async () => {
    // Prepare
    const progress = capture(false);
    const output = capture(false);
    const out = join(dir, 'weekly.pdf');

    // Act
    await command(progress, output).parseAsync(
      ['--out', out, '--mode', 'native', '--dashboards', 'toilless,slo-error-budget'],
      { from: 'user' },
    );

    // Assess
    const pdf = await readFile(out, 'utf8');
    expect(pdf.startsWith('%PDF-')).toBe(true);
    expect(pdf).toContain('stand-in report 2026-W49 run 1 mode native');
    expect(pdf).toContain('dashboard slo-error-budget');
    expect(output.text()).toMatch(/weekly\.pdf: \d+ bytes, native mode \(--mode native\)\n$/);
    expect(progress.text()).toContain(
      'report 2026-W49: 2026-11-30T00:00:00.000Z to 2026-12-07T00:00:00.000Z\n',
    );
    expect(progress.text()).toContain('panel 2/2: slo-error-budget: requests\n');
    expect(progress.text()).not.toContain('\u001b[');
  });

  it('draws a progress bar on a terminal', async () => {
    // Prepare
    const progress = capture(true);

    // Act
    await command(progress, capture(false)).parseAsync(
      ['--out', join(dir, 'r.pdf'), '--mode', 'native', '--dashboards', 'a,b,c,d'],
      { from: 'user' },
    );

    // Assess
    expect(progress.text()).toContain('\r\u001b[2K[###############---------------] 2/4 b: requests');
    expect(progress.text()).toContain('[##############################] 4/4 d: requests\n');
  });

  it('--publish stores the report under the ISO week of --from and sends it to the outbox without a Slack token', async () => {
    // Prepare
    const output = capture(false);

    // Act
    await command(capture(false), output).parseAsync(
      [
        '--publish',
        '--from',
        '2026-11-23',
        '--to',
        '2026-11-30',
        '--mode',
        'native',
        '--dashboards',
        'toilless',
        '-d',
        dir,
      ],
      { from: 'user' },
    );

    // Assess
    const store = new FsObjectStore(dir);
    expect((await store.get('reports/2026-W48/report.pdf'))?.body.toString('utf8')).toContain('2026-W48');
    const outbox: string[] = [];
    for await (const key of store.list('outbox/slack/')) outbox.push(key);
    expect(outbox.some((key) => key.endsWith('.json'))).toBe(true);
    expect(output.text()).toBe(
      'reports/2026-W48/report.pdf stored; posted to the outbox (SLACK_BOT_TOKEN is not set)\n',
    );
  });

  it('--publish leaves a week already published as it is, and --replace publishes it again', async () => {
    // Prepare
    const args = ['--publish', '--mode', 'native', '--dashboards', 'toilless', '-d', dir];
    await command(capture(false), capture(false)).parseAsync(args, { from: 'user' });
    const again = capture(false);
    const replaced = capture(false);

    // Act
    await command(capture(false), again).parseAsync(args, { from: 'user' });
    await command(capture(false), replaced).parseAsync([...args, '--replace'], { from: 'user' });

    // Assess
    expect(again.text()).toBe(
      'reports/2026-W49/report.pdf was published already (stored 2026-12-07T08:00:00.000Z): nothing posted; --replace publishes it again\n',
    );
    expect(replaced.text()).toBe(
      'reports/2026-W49/report.pdf replaced the report stored earlier for this week; posted to the outbox (SLACK_BOT_TOKEN is not set)\n',
    );
    expect(engines.assembled).toHaveLength(2);
  });

  it('refuses --replace without --publish', async () => {
    await expect(
      command(capture(false), capture(false)).parseAsync(['--replace'], { from: 'user' }),
    ).rejects.toThrow('--replace goes with --publish: add --publish, or drop --replace');
    expect(engines.rendered).toEqual([]);
  });

  it('refuses a time it cannot read and a mode it does not know, before rendering anything', async () => {
    await expect(
      command(capture(false), capture(false)).parseAsync(['--from', 'last week'], { from: 'user' }),
    ).rejects.toThrow(/--from "last week" is not a time/);
    await expect(
      command(capture(false), capture(false)).parseAsync(['--mode', 'pixels'], { from: 'user' }),
    ).rejects.toMatchObject({ code: 'commander.invalidArgument' });
    await expect(
      command(capture(false), capture(false)).parseAsync(['--dashboards', 'a b'], { from: 'user' }),
    ).rejects.toMatchObject({ code: 'commander.invalidArgument' });
    expect(engines.rendered).toEqual([]);
  });
});
