/** Where computed DORA metrics go: Prometheus remote-write in production (RemoteWriteClient fits this port). */
import type { TimeSeries } from '../shared/prometheus/remote-write.js';

export interface MetricsWriter {
  /** Resolves once every series is written; rejects when the receiver cannot take them. */
  write(series: readonly TimeSeries[]): Promise<unknown>;
}
