const N=100000;
const mk=(i:number)=>({id:String(1e6+i), sha:i.toString(16).padStart(40,'0'), outcome: i%10===5?'failure':'success', finishedAt:new Date(1.79e12+i*25919).toISOString(), leadTime:'counted', previousSha:(i-1).toString(16).padStart(40,'0'), leadTimeSeconds: i%10===5?[]:Array.from({length:10},()=>Math.floor(Math.random()**3*2e6)), attributedIncidents:[]});
const objs=Array.from({length:N},(_, i)=>mk(i));
function time(name:string, text:string){ const c=process.cpuUsage(); JSON.parse(text); const u=process.cpuUsage(c); console.log(name, text.length, (u.user+u.system)/1000); }
for (let r=0;r<2;r++){
const cols={id:objs.map(o=>o.id), sha:objs.map(o=>o.sha), outcome:objs.map(o=>o.outcome[0]).join(''), finishedAt:objs.map(o=>Date.parse(o.finishedAt)), leadTime: objs.map(o=>'c').join(''), previousSha:objs.map(o=>o.previousSha), leadTimeSeconds:objs.map(o=>o.leadTimeSeconds.join(' ')), attributedIncidents: {}};
time('columns-ltstr', JSON.stringify(cols));
const cols2={...cols, finishedAt: objs.map(o=>o.finishedAt)};
time('columns-ltstr-iso', JSON.stringify(cols2));
time('objects-ltstr', JSON.stringify(objs.map(o=>({...o, leadTimeSeconds:o.leadTimeSeconds.join(' ')}))));
}
