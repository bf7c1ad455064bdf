import protobuf from 'protobufjs/minimal.js';
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const series = [];
for (let s = 0; s < 100000; s++) series.push({ __name__: 'toilless_dora_lead_time_seconds', repository: `acme/service-${s % 250}`, environment: ['production','staging'][s%2]!, team: `team-${s%17}`, quantile: String(s%5) , instance: `svc-${s}`});
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const LONE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
function time(name: string, f: (l: Record<string,string>) => unknown) {
  const r = [];
  for (let k = 0; k < 5; k++) { const t = cpu(); for (const l of series) f(l); r.push((cpu() - t).toFixed(0)); }
  console.log(name.padEnd(12), r.join(' '));
}
void (0) && time('keys', (l) => Object.keys(l));
void (0) && time('regex', (l) => { for (const n of Object.keys(l)) { LABEL_NAME.test(n); LONE.test(l[n]!); } });
void (0) && time('splice', (l) => { const names: string[] = []; const values: string[] = []; for (const n of Object.keys(l)) { let at = names.length; while (at > 0 && names[at-1]! > n) at--; names.splice(at, 0, n); values.splice(at, 0, l[n]!); } return names; });
void (0) && time('json', (l) => JSON.stringify([Object.keys(l), Object.values(l)]));
const m = new Map();
void (0) && time('key+map', (l) => { let key = ''; for (const n of Object.keys(l)) key += `${n}=${l[n]!.length}:${l[n]}`; m.set(key, 1); });
void (0) && time('writer', (l) => { const w = protobuf.Writer.create(); for (const n of Object.keys(l)) w.uint32(10).fork().uint32(10).string(n).uint32(18).string(l[n]!).ldelim(); return w.finish(); });
const enc = new TextEncoder();
void (0) && time('manual', (l) => { const keys = Object.keys(l); let size = 0; for (const n of keys) { const ls = 2 + n.length + 2 + l[n]!.length; size += 2 + ls; } const b = new Uint8Array(size); let p = 0; for (const n of keys) { const v = l[n]!; b[p++] = 10; b[p++] = 4 + n.length + v.length; b[p++] = 10; b[p++] = n.length; for (let i = 0; i < n.length; i++) b[p++] = n.charCodeAt(i); b[p++] = 18; b[p++] = v.length; for (let i = 0; i < v.length; i++) b[p++] = v.charCodeAt(i); } return b; });
time('sortkeys', (l) => { const names = Object.keys(l).sort(); const values = new Array<string>(names.length); for (let i = 0; i < names.length; i++) values[i] = l[names[i]!]!; return values; });
time('insertion', (l) => { const names = Object.keys(l); for (let i = 1; i < names.length; i++) { const n = names[i]!; let j = i - 1; while (j >= 0 && names[j]! > n) { names[j + 1] = names[j]!; j--; } names[j + 1] = n; } const values = new Array<string>(names.length); for (let i = 0; i < names.length; i++) values[i] = l[names[i]!]!; return values; });
const hm = new Map<number, number>();
time('fnv+map', (l) => { let h = 0x811c9dc5; for (const n of Object.keys(l)) { const v = l[n]!; for (let i = 0; i < n.length; i++) h = Math.imul(h ^ n.charCodeAt(i), 16777619); h = Math.imul(h ^ 61, 16777619); for (let i = 0; i < v.length; i++) h = Math.imul(h ^ v.charCodeAt(i), 16777619); h = Math.imul(h ^ 0xffff, 16777619); } hm.set(h, 1); });
time('json+map', (l) => { m.set(JSON.stringify([Object.keys(l), Object.values(l)]), 1); });
