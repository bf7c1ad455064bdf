/**
 * Which rendering mode a run uses: `--mode` when given, else toilless.yaml `report.mode`; `auto` picks
 * grafana when a token is configured and Grafana answers /api/health, native (no Grafana needed) otherwise.
 */
import type { RenderMode } from './model.js';

export type ConfiguredMode = RenderMode | 'auto';

export interface ModeChoice {
  readonly mode: RenderMode;
  /** Why, for the logs and the CLI. */
  readonly reason: string;
}

export interface ModeFacts {
  /** `toilless report --mode`. */
  readonly requested?: RenderMode;
  /** toilless.yaml `report.mode`. */
  readonly configured: ConfiguredMode;
  readonly grafanaTokenSet: boolean;
  /** Asked only when the answer decides: auto mode with a token. */
  readonly grafanaHealthy: () => Promise<boolean>;
}

export async function chooseRenderMode(facts: ModeFacts): Promise<ModeChoice> {
  if (facts.requested) return { mode: facts.requested, reason: `--mode ${facts.requested}` };
  if (facts.configured !== 'auto') {
    return { mode: facts.configured, reason: `report.mode is ${facts.configured} in toilless.yaml` };
  }
  if (!facts.grafanaTokenSet) return { mode: 'native', reason: 'GRAFANA_TOKEN is not set' };
  if (!(await facts.grafanaHealthy())) {
    return {
      mode: 'native',
      reason: 'Grafana did not answer /api/health: drawing the panels from Prometheus',
    };
  }
  return { mode: 'grafana', reason: 'GRAFANA_TOKEN is set and Grafana answers' };
}

/** True when Grafana's /api/health answers 200 with its database ok, within `timeoutMs`. */
export async function grafanaAnswers(
  grafanaUrl: string,
  options: { readonly timeoutMs?: number; readonly fetch?: typeof fetch } = {},
): Promise<boolean> {
  const fetchImpl = options.fetch ?? globalThis.fetch;
  try {
    const response = await fetchImpl(`${grafanaUrl.replace(/\/+$/, '')}/api/health`, {
      signal: AbortSignal.timeout(options.timeoutMs ?? 3_000),
      redirect: 'manual',
    });
    if (response.status !== 200) {
      await response.body?.cancel();
      return false;
    }
    const body = (await response.json()) as { database?: unknown };
    return body.database === 'ok';
  } catch {
    return false;
  }
}
