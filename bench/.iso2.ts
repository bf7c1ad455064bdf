function isoMs(t: string): number {
  if (t.length === 24 && t.charCodeAt(23) === 90 && t.charCodeAt(10) === 84 && t.charCodeAt(19) === 46) {
    const y = (t.charCodeAt(0) - 48) * 1000 + (t.charCodeAt(1) - 48) * 100 + (t.charCodeAt(2) - 48) * 10 + (t.charCodeAt(3) - 48);
    const m = (t.charCodeAt(5) - 48) * 10 + (t.charCodeAt(6) - 48);
    const d = (t.charCodeAt(8) - 48) * 10 + (t.charCodeAt(9) - 48);
    const h = (t.charCodeAt(11) - 48) * 10 + (t.charCodeAt(12) - 48);
    const mi = (t.charCodeAt(14) - 48) * 10 + (t.charCodeAt(15) - 48);
    const s = (t.charCodeAt(17) - 48) * 10 + (t.charCodeAt(18) - 48);
    const ms = (t.charCodeAt(20) - 48) * 100 + (t.charCodeAt(21) - 48) * 10 + (t.charCodeAt(22) - 48);
    const yy = m <= 2 ? y - 1 : y;
    const era = Math.floor(yy / 400);
    const yoe = yy - era * 400;
    const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
    const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
    const days = era * 146097 + doe - 719468;
    return (((days * 24 + h) * 60 + mi) * 60 + s) * 1000 + ms;
  }
  return Date.parse(t);
}
const s=[]; for(let i=0;i<100000;i++) s.push(new Date(1.79e12+i*25919*3000).toISOString());
for (const t of s) if (isoMs(t)!==Date.parse(t)) { console.log('mismatch', t); break; }
for (let r=0;r<3;r++){
let c=process.cpuUsage(); let x=0; for(const t of s) x+=Date.parse(t); console.log('date.parse', process.cpuUsage(c).user/1000);
c=process.cpuUsage(); x=0; for(const t of s) x+=isoMs(t); console.log('isoMs', process.cpuUsage(c).user/1000);
}
