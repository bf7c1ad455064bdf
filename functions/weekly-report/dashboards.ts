/** The dashboards a report covers when neither `--dashboards` nor toilless.yaml names any: every shipped one. */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigurationError } from '../shared/errors.js';

/** Where the shipped dashboards are, relative to the stack-config directory (bundled on Lambda). */
export const DASHBOARDS_DIR = 'grafana/dashboards';

/** The uids of the dashboard JSON files under stack-config/grafana/dashboards, by file name. */
export async function shippedDashboardUids(stackConfigDir: string): Promise<string[]> {
  const dir = join(stackConfigDir, DASHBOARDS_DIR);
  let files: string[];
  try {
    files = (await readdir(dir)).filter((file) => file.endsWith('.json')).sort();
  } catch (error) {
    throw new ConfigurationError(`cannot list the dashboards in ${dir}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const uids: string[] = [];
  for (const file of files) {
    const text = await readFile(join(dir, file), 'utf8');
    try {
      const uid = (JSON.parse(text) as { uid?: unknown }).uid;
      if (typeof uid === 'string' && uid !== '') uids.push(uid);
    } catch (error) {
      throw new ConfigurationError(`${join(dir, file)} is not valid JSON: run toilless check`, {
        cause: error,
      });
    }
  }
  return uids;
}
