import { prepareSeries, encodeSlices } from '../functions/shared/prometheus/write-request.js';
const now = Date.now();
function make(nSeries: number, nSamples: number) {
  const series = [];
  for (let s = 0; s < nSeries; s++) {
    const samples = [];
    for (let i = 0; i < nSamples; i++) samples.push({ value: Math.random() * 100, timestampMs: now - (nSamples - i) * 15000 });
    series.push({ labels: { __name__: 'toilless_dora_lead_time_seconds', repository: `acme/service-${s % 250}`, environment: ['production','staging'][s%2]!, team: `team-${s%17}`, quantile: String(s%5) , instance: `svc-${s}`}, samples });
  }
  return series;
}
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
for (const [a, b] of [[5000, 100], [100000, 1]] as const) {
  const series = make(a, b);
  const res = [];
  for (let r = 0; r < 10; r++) {
    const t0 = cpu();
    const p = prepareSeries(series);
    const t1 = cpu();
    encodeSlices(p.map((one) => ({ series: one, start: 0, end: one.samples.length })));
    const t2 = cpu();
    res.push(`${(t1-t0).toFixed(0)}+${(t2-t1).toFixed(0)}`);
  }
  console.log(a, b, res.join(' '));
}
