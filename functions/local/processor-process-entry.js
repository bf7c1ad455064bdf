// The processors' process (see processor-process.ts). First of all it lowers its CPU priority, so that
// every thread it starts from here on (libuv's pool among them) inherits it; then it registers the
// TypeScript loader and loads the host.
import { setPriority } from 'node:os';
import { register } from 'tsx/esm/api';

const nice = process.env.TOILLESS_PROCESSORS_NICE;
let niceError;
if (nice !== undefined) {
  try {
    setPriority(0, Number(nice));
  } catch (error) {
    niceError = error;
  }
}
register();
const { runProcessors } = await import('./processor-process-main.ts');
await runProcessors(niceError);
