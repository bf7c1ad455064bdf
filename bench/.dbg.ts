import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsObjectStore } from '../functions/shared/adapters/local/fs-object-store.js';
import { DoraHistory } from '../functions/dora-metrics/dora-history.js';
import { ledgerOfEntries } from '../functions/dora-metrics/ledger.js';
import { serializeCompact } from '../functions/dora-metrics/json-records.js';
import { ledgerKey } from '../functions/dora-metrics/store-keys.js';
import { readCurrentMetrics } from '../functions/dora-metrics/recompute.js';
import { silentLogger } from '../functions/shared/log.js';
import { parseToillessConfig } from '../functions/shared/stack-config.js';
const store = new FsObjectStore(await mkdtemp(join(tmpdir(),'x-')));
const l = ledgerOfEntries({repository:'a/b', environment:'production'}, true, [
 {id:'1', sha:'a', outcome:'success', finishedAt:'2026-11-27T00:00:00.000Z', leadTime:'first-deployment', leadTimeSeconds:[], attributedIncidents:[]},
 {id:'2', sha:'b', outcome:'success', finishedAt:'2026-11-27T01:00:00.000Z', leadTime:'counted', previousSha:'a', leadTimeSeconds:[5,6,7], attributedIncidents:[]},
]);
console.log(serializeCompact(l));
await store.put(ledgerKey('a/b','production'), serializeCompact(l));
const config = parseToillessConfig('');
const h = new DoraHistory({store, config, commits:{commitsBetween: async()=>undefined}, logger: silentLogger});
console.log(JSON.stringify(await h.ledger({repository:'a/b', environment:'production'})));
console.log(JSON.stringify(await readCurrentMetrics(h, config, new Date('2026-11-28T00:00:00Z')), null, 1));
