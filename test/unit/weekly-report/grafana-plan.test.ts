import { describe, expect, it } from 'vitest';
import {
  interpolate,
  MAX_REPETITIONS,
  planDashboard,
  repeatedPositions,
} from '../../../functions/weekly-report/grafana/plan.js';

const panel = (id: number, title: string, extra: Record<string, unknown> = {}) => ({
  id,
  type: 'timeseries',
  title,
  gridPos: { x: 0, y: id * 8, w: 12, h: 8 },
  ...extra,
});

describe('Grafana dashboard plan', () => {
  it('puts panels under the row above them, expanded and collapsed rows alike', () => {
    const plan = planDashboard({
      uid: 'd',
      title: 'D',
      panels: [
        panel(1, 'Top'),
        { id: 10, type: 'row', title: 'Open row', collapsed: false, panels: [] },
        panel(2, 'In open row'),
        panel(3, 'Also in open row'),
        { id: 11, type: 'row', title: 'Closed row', collapsed: true, panels: [panel(4, 'Nested')] },
      ],
    });

    expect(plan.rows.map((row) => [row.title, row.panels.map((p) => [p.panelId, p.title])])).toEqual([
      [null, [[1, 'Top']]],
      [
        'Open row',
        [
          [2, 'In open row'],
          [3, 'Also in open row'],
        ],
      ],
      ['Closed row', [[4, 'Nested']]],
    ]);
  });

  it('starts with the first row when no panel comes before it', () => {
    const plan = planDashboard({
      uid: 'd',
      panels: [{ id: 10, type: 'row', title: 'Only', collapsed: true, panels: [panel(1, 'A')] }],
    });
    expect(plan.title).toBe('d');
    expect(plan.rows.map((row) => row.title)).toEqual(['Only']);
  });

  it('repeats a panel once per selected value, with its var- parameter and the value in its title', () => {
    const plan = planDashboard({
      uid: 'd',
      templating: {
        list: [{ name: 'service', type: 'query', current: { value: ['api', 'web', 'worker'] }, options: [] }],
      },
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's own variable syntax
      panels: [panel(1, 'Errors of ${service}', { repeat: 'service', repeatDirection: 'h', maxPerRow: 2 })],
    });

    expect(plan.rows[0]?.panels.map((p) => [p.title, p.variables, p.gridPos])).toEqual([
      ['Errors of api', { service: 'api' }, { x: 0, y: 8, w: 12, h: 8 }],
      ['Errors of web', { service: 'web' }, { x: 12, y: 8, w: 12, h: 8 }],
      ['Errors of worker', { service: 'worker' }, { x: 0, y: 16, w: 12, h: 8 }],
    ]);
    expect(plan.unresolvedVariables).toEqual([]);
  });

  it('takes every option when All is selected: saved options, or a custom variable query', () => {
    const plan = planDashboard({
      uid: 'd',
      templating: {
        list: [
          {
            name: 'env',
            type: 'query',
            current: { value: '$__all' },
            options: [
              { text: 'All', value: '$__all' },
              { text: 'prod', value: 'prod' },
              { text: 'staging', value: 'staging' },
            ],
          },
          {
            name: 'region',
            type: 'custom',
            query: 'Europe : eu-west-1,US : us-east-1',
            current: { value: ['$__all'] },
          },
        ],
      },
      panels: [
        panel(1, '$env', { repeat: 'env' }),
        panel(2, '[[region]]', { repeat: 'region', repeatDirection: 'v' }),
      ],
    });

    const jobs = plan.rows[0]?.panels ?? [];
    expect(jobs.map((p) => [p.panelId, p.title])).toEqual([
      [1, 'prod'],
      [1, 'staging'],
      [2, 'eu-west-1'],
      [2, 'us-east-1'],
    ]);
    expect(jobs.slice(2).map((p) => p.gridPos.y)).toEqual([16, 24]);
  });

  it('repeats a row with all its panels, each carrying the row value', () => {
    const plan = planDashboard({
      uid: 'd',
      templating: { list: [{ name: 'dc', type: 'custom', query: 'a,b', current: { value: ['a', 'b'] } }] },
      panels: [
        {
          id: 10,
          type: 'row',
          title: 'Datacenter $dc',
          repeat: 'dc',
          collapsed: true,
          panels: [panel(1, 'Load $dc')],
        },
        { id: 11, type: 'row', title: 'Other', collapsed: false },
        panel(2, 'Plain'),
      ],
    });

    expect(plan.rows.map((row) => [row.title, row.panels.map((p) => [p.title, p.variables])])).toEqual([
      ['Datacenter a', [['Load a', { dc: 'a' }]]],
      ['Datacenter b', [['Load b', { dc: 'b' }]]],
      ['Other', [['Plain', {}]]],
    ]);
  });

  it('renders a repeated panel once when its variable has no saved values, and says which variable', () => {
    const plan = planDashboard({
      uid: 'd',
      templating: { list: [{ name: 'pod', type: 'query', current: {}, options: [] }] },
      panels: [panel(1, 'CPU $pod', { repeat: 'pod' })],
    });
    expect(plan.rows[0]?.panels.map((p) => [p.title, p.variables])).toEqual([['CPU $pod', {}]]);
    expect(plan.unresolvedVariables).toEqual(['pod']);
  });

  it('takes the values Grafana resolved in the browser over the saved model', () => {
    const model = {
      uid: 'd',
      templating: { list: [{ name: 'pod', type: 'query', current: { value: '$__all' }, options: [] }] },
      panels: [panel(1, 'CPU $pod', { repeat: 'pod' })],
    };
    const plan = planDashboard(model, { pod: ['p-1', 'p-2', 'p-1'] });
    expect(plan.rows[0]?.panels.map((p) => p.title)).toEqual(['CPU p-1', 'CPU p-2']);
    expect(plan.unresolvedVariables).toEqual([]);
    expect(planDashboard(model, { pod: [] }).unresolvedVariables).toEqual(['pod']);
  });

  it('renders at most MAX_REPETITIONS repetitions and says how many more there were', () => {
    const pods = Array.from({ length: MAX_REPETITIONS + 7 }, (_, i) => `p-${i}`);
    const plan = planDashboard(
      { uid: 'd', panels: [panel(1, 'CPU $pod', { repeat: 'pod', repeatDirection: 'v' })] },
      { pod: pods },
    );
    const jobs = plan.rows[0]?.panels ?? [];
    expect(jobs).toHaveLength(MAX_REPETITIONS + 1);
    expect(jobs.filter((job) => job.skipped === undefined)).toHaveLength(MAX_REPETITIONS);
    expect(jobs.at(-1)).toMatchObject({
      skipped: `7 more repetitions (pod has ${MAX_REPETITIONS + 7} values) not rendered: a report shows at most ${MAX_REPETITIONS}`,
      gridPos: { x: 0, y: 8 + MAX_REPETITIONS * 8, w: 24, h: 2 },
    });
  });

  it('shows the current value of a variable in the title of a panel that does not repeat', () => {
    const plan = planDashboard({
      uid: 'd',
      templating: { list: [{ name: 'cluster', type: 'constant', current: { value: 'eu-1' } }] },
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's own variable syntax
      panels: [panel(1, 'Nodes in ${cluster:text}', { description: 'All nodes of $cluster' })],
    });
    expect(plan.rows[0]?.panels[0]).toMatchObject({
      title: 'Nodes in eu-1',
      description: 'All nodes of eu-1',
    });
  });

  it('skips panels without an id and bounds grid positions', () => {
    const plan = planDashboard({
      uid: 'd',
      panels: [
        { type: 'text', title: 'no id' },
        { id: 7, title: 'Huge', gridPos: { x: -3, y: 2, w: 99, h: 1e9 } },
      ],
    });
    expect(plan.rows[0]?.panels.map((p) => [p.panelId, p.gridPos])).toEqual([
      [7, { x: 0, y: 2, w: 24, h: 100 }],
    ]);
  });
});

describe('Grafana repeat layout', () => {
  it('spreads horizontal repetitions over the row, at most maxPerRow side by side', () => {
    expect(repeatedPositions({ x: 0, y: 0, w: 8, h: 4 }, 2, 'h', 4).map((p) => [p.x, p.y, p.w])).toEqual([
      [0, 0, 12],
      [12, 0, 12],
    ]);
    expect(repeatedPositions({ x: 0, y: 0, w: 8, h: 4 }, 5, 'h', 4).map((p) => [p.x, p.y, p.w])).toEqual([
      [0, 0, 6],
      [6, 0, 6],
      [12, 0, 6],
      [18, 0, 6],
      [0, 4, 6],
    ]);
  });
});

describe('Grafana title interpolation', () => {
  it('replaces the known variables in every syntax and leaves the unknown ones', () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's own variable syntax
    expect(interpolate('$a ${a} ${a:csv} [[a]] $b', { a: 'x' })).toBe('x x x x $b');
  });
});
