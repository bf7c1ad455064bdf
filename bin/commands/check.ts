/** `toilless check`: validates stack-config/, one defect a line, exit code 1 when there is any. */
import { relative } from 'node:path';
import { Command } from 'commander';
import { checkStackConfig, formatDefects } from '../../functions/alerting/check.js';
import { stackConfigDir } from '../../functions/shared/stack-config.js';

export function checkCommand(): Command {
  return new Command('check')
    .description(
      'Validate stack-config/: rules, rule tests, Alertmanager config, SLOs, generated files, runbooks.',
    )
    .option('--fix', 'regenerate the generated files (SLO rules, links template) before checking')
    .option('--dir <dir>', 'the stack-config directory', stackConfigDir())
    .addHelpText(
      'after',
      '\nEach defect is printed on its own line, naming the file; the exit code is 1 when there is any.',
    )
    .action(async (options: { fix?: boolean; dir: string }) => {
      const defects = await checkStackConfig(options.dir, { fix: options.fix ?? false });
      if (defects.length === 0) {
        console.log(`${relative(process.cwd(), options.dir) || '.'}: no defects`);
        return;
      }
      console.error(formatDefects(defects));
      process.exitCode = 1;
    });
}
