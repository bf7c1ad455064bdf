/** Where computed DORA metrics go: Prometheus remote-write in production (RemoteWriteClient fits this port). */
import type { TimeSeries } from '../shared/prometheus/remote-write.js';

export interface MetricsWriter {
  /**
   * Resolves once every series is written; rejects when the receiver cannot take them. What it resolves
   * to is not used (RemoteWriteClient resolves to a summary of the requests it sent).
   */
  write(series: readonly TimeSeries[]): Promise<unknown>;
}
