import { PGlite } from '@electric-sql/pglite';
const sp = [ "--single","-F","-O","-j","-c","search_path=public","-c","exit_on_error=false","-c","log_checkpoints=false","-c","max_worker_processes=0","-c","max_parallel_workers=0","-c","max_parallel_workers_per_gather=0","-c","io_method=sync","-c","max_parallel_maintenance_workers=0", "-c", "shared_buffers=16MB"];
const db = await PGlite.create(process.argv[2], { startParams: sp, relaxedDurability: true });
await db.exec(`DROP TABLE IF EXISTS t; CREATE TABLE t (seq bigserial primary key, a text, b bigint, c timestamptz, body text); CREATE INDEX t_a ON t(a); CREATE INDEX t_c ON t(c)`);
const n = 1000;
async function run(label, fn) {
  const c0 = process.cpuUsage(); let rows = 0;
  for (let r=0;r<20;r++){ await fn(r); rows += n; }
  const cpu = process.cpuUsage(c0);
  console.log(label, 'µs cpu/row', ((cpu.user+cpu.system)/rows).toFixed(1));
}
const mk = (r, bodyLen) => { const a = Array.from({length:n},(_, i)=>'evt_'+r+'_'+i+Math.random()); return {a, b: a.map((_,i)=>i), c: a.map(()=>Date.now()), body: a.map(()=>'{"x":"' + 'y'.repeat(bodyLen) + '"}')}; };
await run('unnest no body', async (r) => { const x = mk(r, 0); await db.query(`INSERT INTO t (a,b,c) SELECT a,b,to_timestamp(c/1000.0) FROM unnest($1::text[], $2::bigint[], $3::float8[]) AS u(a,b,c)`, [x.a,x.b,x.c]); });
await run('unnest body500', async (r) => { const x = mk(r, 500); await db.query(`INSERT INTO t (a,b,c,body) SELECT a,b,to_timestamp(c/1000.0),body FROM unnest($1::text[], $2::bigint[], $3::float8[], $4::text[]) AS u(a,b,c,body)`, [x.a,x.b,x.c,x.body]); });
await run('json body500', async (r) => { const x = mk(r, 500); const rows = x.a.map((a,i)=>({a, b: x.b[i], c: x.c[i], body: x.body[i]})); await db.query(`INSERT INTO t (a,b,c,body) SELECT a,b,to_timestamp(c/1000.0),body FROM json_to_recordset($1::json) AS u(a text,b bigint,c float8,body text)`, [JSON.stringify(rows)]); });
await run('copy body500', async (r) => { const x = mk(r, 500); const esc = (s) => s.replace(/\\/g,'\\\\').replace(/\t/g,'\\t').replace(/\n/g,'\\n'); const text = x.a.map((a,i)=>`${esc(a)}\t${x.b[i]}\t${new Date(x.c[i]).toISOString()}\t${esc(x.body[i])}`).join('\n') + '\n'; await db.query(`COPY t (a,b,c,body) FROM '/dev/blob'`, [], { blob: new Blob([text]) }); });
await run('copy nobody', async (r) => { const x = mk(r, 500); const text = x.a.map((a,i)=>`${a}\t${x.b[i]}\t${new Date(x.c[i]).toISOString()}\t\\N`).join('\n') + '\n'; await db.query(`COPY t (a,b,c,body) FROM '/dev/blob'`, [], { blob: new Blob([text]) }); });
console.log((await db.query('select count(*)::int n from t')).rows);
await db.close();
