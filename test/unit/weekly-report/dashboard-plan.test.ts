import { describe, expect, it } from 'vitest';
import type { DashboardJson, PanelJson } from '../../../functions/weekly-report/native/dashboard-json.js';
import { planRows } from '../../../functions/weekly-report/native/dashboard-rows.js';
import { fieldDisplay, mappedValue } from '../../../functions/weekly-report/native/field-display.js';
import { organizeTable, seriesTable } from '../../../functions/weekly-report/native/table.js';
import { parseLabelValues, resolveVariables } from '../../../functions/weekly-report/native/variables.js';

const panel = (id: number, extra: Partial<PanelJson> = {}): PanelJson => ({
  id,
  type: 'stat',
  title: `p${id}`,
  gridPos: { x: 0, y: id, w: 12, h: 4 },
  ...extra,
});

describe('Native report dashboard plan', () => {
  it('resolves variables: saved value, All as allValue or a regex, first sorted value when nothing is saved', async () => {
    const dashboard: DashboardJson = {
      uid: 'd',
      title: 'd',
      templating: {
        list: [
          {
            name: 'env',
            type: 'query',
            query: 'label_values(up, env)',
            current: { value: ['$__all'] },
            allValue: '.+',
          },
          { name: 'code', type: 'custom', query: '2.., 5..', current: { value: ['$__all'] } },
          { name: 'instance', type: 'query', query: { query: 'label_values(up{env=~"$env"}, instance)' } },
          { name: 'service', type: 'query', query: 'label_values(up, service)', current: { value: 'shop' } },
        ],
      },
    };
    const asked: string[] = [];
    const variables = await resolveVariables(dashboard, async (selector, label) => {
      asked.push(`${selector} ${label}`);
      return label === 'instance' ? ['b:9100', 'a:9100'] : ['prod', 'dev'];
    });
    expect(variables.get('env')).toEqual({ value: '.+', text: 'All', values: ['dev', 'prod'] });
    expect(variables.get('code')).toEqual({
      value: '(2\\.\\.|5\\.\\.)',
      text: 'All',
      values: ['2..', '5..'],
    });
    expect(variables.get('instance')).toEqual({ value: 'a:9100', text: 'a:9100', values: ['a:9100'] });
    expect(variables.get('service')?.value).toBe('shop');
    expect(asked).toContain('up{env=~".+"} instance');
  });

  it('reads label_values with and without a selector', () => {
    expect(parseLabelValues('label_values(up{job="x"}, instance)')).toEqual({
      selector: 'up{job="x"}',
      label: 'instance',
    });
    expect(parseLabelValues('label_values(instance)')).toEqual({ selector: undefined, label: 'instance' });
    expect(parseLabelValues('query_result(up)')).toBeUndefined();
  });

  it('groups panels under rows, expands collapsed rows and repeats panels per value', () => {
    const variables = new Map([['code', { value: '(200|500)', text: 'All', values: ['200', '500', '503'] }]]);
    const rows = planRows(
      [
        panel(1),
        { id: 2, type: 'row', title: 'Open', gridPos: { x: 0, y: 5, w: 24, h: 1 } },
        panel(3, { repeat: 'code', repeatDirection: 'h', maxPerRow: 2 }),
        {
          id: 4,
          type: 'row',
          title: 'Closed',
          collapsed: true,
          panels: [panel(5), panel(6, { repeat: 'code', repeatDirection: 'v' })],
        },
      ],
      variables,
    );
    expect(rows.map((row) => [row.title, row.panels.map((p) => p.panel.id)])).toEqual([
      [null, [1]],
      ['Open', [3, 3, 3]],
      ['Closed', [5, 6, 6, 6]],
    ]);
    expect(
      rows[1]?.panels.map((p) => [p.gridPos.x, p.gridPos.y, p.gridPos.w, p.overrides.code?.value]),
    ).toEqual([
      [0, 3, 12, '200'],
      [12, 3, 12, '500'],
      [0, 7, 12, '503'],
    ]);
    expect(rows[2]?.panels.slice(1).map((p) => p.gridPos.y)).toEqual([6, 10, 14]);
  });

  it('applies field overrides by query, name and regex, and value mappings', () => {
    const withOverrides = panel(1, {
      fieldConfig: {
        defaults: {
          unit: 'percentunit',
          mappings: [
            { type: 'range', options: { from: 1, to: null, result: { text: 'freeze', color: 'red' } } },
          ],
        },
        overrides: [
          {
            matcher: { id: 'byFrameRefID', options: 'memory' },
            properties: [{ id: 'unit', value: 'bytes' }],
          },
          { matcher: { id: 'byRegexp', options: '.*fail.*' }, properties: [{ id: 'decimals', value: 0 }] },
          {
            matcher: { id: 'byName', options: 'sent' },
            properties: [{ id: 'custom.transform', value: 'negative-Y' }],
          },
        ],
      },
    });
    expect(fieldDisplay(withOverrides, { refId: 'memory', name: 'rss' }).format).toEqual({ unit: 'bytes' });
    expect(fieldDisplay(withOverrides, { refId: 'A', name: 'failure' }).format).toEqual({
      unit: 'percentunit',
      decimals: 0,
    });
    expect(fieldDisplay(withOverrides, { refId: 'A', name: 'sent' }).negativeY).toBe(true);
    const { mappings } = fieldDisplay(withOverrides, { refId: 'A', name: 'x' });
    expect(mappedValue(1.2, mappings)).toEqual({ text: 'freeze', color: 'red' });
    expect(mappedValue(0.4, mappings)).toBeUndefined();
    expect(mappedValue(4, [{ type: 'value', options: { '4': { text: 'Elite', color: 'green' } } }])).toEqual({
      text: 'Elite',
      color: 'green',
    });
  });

  it('builds a table from series and organizes its columns', () => {
    const at = new Date('2026-12-07T00:00:00Z');
    const table = seriesTable(
      [
        {
          refId: 'A',
          series: [
            { metric: { repository: 'b', status: 'success' }, points: [{ at, value: 12 }] },
            { metric: { repository: 'a', status: 'failure' }, points: [{ at, value: 2 }] },
          ],
        },
      ],
      at,
    );
    expect(table.columns).toEqual(['Time', 'repository', 'status', 'Value']);
    const organized = organizeTable(table, [
      {
        id: 'organize',
        options: {
          excludeByName: { Time: true },
          renameByName: { Value: 'deployments' },
          indexByName: { status: 0 },
        },
      },
    ]);
    expect(organized).toEqual({
      columns: ['status', 'repository', 'deployments'],
      rows: [
        ['failure', 'a', 2],
        ['success', 'b', 12],
      ],
    });
  });
});
