import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsObjectStore } from '../functions/shared/adapters/local/fs-object-store.js';
import { DoraHistory } from '../functions/dora-metrics/dora-history.js';
import { ledgerOfEntries } from '../functions/dora-metrics/ledger.js';
import { serializeCompact, parseJson } from '../functions/dora-metrics/json-records.js';
import { ledgerKey } from '../functions/dora-metrics/store-keys.js';
import { computeDoraMetrics } from '../functions/dora-metrics/metrics.js';
import { attributeIncidents } from '../functions/dora-metrics/attribution.js';
import { parseToillessConfig } from '../functions/shared/stack-config.js';
const N=100000; const NOW=Date.parse('2026-11-28T12:00:00Z'); const span=30*86400000-60000;
const entries=[];
for (let i=0;i<N;i++){ const f=i%10===5; entries.push({id:String(1e6+i), sha:i.toString(16).padStart(40,'0'), outcome:f?'failure':'success', finishedAt:new Date(NOW-span+Math.floor(span*i/N)).toISOString(), leadTime: i===0?'first-deployment':'counted', previousSha:(i-1).toString(16).padStart(40,'0'), leadTimeSeconds: f||i===0?[]:Array.from({length:10},()=>Math.floor(Math.random()**3*2e6)), attributedIncidents:[]}); }
const text = serializeCompact(ledgerOfEntries({repository:'a/b',environment:'production'}, true, entries));
const store = new FsObjectStore(await mkdtemp(join(tmpdir(),'x-')));
await store.put('l.json', text);
const config = parseToillessConfig('services:\n  shop:\n    repositories: [a/b]\n');
const incidents = Array.from({length:2000},(_, i)=>({id:'i'+i, services:['shop'], startedAt:new Date(NOW-span+Math.floor(span*(i+0.5)/2000)).toISOString(), resolvedAt:new Date(NOW-span+Math.floor(span*(i+0.5)/2000)+1800000).toISOString()}));
for (let r=0;r<3;r++){
const t=(n:string,f:()=>any)=>{const c=process.cpuUsage(); const v=f(); const u=process.cpuUsage(c); console.log(n, Math.round((u.user+u.system)/1000)); return v;};
const obj = await store.get('l.json');
const ledger = t('parse', ()=>parseJson(obj));
const att = t('attr', ()=>attributeIncidents(config, incidents, [ledger]));
const map = new Map(att.map(a=>[a.deploymentId,[a.incident]]));
t('compute', ()=>computeDoraMetrics({ledger, attributions: map, now:new Date(NOW), levels:config.dora.levels}));
}
