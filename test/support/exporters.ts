/**
 * The real Prometheus exporters of the stack (Debian packages), started on free 127.0.0.1 ports: the
 * node exporter, and the blackbox exporter with a given blackbox.yml.
 */
import { requireBinary } from './binaries.js';
import { startOnFreePort } from './ports.js';
import { startServerProcess } from './process.js';

/** An exporter started for a test; stop() it when done. */
export interface RunningExporter {
  /** host:port, as a Prometheus target. */
  readonly address: string;
  /** Base URL, e.g. http://127.0.0.1:41234. */
  readonly url: string;
  output(): string;
  stop(): Promise<void>;
}

/** The node exporter with the collectors the Node dashboard reads (cpu, memory, disk, network, load). */
export function startNodeExporter(): Promise<RunningExporter> {
  const command = requireBinary('prometheus-node-exporter', 'prometheus-node-exporter');
  return startOnFreePort(async (port) => {
    const address = `127.0.0.1:${port}`;
    const server = await startServerProcess({
      name: 'node-exporter',
      command,
      args: [
        `--web.listen-address=${address}`,
        '--collector.disable-defaults',
        ...['cpu', 'meminfo', 'loadavg', 'filesystem', 'diskstats', 'netdev'].map(
          (name) => `--collector.${name}`,
        ),
      ],
      readyUrl: `http://${address}/metrics`,
    });
    return { address, url: `http://${address}`, output: () => server.output(), stop: () => server.stop() };
  });
}

/** The blackbox exporter reading `configFile`. */
export function startBlackboxExporter(configFile: string): Promise<RunningExporter> {
  const command = requireBinary('prometheus-blackbox-exporter', 'prometheus-blackbox-exporter');
  return startOnFreePort(async (port) => {
    const address = `127.0.0.1:${port}`;
    const server = await startServerProcess({
      name: 'blackbox-exporter',
      command,
      args: [`--config.file=${configFile}`, `--web.listen-address=${address}`],
      readyUrl: `http://${address}/metrics`,
    });
    return { address, url: `http://${address}`, output: () => server.output(), stop: () => server.stop() };
  });
}
