import { isoMs } from '../functions/dora-metrics/ledger.js';
const s=[]; for(let i=0;i<100000;i++) s.push(new Date(1.79e12+i*25919).toISOString());
for (let r=0;r<3;r++){
let c=process.cpuUsage(); let x=0; for(const t of s) x+=Date.parse(t); console.log('date.parse', process.cpuUsage(c).user/1000);
c=process.cpuUsage(); x=0; for(const t of s) x+=isoMs(t); console.log('isoMs', process.cpuUsage(c).user/1000);
}
