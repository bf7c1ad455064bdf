/**
 * Node exporter: one host's CPU (total and per core), memory, disks, network and load. The warning and
 * critical lines are the node alerts' thresholds (stack-config/prometheus/rules/node.yml), which link
 * here with var-instance.
 */

import { PanelBuilder as BarGaugePanel } from '@grafana/grafana-foundation-sdk/bargauge';
import {
  BarGaugeDisplayMode,
  GraphThresholdsStyleConfigBuilder,
  GraphThresholdsStyleMode,
  LegendDisplayMode,
  LegendPlacement,
  VizLegendOptionsBuilder,
  VizOrientation,
} from '@grafana/grafana-foundation-sdk/common';
import { type Dashboard, RowBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { DataqueryBuilder as PrometheusQuery } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as TimeseriesPanel } from '@grafana/grafana-foundation-sdk/timeseries';
import type { ToillessConfig } from '../shared/stack-config.js';
import { NODE_EXPORTER, runbookPanelLink } from './catalog.js';
import { belowTheAxis, labelVariable, newDashboard, PROMETHEUS, thresholds } from './panels.js';

const HOST = 'instance="$instance"';
/** Virtual and read-only filesystems are always "full": the disk alerts leave them out, and so does this. */
const REAL_FILESYSTEMS = `${HOST}, fstype!~"tmpfs|overlay|squashfs"`;

const query = (expr: string, legend: string, refId: string) =>
  new PrometheusQuery().datasource(PROMETHEUS).expr(expr).legendFormat(legend).refId(refId);

const dashed = () => new GraphThresholdsStyleConfigBuilder().mode(GraphThresholdsStyleMode.Dashed);

const legend = () =>
  new VizLegendOptionsBuilder()
    .displayMode(LegendDisplayMode.List)
    .placement(LegendPlacement.Bottom)
    .showLegend(true);

/** The alerts' warning and critical thresholds: 80%/90% for CPU and memory, 75%/90% for disks. */
const alertLines = (warning: number, critical: number) =>
  thresholds('transparent', [warning, 'orange'], [critical, 'red']);

export function nodeExporterDashboard(config: ToillessConfig): Dashboard {
  const runbooks = config.links.runbooksUrl;
  return newDashboard(
    NODE_EXPORTER,
    config,
    'One host as node_exporter sees it: CPU total and per core, memory, disk I/O and space, network, load.',
  )
    .withVariable(labelVariable('instance', 'Instance', 'label_values(node_uname_info, instance)'))
    .withRow(new RowBuilder('CPU and load of $instance').id(1))
    .withPanel(
      new TimeseriesPanel()
        .id(2)
        .title('CPU busy (total)')
        .description('Share of CPU time not idle, averaged over all cores. Alerts at 80% (warning) and 90%.')
        .datasource(PROMETHEUS)
        .withTarget(
          query(`1 - avg(rate(node_cpu_seconds_total{${HOST}, mode="idle"}[$__rate_interval]))`, 'busy', 'A'),
        )
        .unit('percentunit')
        .min(0)
        .max(1)
        .thresholds(alertLines(0.8, 0.9))
        .thresholdsStyle(dashed())
        .links([
          runbookPanelLink(runbooks, 'runbooks/high-cpu-warning.md'),
          runbookPanelLink(runbooks, 'runbooks/high-cpu-critical.md'),
        ])
        .legend(legend())
        .height(8)
        .span(8),
    )
    .withPanel(
      new TimeseriesPanel()
        .id(3)
        .title('CPU busy per core')
        .datasource(PROMETHEUS)
        .withTarget(
          query(
            `1 - avg by (cpu) (rate(node_cpu_seconds_total{${HOST}, mode="idle"}[$__rate_interval]))`,
            'cpu {{cpu}}',
            'A',
          ),
        )
        .unit('percentunit')
        .min(0)
        .max(1)
        .legend(legend())
        .height(8)
        .span(8),
    )
    .withPanel(
      new TimeseriesPanel()
        .id(4)
        .title('Load average')
        .description('1, 5 and 15 minute load averages against the number of cores.')
        .datasource(PROMETHEUS)
        .withTarget(query(`node_load1{${HOST}}`, '1m', 'load1'))
        .withTarget(query(`node_load5{${HOST}}`, '5m', 'load5'))
        .withTarget(query(`node_load15{${HOST}}`, '15m', 'load15'))
        .withTarget(query(`count(node_cpu_seconds_total{${HOST}, mode="idle"})`, 'cores', 'cores'))
        .unit('short')
        .min(0)
        .legend(legend())
        .height(8)
        .span(8),
    )
    .withRow(new RowBuilder('Memory of $instance').id(5))
    .withPanel(
      new TimeseriesPanel()
        .id(6)
        .title('Memory used, cached and available')
        .description(
          'Used = total - available. Cached = page cache + buffers (reclaimable, part of available).',
        )
        .datasource(PROMETHEUS)
        .withTarget(
          query(
            `node_memory_MemTotal_bytes{${HOST}} - node_memory_MemAvailable_bytes{${HOST}}`,
            'used',
            'used',
          ),
        )
        .withTarget(
          query(`node_memory_Cached_bytes{${HOST}} + node_memory_Buffers_bytes{${HOST}}`, 'cached', 'cached'),
        )
        .withTarget(query(`node_memory_MemAvailable_bytes{${HOST}}`, 'available', 'available'))
        .withTarget(query(`node_memory_MemTotal_bytes{${HOST}}`, 'total', 'total'))
        .unit('bytes')
        .min(0)
        .legend(legend())
        .height(8)
        .span(12),
    )
    .withPanel(
      new TimeseriesPanel()
        .id(7)
        .title('Memory used (share)')
        .description(
          '1 - available / total, as the memory alerts compute it. Alerts at 80% (warning) and 90%.',
        )
        .datasource(PROMETHEUS)
        .withTarget(
          query(
            `1 - node_memory_MemAvailable_bytes{${HOST}} / node_memory_MemTotal_bytes{${HOST}}`,
            'used',
            'A',
          ),
        )
        .unit('percentunit')
        .min(0)
        .max(1)
        .thresholds(alertLines(0.8, 0.9))
        .thresholdsStyle(dashed())
        .links([
          runbookPanelLink(runbooks, 'runbooks/high-memory-warning.md'),
          runbookPanelLink(runbooks, 'runbooks/high-memory-critical.md'),
        ])
        .legend(legend())
        .height(8)
        .span(12),
    )
    .withRow(new RowBuilder('Disks and network of $instance').id(8))
    .withPanel(
      new BarGaugePanel()
        .id(9)
        .title('Disk space used')
        .description('Per mount point, real filesystems only. Alerts at 75% (warning) and 90% (critical).')
        .datasource(PROMETHEUS)
        .withTarget(
          query(
            `1 - node_filesystem_avail_bytes{${REAL_FILESYSTEMS}} / node_filesystem_size_bytes{${REAL_FILESYSTEMS}}`,
            '{{mountpoint}}',
            'A',
          ).instant(),
        )
        .unit('percentunit')
        .min(0)
        .max(1)
        .thresholds(thresholds('green', [0.75, 'orange'], [0.9, 'red']))
        .displayMode(BarGaugeDisplayMode.Gradient)
        .orientation(VizOrientation.Horizontal)
        .links([
          runbookPanelLink(runbooks, 'runbooks/disk-space-warning.md'),
          runbookPanelLink(runbooks, 'runbooks/disk-space-critical.md'),
        ])
        .height(8)
        .span(8),
    )
    .withPanel(
      new TimeseriesPanel()
        .id(10)
        .title('Disk I/O')
        .description('Bytes read and written per second by device; writes are drawn below the axis.')
        .datasource(PROMETHEUS)
        .withTarget(
          query(`rate(node_disk_read_bytes_total{${HOST}}[$__rate_interval])`, 'read {{device}}', 'read'),
        )
        .withTarget(
          query(
            `rate(node_disk_written_bytes_total{${HOST}}[$__rate_interval])`,
            'written {{device}}',
            'written',
          ),
        )
        .unit('Bps')
        .overrides([belowTheAxis('written')])
        .legend(legend())
        .height(8)
        .span(8),
    )
    .withPanel(
      new TimeseriesPanel()
        .id(11)
        .title('Network I/O')
        .description(
          'Bytes received and sent per second by interface (loopback excluded); sent below the axis.',
        )
        .datasource(PROMETHEUS)
        .withTarget(
          query(
            `rate(node_network_receive_bytes_total{${HOST}, device!="lo"}[$__rate_interval])`,
            'received {{device}}',
            'received',
          ),
        )
        .withTarget(
          query(
            `rate(node_network_transmit_bytes_total{${HOST}, device!="lo"}[$__rate_interval])`,
            'sent {{device}}',
            'sent',
          ),
        )
        .unit('Bps')
        .overrides([belowTheAxis('sent')])
        .legend(legend())
        .height(8)
        .span(8),
    )
    .build();
}
