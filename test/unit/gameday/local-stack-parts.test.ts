import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EXIT_USAGE, localMain, parseScenarioArguments } from '../../../bin/gameday/local-main.js';
import {
  LocalPartError,
  MissingBinaryError,
  requireBinary,
  startLocalProcess,
} from '../../../bin/gameday/local-processes.js';
import { checkFactor } from '../../../bin/gameday/local-stack.js';

describe('gameday:local arguments', () => {
  it('runs every scenario by default and for "all", in the design order, and only the named ones otherwise', () => {
    // Act and assess
    expect(parseScenarioArguments([])).toEqual(['deploy-failure', 'latency', 'resource-pressure']);
    expect(parseScenarioArguments(['all'])).toEqual(['deploy-failure', 'latency', 'resource-pressure']);
    expect(parseScenarioArguments(['resource-pressure', 'latency'])).toEqual([
      'latency',
      'resource-pressure',
    ]);
  });

  it('refuses an unknown scenario, naming it and the valid ones', () => {
    // Act and assess
    expect(() => parseScenarioArguments(['latency', 'outage'])).toThrow(
      'unknown scenario "outage": use deploy-failure, latency, resource-pressure or all',
    );
  });

  it('exits with the usage code on a bad scenario or time scale, before starting anything', async () => {
    // Act
    const badScenario = await localMain(['outage']);
    process.exitCode = undefined;
    const badScale = await localMain(['--time-scale', '30']);
    process.exitCode = undefined;

    // Assess
    expect(badScenario).toBe(EXIT_USAGE);
    expect(badScale).toBe(EXIT_USAGE);
  });

  it('refuses a factor that would stretch the timings', () => {
    // Act and assess
    expect(checkFactor(1 / 30)).toBeCloseTo(1 / 30);
    expect(() => checkFactor(2)).toThrow('the time-scale factor must be above 0 and at most 1, not 2');
  });
});

describe('Local stack parts', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'toilless-local-parts-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('names the Debian package of a missing binary', () => {
    // Act and assess
    expect(() => requireBinary('prometheus-alertmanager', 'prometheus-alertmanager', dir)).toThrow(
      MissingBinaryError,
    );
    expect(() => requireBinary('prometheus-alertmanager', 'prometheus-alertmanager', dir)).toThrow(
      'prometheus-alertmanager was not found on PATH: the local game day runs the real one from the Debian package ' +
        '"prometheus-alertmanager". Install it with "sudo apt-get install --no-install-recommends prometheus-alertmanager"',
    );
  });

  it('fails a part that exits before it is ready with its name, its exit and the last lines of its log', async () => {
    // Prepare
    const logFile = join(dir, 'broken.log');

    // Act
    const start = startLocalProcess({
      name: 'broken-part',
      command: process.execPath,
      args: [
        '-e',
        'console.error("listen tcp 127.0.0.1:9090: bind: address already in use"); process.exit(3)',
      ],
      env: { PATH: process.env['PATH'] },
      cwd: dir,
      readyUrl: 'http://127.0.0.1:9/never',
      readyTimeoutMs: 20_000,
      logFile,
    });

    // Assess
    const error = await start.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(LocalPartError);
    expect((error as LocalPartError).message).toMatch(
      /^broken-part exited with code 3 before it was ready \(log: .*broken\.log\); its last output:\nlisten tcp 127\.0\.0\.1:9090: bind: address already in use/,
    );
    expect(await readFile(logFile, 'utf8')).toContain('address already in use');
  });

  it('fails a part that never answers at its readiness URL, and stops it', async () => {
    // Act
    const start = startLocalProcess({
      name: 'silent-part',
      command: process.execPath,
      args: ['-e', 'console.log("starting"); setInterval(() => {}, 1000)'],
      env: { PATH: process.env['PATH'] },
      cwd: dir,
      readyUrl: 'http://127.0.0.1:9/never',
      readyTimeoutMs: 1_000,
      stopGraceMs: 1_000,
      logFile: join(dir, 'silent.log'),
    });

    // Assess
    const error = (await start.catch((caught: unknown) => caught)) as LocalPartError;
    expect(error.part).toBe('silent-part');
    expect(error.message).toMatch(
      /^silent-part did not answer 200 at http:\/\/127\.0\.0\.1:9\/never within 1 s/,
    );
    expect(error.logTail).toContain('starting');
  });
});
