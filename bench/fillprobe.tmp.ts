import postgres from "postgres";
import { findCacheableList } from "../src/list/queries.ts";
import { CachedList } from "../src/list/list-cache.ts";
const sql = postgres(process.env.U!, { max: 1, onnotice: () => {} });
const big = await sql<{ id: number; list_size: number }[]>`select id, list_size from users where username like 'bench\\_list\\_%' and list_size between 1800 and 2000 order by id limit 30`;
for (let round = 0; round < 3; round++) {
  let q = 0, b = 0;
  for (const u of big) {
    const t0 = performance.now(); const r = await findCacheableList(sql, u.id); const t1 = performance.now(); new CachedList(r!); const t2 = performance.now();
    q += t1 - t0; b += t2 - t1;
  }
  const raw0 = performance.now();
  for (const u of big) await sql`select string_agg(anime_id::text, ',') from list_entries where user_id = ${u.id}`;
  console.log("query+parse ms", (q / big.length).toFixed(2), "build ms", (b / big.length).toFixed(3), "trivial agg ms", ((performance.now() - raw0) / big.length).toFixed(2));
}
const u = big[0]!;
console.log(await sql`explain (analyze, buffers) select 1`.catch(() => ""));
await sql.end();
