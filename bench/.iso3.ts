import { isoMs } from '../functions/dora-metrics/ledger.js';
const s=[]; for(let i=0;i<100000;i++) s.push(new Date(-5e12+i*25919*3000).toISOString());
let bad=0; for (const t of s) if (isoMs(t)!==Date.parse(t)) bad++; console.log('mismatches', bad);
for (let r=0;r<3;r++){ let c=process.cpuUsage(); let x=0; for(const t of s) x+=isoMs(t); console.log('isoMs', process.cpuUsage(c).user/1000); }
