import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildCli } from '../../../bin/cli.js';

function names(command: Command): string[] {
  return command.commands.map((sub) => sub.name());
}

/** Parses without exiting or printing: commander's errors are thrown instead. */
function quiet(program: Command): Command {
  program.exitOverride().configureOutput({ writeOut: () => {}, writeErr: () => {} });
  for (const sub of program.commands) quiet(sub);
  return program;
}

describe('toilless CLI', () => {
  it('builds every command without running one when imported', () => {
    // Act
    const program = buildCli();

    // Assess
    expect(names(program)).toEqual(['serve', 'timeline', 'report', 'dora', 'gameday', 'check', 'cost']);
    expect(names(program.commands.find((sub) => sub.name() === 'dora')!)).toEqual(['backfill', 'show']);
    expect(process.exitCode).toBeUndefined();
  });

  it('refuses a port that is not one before starting anything', async () => {
    // Prepare
    const program = quiet(buildCli());

    // Act
    const parsing = program.parseAsync(['serve', '--port', '70000'], { from: 'user' });

    // Assess
    await expect(parsing).rejects.toMatchObject({
      code: 'commander.invalidArgument',
      message: expect.stringContaining('expected a TCP port between 0 and 65535'),
    });
  });

  it('refuses a repository that is not owner/name', async () => {
    // Prepare
    const program = quiet(buildCli());

    // Act
    const parsing = program.parseAsync(['dora', 'show', '--repo', 'not a repository'], { from: 'user' });

    // Assess
    await expect(parsing).rejects.toMatchObject({ code: 'commander.invalidArgument' });
  });
});
