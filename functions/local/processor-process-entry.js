// The processors' process (see processor-process.ts). First of all it lowers its CPU priority, before
// it loads anything: on Linux the nice value is per thread, so it is set for every thread already
// running (V8's own) and every thread started from here on (libuv's pool among them) inherits it. Then
// it registers the TypeScript loader and loads the host.
import { readdirSync } from 'node:fs';
import { setPriority } from 'node:os';
import { register } from 'tsx/esm/api';

const nice = process.env.TOILLESS_PROCESSORS_NICE;
let niceError;
if (nice !== undefined) {
  try {
    for (const thread of readdirSync('/proc/self/task')) setPriority(Number(thread), Number(nice));
  } catch (error) {
    niceError = error;
  }
}
register();
const { runProcessors } = await import('./processor-process-main.ts');
await runProcessors(niceError);
