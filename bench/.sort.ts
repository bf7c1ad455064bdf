const n=900000;
const a=new Float64Array(n); for(let i=0;i<n;i++)a[i]=Math.floor(Math.random()**3*2e6);
let c=process.cpuUsage(); a.sort(); console.log('f64 sort', process.cpuUsage(c));
const b=new Uint32Array(n); for(let i=0;i<n;i++)b[i]=Math.floor(Math.random()**3*2e6);
c=process.cpuUsage(); b.sort(); console.log('u32 sort', process.cpuUsage(c));
const s=[]; for(let i=0;i<100000;i++) s.push(new Date(1.79e12+i*25919).toISOString());
c=process.cpuUsage(); let x=0; for(const t of s) x+=Date.parse(t); console.log('date.parse', process.cpuUsage(c));
