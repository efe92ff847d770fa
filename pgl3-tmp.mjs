import { PGlite } from '@electric-sql/pglite';
const mu = () => { const m = process.memoryUsage(); return `rss ${(m.rss/2**20).toFixed(0)} ext ${(m.external/2**20).toFixed(0)}`; };
const t0 = performance.now();
const sp = [ "--single","-F","-O","-j","-c","search_path=public","-c","exit_on_error=false","-c","log_checkpoints=false","-c","max_worker_processes=0","-c","max_parallel_workers=0","-c","max_parallel_workers_per_gather=0","-c","io_method=sync","-c","max_parallel_maintenance_workers=0", "-c", "shared_buffers=" + (process.argv[4]||'16MB'), "-c", "work_mem=2MB", "-c", "wal_buffers=1MB", "-c", "temp_buffers=1MB"];
const db = await PGlite.create(process.argv[2] || 'memory://', { startParams: sp, relaxedDurability: true });
console.log('start ms', (performance.now()-t0).toFixed(0), mu());
await db.exec(`CREATE TABLE IF NOT EXISTS t (seq bigserial primary key, a text, b bigint, c timestamptz, body text); CREATE INDEX IF NOT EXISTS t_a ON t(a);`);
const n = Number(process.argv[3] || 500);
const c0 = process.cpuUsage(); const w0 = performance.now();
let rows = 0;
for (let r=0;r<200000/n;r++){
const a = Array.from({length:n},(_, i)=>'evt_'+r+'_'+i+Math.random()); const b = a.map((_,i)=>i); const c = a.map(()=>Date.now()); const body=a.map(()=>'x'.repeat(500));
await db.query(`INSERT INTO t (a,b,c,body) SELECT a,b,to_timestamp(c/1000.0),body FROM unnest($1::text[], $2::bigint[], $3::float8[], $4::text[]) AS u(a,b,c,body)`, [a,b,c,body]);
rows += n;
if (rows % 50000 === 0) console.log(rows, mu());
}
const cpu = process.cpuUsage(c0);
console.log('µs cpu/row', ((cpu.user+cpu.system)/rows).toFixed(1), 'wall µs/row', ((performance.now()-w0)*1000/rows).toFixed(1));
await db.close();
