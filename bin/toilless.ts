/** The toilless CLI's entry point (bin/toilless.js loads it): the commands are in bin/cli.ts. */
import { runCli } from './cli.js';

await runCli(process.argv);
