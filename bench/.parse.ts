const N=100000;
const mk=(i:number)=>({id:String(1e6+i), sha:i.toString(16).padStart(40,'0'), outcome: i%10===5?'failure':'success', finishedAt:new Date(1.79e12+i*25919).toISOString(), leadTime:'counted', previousSha:(i-1).toString(16).padStart(40,'0'), leadTimeSeconds: i%10===5?[]:Array.from({length:10},()=>Math.floor(Math.random()**3*2e6)), attributedIncidents:[]});
const objs=Array.from({length:N},(_, i)=>mk(i));
function time(name:string, text:string){ const c=process.cpuUsage(); JSON.parse(text); const u=process.cpuUsage(c); console.log(name, text.length, (u.user+u.system)/1000); }
time('objects', JSON.stringify(objs));
time('objects-nosha', JSON.stringify(objs.map(({sha, previousSha, ...r})=>r)));
time('tuples', JSON.stringify(objs.map(o=>[o.id,o.sha,o.outcome,o.finishedAt,o.leadTime,o.previousSha,o.leadTimeSeconds,o.attributedIncidents])));
const cols={id:objs.map(o=>o.id), sha:objs.map(o=>o.sha), outcome:objs.map(o=>o.outcome[0]).join(''), finishedAtMs:objs.map(o=>Date.parse(o.finishedAt)), previousSha:objs.map(o=>o.previousSha), leadTimeCount:objs.map(o=>o.leadTimeSeconds.length), leadTimeSeconds:objs.flatMap(o=>o.leadTimeSeconds)};
time('columns', JSON.stringify(cols));
time('lt-only', JSON.stringify(objs.flatMap(o=>o.leadTimeSeconds)));
time('lt-string', JSON.stringify(objs.map(o=>o.leadTimeSeconds.join(' '))));
